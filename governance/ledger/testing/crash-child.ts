/**
 * Test fixture for test/dp-ledger-crash.test.ts: a minimal "coordinator" that commits rounds in a loop, each
 * round's aggregate row and ledger charge in ONE transaction, resuming after its last
 * committed round. The parent kills it with SIGKILL at arbitrary moments and checks the ledger on reopening.
 *
 * Usage: tsx crash-child.ts <stateDir> <jobId> <epsilonBudget>
 * Prints "committed <round> <epsilonAfter>" after each commit and "stopped <round> <reason>" when the budget
 * refuses the next round.
 */
import { openDatabase } from '../../state/database.ts';
import { chargeRound, getJobBudget, planRound, setJobBudget } from '../store.ts';

const [stateDir, jobId, budgetText] = process.argv.slice(2);
if (stateDir === undefined || jobId === undefined || budgetText === undefined) {
  process.stderr.write('usage: crash-child.ts <stateDir> <jobId> <epsilonBudget>\n');
  process.exit(2);
}

const CRASH_CHILD_PARAMS = { samplingRate: 0.1, noiseMultiplier: 2, clipNorm: 1 } as const;
const CRASH_CHILD_ORGS = Array.from({ length: 25 }, (_, i) => `org-${String(i).padStart(2, '0')}`);

const db = openDatabase(stateDir);
db.exec('CREATE TABLE IF NOT EXISTS crash_aggregates (job_id TEXT NOT NULL, round INTEGER NOT NULL, weights BLOB NOT NULL, PRIMARY KEY (job_id, round))');
if (getJobBudget(db, jobId) === undefined) {
  setJobBudget(db, { jobId, epsilon: Number(budgetText), delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' });
}
// Resume after the last round the "coordinator" committed.
const last = db.prepare('SELECT MAX(round) FROM crash_aggregates WHERE job_id = ?').pluck().get(jobId) as number | null;
const next = { samplingRate: CRASH_CHILD_PARAMS.samplingRate, noiseMultiplier: CRASH_CHILD_PARAMS.noiseMultiplier };
const insertAggregate = db.prepare('INSERT INTO crash_aggregates (job_id, round, weights) VALUES (?, ?, ?)');

for (let round = last === null ? 0 : last + 1; ; round++) {
  const plan = planRound(db, { jobId, next, orgIds: CRASH_CHILD_ORGS });
  if (!plan.allowed) {
    process.stdout.write(`stopped ${round} ${plan.reason}\n`);
    break;
  }
  const eligible = plan.eligible.map((o) => o.orgId);
  const charged = db.transaction(() => {
    // A stand-in for the round's aggregate: 64 KB so the transaction spans several WAL pages.
    insertAggregate.run(jobId, round, Buffer.alloc(65536, round % 251));
    return chargeRound(db, { jobId, round, ...CRASH_CHILD_PARAMS, eligibleOrgIds: eligible, participants: Math.round(eligible.length * 0.1) });
  })();
  process.stdout.write(`committed ${round} ${charged.epsilonAfter}\n`);
}
db.close();
