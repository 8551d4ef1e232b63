/**
 * The privacy ledger's tables in the shared state database (ledger-001; governance/ledger/store.ts uses them). The ledger is the durable record of
 * every ε charge; its invariants are enforced by SQLite itself (constraints and triggers), so that no code
 * path — ours or a hand-written INSERT — can charge a round twice, charge out of order, let ε go down, exceed a
 * job budget or an organisation's cap, or rewrite history:
 *  - ledger_rounds: PRIMARY KEY (job_id, round); a new round must have a larger round number, ε_after ≥ every
 *    earlier ε_after, ε_after ≤ the job budget, δ equal to the job's δ, and central placement only for a job
 *    whose coordinator is declared trusted. Rows are append-only (UPDATE and DELETE are refused).
 *  - ledger_org_rounds: which organisations were eligible (Poisson-sampled from) in each charged round; an
 *    organisation's spend on a job is the ε of exactly those rounds.
 *  - ledger_org_spend: that spend per (job, organisation), maintained in the same transaction as the round; an
 *    insert or update above the organisation's cap is refused.
 */
import type { Migration } from '../database.ts';

const MIGRATION_001 = `
CREATE TABLE ledger_job_budgets (
  job_id TEXT PRIMARY KEY,
  epsilon REAL NOT NULL CHECK (epsilon > 0),
  delta REAL NOT NULL CHECK (delta > 0 AND delta < 1),
  placement TEXT NOT NULL CHECK (placement IN ('central', 'distributed', 'local')),
  trusted_coordinator INTEGER NOT NULL CHECK (trusted_coordinator IN (0, 1)),
  accountant TEXT NOT NULL DEFAULT 'rdp' CHECK (accountant IN ('rdp', 'analytic_gaussian')),
  conversion TEXT NOT NULL DEFAULT 'improved' CHECK (conversion IN ('improved', 'classic')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CHECK (placement <> 'central' OR trusted_coordinator = 1)
);

CREATE TABLE ledger_org_caps (
  org_id TEXT PRIMARY KEY,
  max_epsilon REAL NOT NULL CHECK (max_epsilon > 0),
  updated_at TEXT NOT NULL
);

CREATE TABLE ledger_rounds (
  job_id TEXT NOT NULL REFERENCES ledger_job_budgets(job_id),
  round INTEGER NOT NULL CHECK (round >= 0),
  sampling_rate REAL NOT NULL CHECK (sampling_rate > 0 AND sampling_rate <= 1),
  noise_multiplier REAL NOT NULL CHECK (noise_multiplier > 0),
  clip_norm REAL NOT NULL CHECK (clip_norm > 0),
  placement TEXT NOT NULL CHECK (placement IN ('central', 'distributed', 'local')),
  eligible INTEGER NOT NULL CHECK (eligible >= 0),
  participants INTEGER NOT NULL CHECK (participants >= 0),
  epsilon_after REAL NOT NULL CHECK (epsilon_after >= 0),
  delta REAL NOT NULL,
  private_noise INTEGER NOT NULL CHECK (private_noise IN (0, 1)),
  charged_at TEXT NOT NULL,
  PRIMARY KEY (job_id, round)
);

CREATE TRIGGER ledger_rounds_order BEFORE INSERT ON ledger_rounds
WHEN NEW.round <= (SELECT MAX(round) FROM ledger_rounds WHERE job_id = NEW.job_id)
BEGIN SELECT RAISE(ABORT, 'ledger: round numbers must increase'); END;

CREATE TRIGGER ledger_rounds_monotone BEFORE INSERT ON ledger_rounds
WHEN NEW.epsilon_after < (SELECT MAX(epsilon_after) FROM ledger_rounds WHERE job_id = NEW.job_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon must not decrease'); END;

CREATE TRIGGER ledger_rounds_budget BEFORE INSERT ON ledger_rounds
WHEN NEW.epsilon_after > (SELECT epsilon FROM ledger_job_budgets WHERE job_id = NEW.job_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon would exceed the job budget'); END;

CREATE TRIGGER ledger_rounds_delta BEFORE INSERT ON ledger_rounds
WHEN NEW.delta <> (SELECT delta FROM ledger_job_budgets WHERE job_id = NEW.job_id)
BEGIN SELECT RAISE(ABORT, 'ledger: delta differs from the job budget'); END;

CREATE TRIGGER ledger_rounds_central BEFORE INSERT ON ledger_rounds
WHEN NEW.placement = 'central' AND (SELECT trusted_coordinator FROM ledger_job_budgets WHERE job_id = NEW.job_id) <> 1
BEGIN SELECT RAISE(ABORT, 'ledger: central placement needs a trusted coordinator'); END;

CREATE TRIGGER ledger_rounds_no_update BEFORE UPDATE ON ledger_rounds
BEGIN SELECT RAISE(ABORT, 'ledger: charged rounds are append-only'); END;

CREATE TRIGGER ledger_rounds_no_delete BEFORE DELETE ON ledger_rounds
BEGIN SELECT RAISE(ABORT, 'ledger: charged rounds are append-only'); END;

CREATE TABLE ledger_org_rounds (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  org_id TEXT NOT NULL,
  PRIMARY KEY (job_id, round, org_id),
  FOREIGN KEY (job_id, round) REFERENCES ledger_rounds(job_id, round)
);
CREATE INDEX ledger_org_rounds_org ON ledger_org_rounds (org_id, job_id);

CREATE TRIGGER ledger_org_rounds_no_update BEFORE UPDATE ON ledger_org_rounds
BEGIN SELECT RAISE(ABORT, 'ledger: eligibility records are append-only'); END;

CREATE TRIGGER ledger_org_rounds_no_delete BEFORE DELETE ON ledger_org_rounds
BEGIN SELECT RAISE(ABORT, 'ledger: eligibility records are append-only'); END;

CREATE TABLE ledger_org_spend (
  job_id TEXT NOT NULL REFERENCES ledger_job_budgets(job_id),
  org_id TEXT NOT NULL,
  rounds INTEGER NOT NULL CHECK (rounds >= 0),
  epsilon REAL NOT NULL CHECK (epsilon >= 0),
  -- The multiset of (q, σ) over the organisation's eligible rounds, as JSON [{samplingRate, noiseMultiplier, steps}].
  groups TEXT NOT NULL,
  last_round INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (job_id, org_id)
);
CREATE INDEX ledger_org_spend_org ON ledger_org_spend (org_id);

CREATE TRIGGER ledger_org_spend_cap_insert BEFORE INSERT ON ledger_org_spend
WHEN NEW.epsilon > (SELECT max_epsilon FROM ledger_org_caps WHERE org_id = NEW.org_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon would exceed the organisation cap'); END;

CREATE TRIGGER ledger_org_spend_cap_update BEFORE UPDATE ON ledger_org_spend
WHEN NEW.epsilon > (SELECT max_epsilon FROM ledger_org_caps WHERE org_id = NEW.org_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon would exceed the organisation cap'); END;

CREATE TRIGGER ledger_org_spend_monotone BEFORE UPDATE ON ledger_org_spend
WHEN NEW.epsilon < OLD.epsilon OR NEW.rounds < OLD.rounds
BEGIN SELECT RAISE(ABORT, 'ledger: an organisation''s spend must not decrease'); END;
`;

/**
 * ledger-002 (issue 11):
 *  - organisation caps are CUMULATIVE over every job on this state (sequential composition: an organisation's
 *    total is the sum of its per-job ε and δ). The per-job cap triggers of ledger-001 are replaced by triggers
 *    that add the organisation's spend on every other job.
 *  - ledger_org_spend.delta: the δ of the job the spend belongs to (summed into the organisation's total δ).
 *  - ledger_job_budgets.underfill_fraction: the fraction of the job's δ reserved for under-filled rounds (a DP
 *    round is never re-sampled; the probability that a round's sample falls short is paid from this reserve,
 *    privacy/dp/underfill.ts); ledger_rounds.underfill: that probability for the charged round.
 *  - ledger_budget_changes: every change of a job budget after it was first set, with who and why (the
 *    privacy-officer action that lets a spent job run again); append-only.
 */
const MIGRATION_002 = `
ALTER TABLE ledger_org_spend ADD COLUMN delta REAL NOT NULL DEFAULT 0;
UPDATE ledger_org_spend SET delta = (SELECT delta FROM ledger_job_budgets b WHERE b.job_id = ledger_org_spend.job_id);
ALTER TABLE ledger_job_budgets ADD COLUMN underfill_fraction REAL NOT NULL DEFAULT 0 CHECK (underfill_fraction >= 0 AND underfill_fraction < 1);
ALTER TABLE ledger_rounds ADD COLUMN underfill REAL NOT NULL DEFAULT 0 CHECK (underfill >= 0 AND underfill <= 1);

DROP TRIGGER ledger_org_spend_cap_insert;
DROP TRIGGER ledger_org_spend_cap_update;

CREATE TRIGGER ledger_org_spend_cap_insert BEFORE INSERT ON ledger_org_spend
WHEN NEW.epsilon + (SELECT COALESCE(SUM(epsilon), 0) FROM ledger_org_spend WHERE org_id = NEW.org_id AND job_id <> NEW.job_id)
     > (SELECT max_epsilon FROM ledger_org_caps WHERE org_id = NEW.org_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon would exceed the organisation cap (summed over its jobs)'); END;

CREATE TRIGGER ledger_org_spend_cap_update BEFORE UPDATE ON ledger_org_spend
WHEN NEW.epsilon + (SELECT COALESCE(SUM(epsilon), 0) FROM ledger_org_spend WHERE org_id = NEW.org_id AND job_id <> NEW.job_id)
     > (SELECT max_epsilon FROM ledger_org_caps WHERE org_id = NEW.org_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon would exceed the organisation cap (summed over its jobs)'); END;

CREATE TRIGGER ledger_org_spend_no_delete BEFORE DELETE ON ledger_org_spend
BEGIN SELECT RAISE(ABORT, 'ledger: an organisation''s spend must not decrease'); END;

CREATE TABLE ledger_budget_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES ledger_job_budgets(job_id),
  old_epsilon REAL NOT NULL,
  new_epsilon REAL NOT NULL,
  officer TEXT NOT NULL CHECK (length(officer) > 0),
  reason TEXT NOT NULL CHECK (length(reason) > 0),
  changed_at TEXT NOT NULL
);
CREATE TRIGGER ledger_budget_changes_no_update BEFORE UPDATE ON ledger_budget_changes
BEGIN SELECT RAISE(ABORT, 'ledger: budget changes are append-only'); END;
CREATE TRIGGER ledger_budget_changes_no_delete BEFORE DELETE ON ledger_budget_changes
BEGIN SELECT RAISE(ABORT, 'ledger: budget changes are append-only'); END;
`;

/**
 * ledger-003 (review finding 4): ledger_draws, each DP round's Poisson draw — the organisations it was drawn from
 * and the organisations drawn — written before any task of the round leaves the coordinator. A restart then reuses
 * the draw instead of drawing the round again (governance/ledger/draws.ts). Append-only; a round gets a second
 * draw (attempt + 1) only after a draw that came out short (fewer than minClients: released nothing, its chance is
 * paid from the δ reserve), so no code path — ours or a hand-written INSERT — re-rolls a round that had its sample.
 */
const MIGRATION_003 = `
CREATE TABLE ledger_draws (
  job_id TEXT NOT NULL REFERENCES ledger_job_budgets(job_id),
  round INTEGER NOT NULL CHECK (round >= 1),
  attempt INTEGER NOT NULL CHECK (attempt >= 1),
  -- JSON arrays of organisation ids: the population the sample was drawn from, and the sample.
  eligible TEXT NOT NULL,
  selected TEXT NOT NULL,
  short INTEGER NOT NULL CHECK (short IN (0, 1)),
  drawn_at TEXT NOT NULL,
  PRIMARY KEY (job_id, round, attempt)
);

CREATE TRIGGER ledger_draws_once BEFORE INSERT ON ledger_draws
WHEN EXISTS (SELECT 1 FROM ledger_draws WHERE job_id = NEW.job_id AND round = NEW.round AND (short = 0 OR attempt >= NEW.attempt))
BEGIN SELECT RAISE(ABORT, 'ledger: a round is drawn again only after a short draw, with a larger attempt number'); END;

CREATE TRIGGER ledger_draws_no_update BEFORE UPDATE ON ledger_draws
BEGIN SELECT RAISE(ABORT, 'ledger: draws are append-only'); END;

CREATE TRIGGER ledger_draws_no_delete BEFORE DELETE ON ledger_draws
BEGIN SELECT RAISE(ABORT, 'ledger: draws are append-only'); END;
`;

/**
 * ledger-004 (issue 19): a job's budget may name the privacy-loss-distribution accountant ('pld'). SQLite cannot
 * change a CHECK constraint in place, so ledger_job_budgets is rebuilt by the documented procedure (create the new
 * table, copy, drop, rename; https://www.sqlite.org/lang_altertable.html#otheralter), which `migrate` runs with
 * foreign keys off and checks with `PRAGMA foreign_key_check` before committing. The triggers of other tables
 * that read ledger_job_budgets name it, not its old definition, so they keep working on the rebuilt table;
 * legacy_alter_table stops the rename from re-validating them while the name is briefly absent.
 */
const MIGRATION_004 = `
CREATE TABLE ledger_job_budgets_004 (
  job_id TEXT PRIMARY KEY,
  epsilon REAL NOT NULL CHECK (epsilon > 0),
  delta REAL NOT NULL CHECK (delta > 0 AND delta < 1),
  placement TEXT NOT NULL CHECK (placement IN ('central', 'distributed', 'local')),
  trusted_coordinator INTEGER NOT NULL CHECK (trusted_coordinator IN (0, 1)),
  accountant TEXT NOT NULL DEFAULT 'rdp' CHECK (accountant IN ('rdp', 'analytic_gaussian', 'pld')),
  conversion TEXT NOT NULL DEFAULT 'improved' CHECK (conversion IN ('improved', 'classic')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  underfill_fraction REAL NOT NULL DEFAULT 0 CHECK (underfill_fraction >= 0 AND underfill_fraction < 1),
  CHECK (placement <> 'central' OR trusted_coordinator = 1)
);
INSERT INTO ledger_job_budgets_004 (job_id, epsilon, delta, placement, trusted_coordinator, accountant, conversion, created_at, updated_at, underfill_fraction)
  SELECT job_id, epsilon, delta, placement, trusted_coordinator, accountant, conversion, created_at, updated_at, underfill_fraction FROM ledger_job_budgets;
DROP TABLE ledger_job_budgets;
PRAGMA legacy_alter_table = ON;
ALTER TABLE ledger_job_budgets_004 RENAME TO ledger_job_budgets;
PRAGMA legacy_alter_table = OFF;
`;

/**
 * ledger-005 (issue 19 §1): a round of the distributed discrete Gaussian records the parameters of its RDP bound
 * (Kairouz et al. 2021, Prop. 14: Δ₂/σ and Δ₁/σ of the sum, τ for the survivors actually present, the padded
 * dimension) as JSON; NULL for a continuous Gaussian round, whose (q, σ) say everything. The ledger recomputes ε
 * from these rows, so they are as append-only as the rest of the row (ledger_rounds_no_update).
 */
const MIGRATION_005 = `
ALTER TABLE ledger_rounds ADD COLUMN ddgauss TEXT;
`;

/**
 * ledger-006 (evaldp: evaluation without exact per-organisation disclosure): each noised federated evaluation is a
 * release, charged like a round (governance/ledger/evaluations.ts). ledger_evaluations holds one charge per (job,
 * round) with the parameters of its RDP bound (Kairouz et al. 2021, Prop. 14, q = 1) as JSON; the job's ε is the
 * accountant's answer for its training rounds AND these releases, so every ε_after here and in ledger_rounds counts
 * both. ledger_org_evaluations names the organisations whose vectors were in each released sum (their spend rows
 * in ledger_org_spend include the release). Same invariants as ledger_rounds: at most one charge per (job, round),
 * ε_after within the budget and never below an earlier ε_after of the job, the job's δ, append-only.
 */
const MIGRATION_006 = `
CREATE TABLE ledger_evaluations (
  job_id TEXT NOT NULL REFERENCES ledger_job_budgets(job_id),
  round INTEGER NOT NULL CHECK (round >= 0),
  participants INTEGER NOT NULL CHECK (participants >= 1),
  noise_multiplier REAL NOT NULL CHECK (noise_multiplier > 0),
  ddgauss TEXT NOT NULL,
  epsilon_after REAL NOT NULL CHECK (epsilon_after >= 0),
  delta REAL NOT NULL,
  private_noise INTEGER NOT NULL CHECK (private_noise IN (0, 1)),
  charged_at TEXT NOT NULL,
  PRIMARY KEY (job_id, round)
);

CREATE TRIGGER ledger_evaluations_monotone BEFORE INSERT ON ledger_evaluations
WHEN NEW.epsilon_after < (SELECT MAX(e) FROM (SELECT MAX(epsilon_after) AS e FROM ledger_rounds WHERE job_id = NEW.job_id UNION ALL SELECT MAX(epsilon_after) FROM ledger_evaluations WHERE job_id = NEW.job_id))
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon must not decrease'); END;

CREATE TRIGGER ledger_evaluations_budget BEFORE INSERT ON ledger_evaluations
WHEN NEW.epsilon_after > (SELECT epsilon FROM ledger_job_budgets WHERE job_id = NEW.job_id)
BEGIN SELECT RAISE(ABORT, 'ledger: epsilon would exceed the job budget'); END;

CREATE TRIGGER ledger_evaluations_delta BEFORE INSERT ON ledger_evaluations
WHEN NEW.delta <> (SELECT delta FROM ledger_job_budgets WHERE job_id = NEW.job_id)
BEGIN SELECT RAISE(ABORT, 'ledger: delta differs from the job budget'); END;

CREATE TRIGGER ledger_evaluations_no_update BEFORE UPDATE ON ledger_evaluations
BEGIN SELECT RAISE(ABORT, 'ledger: charged evaluations are append-only'); END;

CREATE TRIGGER ledger_evaluations_no_delete BEFORE DELETE ON ledger_evaluations
BEGIN SELECT RAISE(ABORT, 'ledger: charged evaluations are append-only'); END;

CREATE TABLE ledger_org_evaluations (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  org_id TEXT NOT NULL,
  PRIMARY KEY (job_id, round, org_id),
  FOREIGN KEY (job_id, round) REFERENCES ledger_evaluations(job_id, round)
);

CREATE TRIGGER ledger_org_evaluations_no_update BEFORE UPDATE ON ledger_org_evaluations
BEGIN SELECT RAISE(ABORT, 'ledger: evaluation records are append-only'); END;

CREATE TRIGGER ledger_org_evaluations_no_delete BEFORE DELETE ON ledger_org_evaluations
BEGIN SELECT RAISE(ABORT, 'ledger: evaluation records are append-only'); END;
`;

export const LEDGER_MIGRATIONS: readonly Migration[] = [
  { id: 'ledger-001', sql: MIGRATION_001 },
  { id: 'ledger-002', sql: MIGRATION_002 },
  { id: 'ledger-003', sql: MIGRATION_003 },
  { id: 'ledger-004', sql: MIGRATION_004 },
  { id: 'ledger-005', sql: MIGRATION_005 },
  { id: 'ledger-006', sql: MIGRATION_006 },
];
