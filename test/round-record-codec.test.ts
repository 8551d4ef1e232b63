/**
 * Versioned round records (issue 21 item 1): a state directory written before migration jobs-002 (round rows
 * without `record_version`, an untyped `extra` with synonyms) still reads after the upgrade, through the codec,
 * into the typed slots; new rows are version 2; a row of an unknown version or a malformed version-2 row is
 * refused with TESSERA_ERR_RECORD_UNREADABLE instead of being read as something it is not.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { jobLineage } from '../coordinator/features/registry.ts';
import type { RoundRecord } from '../coordinator/round-records.ts';
import { createJobRow, insertRoundRow, roundRecords, storedRounds } from '../coordinator/state/job-store.ts';
import { ROUND_RECORD_VERSION } from '../coordinator/state/round-record-codec.ts';
import { databasePath, openDatabase } from '../governance/state/database.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { tempStateDir } from './governance-fixtures.ts';

const spec = parseJobSpec({
  name: 'old-job',
  purpose: 'research',
  model: { kind: 'logistic', inputs: 4, classes: 2 },
  data: { dataset: 'heart' },
  rounds: 2,
  sampling: { mode: 'poisson', rate: 0.5 },
  dp: { enabled: true, epsilon: 3, noiseMultiplier: 1.1 },
});

/** A round record as version 1 stored it: `dp` instead of `privacy`, `epsilonSpent`, no stage, an unknown key. */
function v1Record(round: number, epsilonSpent: number): Record<string, unknown> {
  return {
    round,
    eligible: 3,
    expectedParticipants: 1.5,
    selected: 2,
    participants: 2,
    participantOrgs: ['a', 'b'],
    dropped: [],
    declined: [
      { clientId: 'c1', orgId: 'c', code: 'TESSERA_ERR_BUDGET_EXCEEDED', reason: 'cap' },
      { clientId: 'd1', orgId: 'd', code: 'CONSENT_REVOKED', reason: 'revoked' },
      { clientId: 'e1', orgId: 'e', code: 'TESSERA_ERR_CONTRACT_VIOLATION', reason: 'bad rows' },
    ],
    trainLoss: 0.7,
    accuracy: 0.6,
    loss: 0.65,
    durationMs: 12,
    extra: {
      clippedFraction: 0.5,
      dp: { epsilonSpent, delta: 1e-5, budget: 3, placement: 'distributed', noiseMultiplier: 1.1, clipNorm: 1, samplingRate: 0.5, minSurvivors: 1, participation: { expected: 1.5, actual: 2, population: 3, zScore: 0.7 }, clippedFraction: 0.5, privateNoise: true },
      secagg: { clients: 2, k: 1 },
      legacyNote: 'kept out of the typed record',
    },
  };
}

const dirs: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A state directory as a build before jobs-002 left it: two version-1 round rows, jobs-002 not applied. */
function oldStateDir(): string {
  const state = tempStateDir('tessera-codec-');
  dirs.push(state);
  const db = openDatabase(state.dir);
  createJobRow(db, { id: 'old-job', spec, specHash: 'h' });
  db.close();
  const raw = new Database(databasePath(state.dir));
  raw.exec("ALTER TABLE job_rounds DROP COLUMN record_version; DELETE FROM schema_migrations WHERE id = 'jobs-002';");
  const insert = raw.prepare('INSERT INTO job_rounds (job_id, round, record_json, weights, committed_at) VALUES (?, ?, ?, ?, ?)');
  insert.run('old-job', 1, JSON.stringify(v1Record(1, 0.8)), Buffer.alloc(8), '2026-01-01T00:00:00Z');
  insert.run('old-job', 2, JSON.stringify(v1Record(2, 1.3)), Buffer.alloc(8), '2026-01-01T00:01:00Z');
  raw.close();
  return state.dir;
}

describe('round records across versions', () => {
  it('reads a state directory written before jobs-002: synonyms resolved, stages inferred, unknown keys and unreadable slots left out', () => {
    const db = openDatabase(oldStateDir());
    try {
      expect(db.prepare("SELECT COUNT(*) FROM schema_migrations WHERE id = 'jobs-002'").pluck().get()).toBe(1);
      const stored = storedRounds(db, 'old-job');
      expect(stored.map((s) => s.droppedSlots)).toEqual([['secagg'], ['secagg']]);
      const [first, second] = stored.map((s) => s.record);
      expect(first?.attempt).toBe(1);
      expect(first?.extra.clippedFraction).toBe(0.5);
      // `dp.epsilonSpent` became the DP slot's `epsilon`; the fields version 1 lacked take their implied values.
      expect(second?.extra.privacy).toMatchObject({ epsilon: 1.3, updateNoiseMultiplier: 1.1, againstCoordinator: false, placement: 'distributed' });
      expect(Object.keys(first?.extra ?? {}).sort()).toEqual(['clippedFraction', 'privacy']);
      // DP's codes mark an exclusion before sampling; consent codes do not (clients decline with them too).
      expect(first?.declined.map((d) => d.stage)).toEqual(['eligibility', undefined, undefined]);
      // Readers get the typed record: the registry's lineage reads the upgraded privacy slot.
      const lineage = jobLineage('old-job', spec, { rounds: roundRecords(db, 'old-job'), final: { accuracy: 0.6, loss: 0.65 } });
      expect(lineage.privacy).toMatchObject({ epsilon: 1.3, delta: 1e-5, placement: 'distributed' });
    } finally {
      db.close();
    }
  });

  it('writes version 2 and reads it back unchanged next to the old rows', () => {
    const db = openDatabase(oldStateDir());
    try {
      const old = roundRecords(db, 'old-job')[1];
      if (!old) throw new Error('no round 2');
      const next: RoundRecord = { ...old, round: 3, extra: { ...old.extra, dataContract: { checked: 2, failed: 0, driftAlerts: [] } } };
      insertRoundRow(db, 'old-job', next, new Float32Array(2));
      expect(db.prepare('SELECT record_version FROM job_rounds WHERE round = 3').pluck().get()).toBe(ROUND_RECORD_VERSION);
      expect(roundRecords(db, 'old-job')[2]).toEqual(next);
    } finally {
      db.close();
    }
  });

  it('refuses a row of an unknown version and a version-2 row whose slot does not match its schema', () => {
    const dir = oldStateDir();
    const db = openDatabase(dir);
    try {
      db.prepare('UPDATE job_rounds SET record_version = 99 WHERE round = 1').run();
      expect(() => roundRecords(db, 'old-job')).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_RECORD_UNREADABLE', message: expect.stringMatching(/version 99/) }));
      // A version-2 row with a renamed DP field (what an insider's edit or a mismatched build would leave).
      const bad = { ...v1Record(1, 0.8), attempt: 1, slowestTrainMs: 0, totalTrainMs: 0, extra: { privacy: { epsilonSpent: 0.8 } } };
      db.prepare('UPDATE job_rounds SET record_version = 2, record_json = ? WHERE round = 1').run(JSON.stringify(bad));
      expect(() => roundRecords(db, 'old-job')).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_RECORD_UNREADABLE', message: expect.stringMatching(/extra\.privacy/) }));
    } finally {
      db.close();
    }
  });
});
