/**
 * Declared feature order (issue 21 item 2). The composition orders features from what they declare they provide,
 * need and come after — never from the order of FEATURE_FACTORIES — so:
 *  - a real job (Heart, four hospitals, in-memory transport, a real SQLite state directory) with consent, DP,
 *    the data contract, fairness, the job record, audit and the registry behaves the same whatever order the
 *    factories are listed in: the same round records, the same ledger rows, the same audit trail, for the
 *    canonical list and three seeded shuffles;
 *  - a declared cycle is refused with TESSERA_ERR_FEATURE_CYCLE naming the features and capabilities, and a
 *    need nobody provides with TESSERA_ERR_FEATURE_MISSING.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_FACTORIES, assembleJob, type FeatureFactory } from '../coordinator/features/assemble.ts';
import type { CoordinatorFeature } from '../coordinator/features/feature.ts';
import { orderFeatures } from '../coordinator/features/feature-order.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { grantConsent } from '../governance/consent/store.ts';
import { setOrgCap } from '../governance/ledger/store.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { seededRandom } from '../privacy/random.ts';
import { runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const PURPOSE = 'cardiology-research';

/** Fisher–Yates with a seeded generator (a test's shuffle, not a privacy mechanism). */
function shuffled<T>(items: readonly T[], seed: string): T[] {
  const rng = seededRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Run {
  readonly sim: SimulationResult;
  readonly order: readonly string[];
  /** The factories' names in the order they were listed. */
  readonly listed: readonly string[];
  readonly ledger: unknown;
  readonly audit: unknown;
}

/** Time stamps and durations, and hashes over them or over the job id (a fairness report names its job). */
const VOLATILE = new Set(['durationMs', 'slowestTrainMs', 'totalTrainMs', 'serverUnmaskMs', 'time', 'committed_at', 'created_at', 'updated_at', 'charged_at', 'set_at', 'at', 'hash', 'reportHash', 'fairnessReportHash', 'lineageHash']);

/** Replaces the run's job id (it holds a time stamp) and volatile fields so runs compare. */
function normalise(value: unknown, jobId: string): unknown {
  return JSON.parse(JSON.stringify(value, (k, v: unknown) => (VOLATILE.has(k) ? 0 : v)).split(jobId).join('<job>')) as unknown;
}

function ledgerRows(db: Db, jobId: string): unknown {
  const tables = ['ledger_job_budgets', 'ledger_rounds', 'ledger_org_rounds', 'ledger_org_spend'];
  return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM ${t} WHERE job_id = ? ORDER BY rowid`).all(jobId)]));
}

async function run(factories: readonly FeatureFactory[]): Promise<Run> {
  const state = tempStateDir('tessera-feature-order-');
  try {
    const db = openDatabase(state.dir);
    try {
      for (const organisation of ['cleveland', 'hungarian', 'switzerland']) {
        grantConsent(db, { organisation, dataset: 'heart', purposes: [PURPOSE], expiresAt: '2099-01-01', maxEpsilon: 5, retentionDays: 365, actor: 'cli:officer' });
      }
      // ε caps below one round's charge: DP's eligibility keeps Hungarian out, and would keep VA out too if it
      // ran before consent (which must see VA first: it has no consent) — an order the features declare.
      setOrgCap(db, { orgId: 'hungarian', maxEpsilon: 0.01 });
      setOrgCap(db, { orgId: 'va', maxEpsilon: 0.01 });
    } finally {
      db.close();
    }
    const sim = await runSimulation(
      {
        dataset: 'heart',
        dataDir: SHARED_DATA_DIR,
        rounds: 2,
        samplingRate: 1,
        stateDir: state.dir,
        seededNoise: true,
        trainLimit: 400,
        job: {
          name: 'heart-order',
          purpose: PURPOSE,
          consent: { required: true },
          dp: { enabled: true, epsilon: 4, noiseMultiplier: 6 },
          fairness: { enabled: true, sensitive: ['sex'], policy: [{ metric: 'accuracyGap', attribute: 'sex', max: 0.5 }] },
        },
      },
      { logger: silentLogger(), features: factories },
    );
    const check = openDatabase(state.dir);
    try {
      const jobId = sim.result.jobId;
      const audit = readAuditEntries(check)
        .filter((e) => e.subject === jobId || e.subject.startsWith(`${jobId}/`) || e.action === 'model.registered')
        .map((e) => ({ actor: e.actor, action: e.action, subject: e.subject, details: e.details }));
      return { sim, order: sim.featureOrder, listed: factories.map((f) => f.name), ledger: normalise(ledgerRows(check, jobId), jobId), audit: normalise(audit, jobId) };
    } finally {
      check.close();
    }
  } finally {
    state.cleanup();
  }
}

const runs: Run[] = [];

beforeAll(async () => {
  runs.push(await run(FEATURE_FACTORIES));
  for (const seed of ['order-1', 'order-2', 'order-3']) runs.push(await run(shuffled(FEATURE_FACTORIES, seed)));
}, 240_000);

afterAll(() => {
  runs.length = 0;
});

describe('features in any listed order', () => {
  it('were listed in different orders and ran in one declared order', () => {
    const listed = new Set(runs.map((r) => r.listed.join(',')));
    expect(runs.every((r) => r.sim.result.status === 'completed')).toBe(true);
    // Consent filters before DP's caps; the round row precedes DP's charge, which precedes the audit entry;
    // the registry comes after fairness, the charge and the audit trail.
    for (const r of runs) {
      const at = (name: string): number => r.order.indexOf(name);
      expect(at('consent')).toBeLessThan(at('dp'));
      expect(at('job-record')).toBeLessThan(at('dp'));
      expect(at('dp')).toBeLessThan(at('audit'));
      expect(at('fairness')).toBeLessThan(at('registry'));
      expect(at('audit')).toBeLessThan(at('registry'));
    }
    expect(listed.size).toBe(runs.length);
  });

  it('gives the same round records, ledger rows and audit trail', () => {
    const [first, ...others] = runs;
    if (!first) throw new Error('no run');
    const records = (r: Run): unknown => normalise(r.sim.result.rounds, r.sim.result.jobId);
    // The job did something worth comparing: DP charged, consent kept VA out, fairness reported, a model registered.
    expect(first.sim.result.rounds.every((r) => r.extra.privacy !== undefined && r.extra.fairness?.ok === true)).toBe(true);
    // VA has no consent (kept out first, stage `consent`), Hungarian reached its cap (then kept out by DP, stage
    // `eligibility`), Switzerland's data fails the contract (it declines after sampling).
    expect(first.sim.result.rounds.map((r) => r.declined.map((d) => `${d.orgId}:${d.stage ?? d.code}`))).toEqual([
      ['va:consent', 'hungarian:eligibility', 'switzerland:TESSERA_ERR_CONTRACT_VIOLATION'],
      ['va:consent', 'hungarian:eligibility', 'switzerland:TESSERA_ERR_CONTRACT_VIOLATION'],
    ]);
    expect(first.sim.registered).toBeDefined();
    for (const other of others) {
      expect(records(other)).toEqual(records(first));
      expect(other.ledger).toEqual(first.ledger);
      expect(other.audit).toEqual(first.audit);
      expect(Array.from(other.sim.result.weights)).toEqual(Array.from(first.sim.result.weights));
    }
  });
});

describe('declarations that cannot be satisfied', () => {
  const feature = (name: string, d: Partial<CoordinatorFeature>): CoordinatorFeature => ({ name, ...d });

  it('refuses a declared cycle, naming the features and the capabilities that link them', () => {
    const features = [
      feature('ledger', { provides: ['privacy-charge'], needs: ['audit-trail'] }),
      feature('trail', { provides: ['audit-trail'], needs: ['job-rows'] }),
      feature('rows', { provides: ['job-rows'], after: ['privacy-charge'] }),
    ];
    expect(() => orderFeatures(features)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_FEATURE_CYCLE' }));
    expect(() => orderFeatures(features)).toThrow("declared needs form a cycle: ledger –(privacy-charge)→ rows –(job-rows)→ trail –(audit-trail)→ ledger");
  });

  it('refuses a need that no enabled feature provides, and allows an `after` without a provider', () => {
    expect(() => orderFeatures([feature('audit', { needs: ['job-rows'] })])).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_FEATURE_MISSING', message: expect.stringMatching(/'audit' needs 'job-rows'/) }));
    expect(orderFeatures([feature('dp', { after: ['consent-eligibility'] })]).map((f) => f.name)).toEqual(['dp']);
  });

  it('keeps the given order of features that declare nothing about each other (stable)', () => {
    const names = ['e', 'd', 'c', 'b', 'a'];
    expect(orderFeatures(names.map((n) => feature(n, {}))).map((f) => f.name)).toEqual(names);
    const withEdge = [feature('x', { after: ['job-rows'] }), feature('y', {}), feature('rows', { provides: ['job-rows'] })];
    expect(orderFeatures(withEdge).map((f) => f.name)).toEqual(['y', 'rows', 'x']);
  });

  it('a job whose features cannot be ordered is refused before any feature starts', () => {
    const spec = runs[0]?.sim.job;
    if (!spec) throw new Error('no run');
    const started: string[] = [];
    const a: FeatureFactory = () => feature('a', { provides: ['fairness-report'], needs: ['drift-report'], start: () => started.push('a') });
    const b: FeatureFactory = () => feature('b', { provides: ['drift-report'], needs: ['fairness-report'], start: () => started.push('b') });
    expect(() => assembleJob({ jobId: 'cycle', spec, logger: silentLogger(), rng: seededRandom('cycle') }, [a, b])).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_FEATURE_CYCLE' }));
    expect(started).toEqual([]);
  });
});
