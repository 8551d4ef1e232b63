/**
 * Retention (issue 20 §7) on a real state directory: `tessera retention run` (a real CLI process) removes what
 * the deployment policy's periods have expired — served inputs redacted from review records older than 7 days,
 * review records older than 30 days deleted — and leaves one audit tombstone per removal naming kind, table,
 * count, id range and cutoff, never content; records inside their periods are untouched; `tessera audit verify`
 * still passes (the log is appended to, never edited); a second run finds nothing. The coordinator's scheduled
 * task (coordinator/serving/retention-task.ts) purges by itself through the same function.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueHeld, type HeldRecord } from '../coordinator/serving/review/store.ts';
import { startRetentionTask } from '../coordinator/serving/retention-task.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { STATE_POLICY_FILE } from '../governance/deploy/policy.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { generateKeyFile } from '../governance/identity/key-file.ts';
import { silentLogger } from '../lib/logger.ts';
import { cli } from './support/cli.ts';
import { HEART_ROW, deployHeartModel } from './support/deployed-model.ts';
import { tempStateDir } from './governance-fixtures.ts';

const DAY = 86_400_000;
let state: { dir: string; cleanup: () => void };
let db: Db;
const secret = 0.123456789;

function held(tag: string, ageDays: number): HeldRecord {
  return { predictionId: `held-${tag}-0123456789abcdef`, callerToken: 'caller', model: 'heart', version: 'v', stage: 'production', instance: [secret, ...HEART_ROW.slice(1)], explanation: null, probabilities: [0.6, 0.4], modelClass: 0, confidence: 0.6, reasons: ['low-confidence'], at: new Date(Date.now() - ageDays * DAY) };
}

interface Row { id: number; instance: string | null; status: string }
const rows = (): Row[] => db.prepare('SELECT id, instance, status FROM review_queue ORDER BY id').all() as Row[];

beforeAll(async () => {
  state = tempStateDir('tessera-retention-');
  db = openDatabase(state.dir);
  await deployHeartModel(db, state.dir);
  // ids 1–3: 40 days old; 4–5: 10 days; 6: today.
  enqueueHeld(db, [held('a', 40), held('b', 40), held('c', 40), held('d', 10), held('e', 10), held('f', 0)]);
  writeFileSync(join(state.dir, STATE_POLICY_FILE), JSON.stringify({ retention: { servedInputsDays: 7, reviewRecordsDays: 30 } }));
}, 60_000);

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('retention', () => {
  it('tessera retention run redacts expired inputs, deletes expired records, and tombstones both without content', async () => {
    const before = readAuditEntries(db).length;
    // A production state (its approver registry is initialised): the purge is signed by a registered approver.
    const officerKey = join(state.dir, 'officer.key');
    generateKeyFile(officerKey, new Uint8Array(32).fill(41));
    const unsigned = await cli('retention', 'run', '--state', state.dir, '--json');
    expect(unsigned.stderr).toMatch(/TESSERA_ERR_SIGNING_KEY_REQUIRED/);
    expect(readAuditEntries(db).length).toBe(before);
    const run = await cli('retention', 'run', '--state', state.dir, '--key', officerKey, '--json');
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { purged: Array<{ kind: string; action: string; count: number; firstId: number; lastId: number; periodDays: number }> };
    expect(out.purged.map((p) => [p.kind, p.action, p.count, p.firstId, p.lastId, p.periodDays])).toEqual([
      ['servedInputs', 'redact', 5, 1, 5, 7],
      ['reviewRecords', 'delete', 3, 1, 3, 30],
    ]);
    expect(rows()).toEqual([
      { id: 4, instance: null, status: 'pending' },
      { id: 5, instance: null, status: 'pending' },
      { id: 6, instance: expect.stringContaining(String(secret)), status: 'pending' },
    ]);
    const tombstones = readAuditEntries(db, { action: 'retention.purged' });
    // Signed by the approver whose key was given: attributed to that person, the attestation over the entry.
    expect(tombstones.map((t) => t.actor)).toEqual([expect.stringMatching(/^person:/), expect.stringMatching(/^person:/)]);
    expect(tombstones.map((t) => {
      const { attestation, ...rest } = t.details as Record<string, unknown>;
      expect(attestation).toBeDefined();
      return rest;
    })).toEqual([
      { kind: 'servedInputs', table: 'review_queue', action: 'redact', count: 5, firstId: 1, lastId: 5, olderThan: expect.any(String), periodDays: 7, columns: ['instance', 'explanation'] },
      { kind: 'reviewRecords', table: 'review_queue', action: 'delete', count: 3, firstId: 1, lastId: 3, olderThan: expect.any(String), periodDays: 30 },
    ]);
    const cutoff = Date.parse((tombstones[1]?.details as { olderThan: string }).olderThan);
    expect(Math.abs(cutoff - (Date.now() - 30 * DAY))).toBeLessThan(120_000);
    // Nothing of the content reached the log.
    expect(JSON.stringify(readAuditEntries(db))).not.toContain(String(secret));
    expect(readAuditEntries(db).length).toBe(before + 2);

    const verify = await cli('audit', 'verify', '--state', state.dir, '--json');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });

    const again = await cli('retention', 'run', '--state', state.dir, '--key', officerKey, '--json');
    expect((JSON.parse(again.stdout) as { purged: Array<{ count: number }> }).purged.map((p) => p.count)).toEqual([0, 0]);
    expect(readAuditEntries(db, { action: 'retention.purged' })).toHaveLength(2);
  }, 90_000);

  it('the coordinator’s scheduled task purges on its own, through the same function', async () => {
    enqueueHeld(db, [held('g', 45)]);
    const task = startRetentionTask({ db, stateDir: state.dir, logger: silentLogger(), everyMs: 50 });
    try {
      const deadline = Date.now() + 10_000;
      while (rows().some((r) => r.id === 7) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      task.stop();
    }
    expect(rows().map((r) => r.id)).toEqual([4, 5, 6]);
    const last = readAuditEntries(db, { action: 'retention.purged' }).at(-1);
    expect(last?.details).toMatchObject({ kind: 'reviewRecords', count: 1, firstId: 7, lastId: 7 });
    expect(last?.actor).toBe('coordinator:retention');
  });
});
