/**
 * Review 3 (attack review of the merged after-deployment work), finding: `feedbackDays` purged nothing.
 *
 * docs/after-deployment-review.md §Retention promises "`feedbackDays` deletes feedback labels", and the policy
 * schema accepts the period, but the retention target list (governance/retention/purge.ts) named only the review
 * queue: feedback labels live in the monitoring side's prediction store (`serving_predictions`), which no purge
 * touched — so a privacy officer who set `feedbackDays: 30` kept every label (with the caller's token id and the
 * model's probabilities) until the store's size cap evicted it, with no tombstone and no error.
 *
 * The attack: predictions labelled 40 and 10 days ago, `feedbackDays: 30`, a real `tessera retention run`. Before
 * the fix the old labels survived and the run reported no feedback kind at all. It now fails because
 * `serving_predictions` is a retention target (kind `feedback`, by `labelled_at`): the expired labelled rows are
 * deleted with one tombstone (count and id range, no content), recent labels and unlabelled predictions stay, a
 * purged prediction cannot be labelled again (it answers like an unknown id), and `audit verify` still passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditEntries } from '../governance/audit/log.ts';
import { recordFeedback, recordServed } from '../governance/monitoring/store.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { STATE_POLICY_FILE } from '../governance/deploy/policy.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './support/cli.ts';
import { tempStateDir } from './governance-fixtures.ts';

const DAY = 86_400_000;
let state: { dir: string; cleanup: () => void };
let db: Db;
const ago = (days: number): string => new Date(Date.now() - days * DAY).toISOString();
const id = (tag: string): string => `p_${tag.padEnd(22, 'x')}`;

function servedAndLabelled(tag: string, servedDaysAgo: number, labelledDaysAgo: number | null): void {
  recordServed(db, { model: 'heart', version: 'v1', stage: 'production', since: ago(100), tokenId: 'tok-app', latencySeconds: 0.01, predictions: [{ id: id(tag), predicted: 1, confidence: 0.8, probabilities: [0.2, 0.8] }], at: ago(servedDaysAgo), cap: 1000 });
  if (labelledDaysAgo !== null) recordFeedback(db, { model: 'heart', tokenId: 'tok-app', items: [{ predictionId: id(tag), label: 1 }], at: ago(labelledDaysAgo), resolveLabel: () => undefined });
}

const ids = (): string[] => (db.prepare('SELECT id FROM serving_predictions ORDER BY seq').pluck().all() as string[]);

beforeAll(() => {
  state = tempStateDir('tessera-review3-retention-');
  db = openDatabase(state.dir);
  servedAndLabelled('old1', 45, 40);
  servedAndLabelled('old2', 45, 40);
  servedAndLabelled('recent', 12, 10);
  servedAndLabelled('unlabelled', 45, null);
  writeFileSync(join(state.dir, STATE_POLICY_FILE), JSON.stringify({ retention: { feedbackDays: 30 } }));
});

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('review3: retention feedbackDays', () => {
  it('deletes feedback labels older than feedbackDays, with a tombstone, and keeps the rest', async () => {
    const before = readAuditEntries(db).length;
    const run = await cli('retention', 'run', '--state', state.dir, '--json');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { purged: Array<{ kind: string; table: string; action: string; count: number; auditSeq: number | null }> };
    const feedback = out.purged.find((p) => p.kind === 'feedback');
    expect(feedback).toMatchObject({ table: 'serving_predictions', action: 'delete', count: 2 });
    expect(ids()).toEqual([id('recent'), id('unlabelled')]);

    const tombstones = readAuditEntries(db).slice(before).filter((e) => e.action === 'retention.purged');
    expect(tombstones).toHaveLength(1);
    // Counts and id ranges only: no prediction id, token id or label in the tombstone.
    expect(JSON.stringify(tombstones[0])).not.toMatch(/p_old|tok-app|"label"/);

    // A purged prediction cannot be labelled again (no second count in the calibration counters).
    expect(() => recordFeedback(db, { model: 'heart', tokenId: 'tok-app', items: [{ predictionId: id('old1'), label: 0 }], at: ago(0), resolveLabel: () => undefined })).toThrow(/TESSERA_ERR_PREDICTION_UNKNOWN|no prediction/);

    const verify = await cli('audit', 'verify', '--state', state.dir);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // A second run finds nothing more.
    const again = JSON.parse((await cli('retention', 'run', '--state', state.dir, '--json')).stdout) as { purged: Array<{ kind: string; count: number }> };
    expect(again.purged.find((p) => p.kind === 'feedback')?.count).toBe(0);
  }, 120_000);
});
