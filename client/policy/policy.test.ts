/**
 * The client policy's pure parts: the strict schema and its defaults, ε recomputed by the client's own
 * accountant (the example: ε = 1 declared with q = 1, σ = 0.05, 100 rounds is really ≈ 22,000), the
 * noise that protects one client per placement, the cumulative bound at q = 1, and the participation record's
 * file (durable, reloaded, refused when corrupt).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { epsilonFor } from '../../privacy/accountant/index.ts';
import { parseJobSpec, type JobSpecInput } from '../../protocol/job/spec.ts';
import { cumulativeEpsilon, recomputeJobEpsilon } from './epsilon.ts';
import { fileParticipationRecord, MAX_ROUND_IDS, memoryParticipationRecord, PARTICIPATION_FILE, PARTICIPATION_LOCK } from './participation.ts';
import { evaluatePolicy } from './rules.ts';
import { DEFAULT_CLIENT_POLICY, parseClientPolicy, policyDocument } from './schema.ts';

const job = (o: Partial<JobSpecInput>) => parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'heart' }, rounds: 10, sampling: { mode: 'poisson', rate: 1 }, ...o });
const dir = mkdtempSync(join(tmpdir(), 'tessera-policy-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the policy file', () => {
  it('fills every default from version 1 alone, and they are the strict ones', () => {
    expect(policyDocument(parseClientPolicy({ version: 1 }, 'f'))).toEqual(policyDocument(DEFAULT_CLIENT_POLICY));
    expect(DEFAULT_CLIENT_POLICY.secagg).toMatchObject({ required: true, minThreatModel: 'semi-malicious', requireConsistencyCheck: true });
    expect(DEFAULT_CLIENT_POLICY.dp.allowedPlacements).toEqual(['distributed', 'local']);
    expect(DEFAULT_CLIENT_POLICY.disclose).toEqual({ exampleCount: false, trainingDiagnostics: false, declineDetail: false });
  });

  it('refuses unknown keys, another version, and a malformed trusted key (TESSERA_ERR_POLICY_INVALID)', () => {
    for (const bad of [{ version: 1, dp: { maxEpsilonn: 3 } }, { version: 2 }, { version: 1, dp: { trustedCoordinatorKeys: ['abc'] } }, { version: 1, extra: true }]) {
      expect(() => parseClientPolicy(bad, 'f')).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_POLICY_INVALID' }));
    }
  });
});

describe('ε recomputed by the client', () => {
  it('the issue\'s lie: declared ε = 1, real ε ≈ 22,000 (q = 1, σ = 0.05, 100 rounds, δ = 1e-5)', () => {
    const lie = job({ rounds: 100, secagg: { enabled: true, weighting: 'uniform' }, dp: { enabled: true, epsilon: 1, noiseMultiplier: 0.05 } });
    const e = recomputeJobEpsilon(lie, { centralTrusted: false });
    // Converted where the ledger converts: at (1 − f)·δ, f = 0.1 the default short-round reserve.
    expect(e.epsilon).toBe(epsilonFor({ samplingRate: 1, noiseMultiplier: 0.05, steps: 100, delta: 1e-5 * (1 - 0.1) }).epsilon);
    expect(e.epsilon).toBeGreaterThan(20_000);
    expect(e.epsilon).toBeLessThan(25_000);
  });

  it('uses the σ that protects this client: σ/√m without secure aggregation, ∞ for untrusted central', () => {
    const dp = { enabled: true, epsilon: 5, noiseMultiplier: 2 } as const;
    expect(recomputeJobEpsilon(job({ minClients: 4, dp }), { centralTrusted: false }).effectiveNoiseMultiplier).toBe(1);
    expect(recomputeJobEpsilon(job({ minClients: 4, dp, secagg: { enabled: true, weighting: 'uniform' } }), { centralTrusted: false }).effectiveNoiseMultiplier).toBe(2);
    expect(recomputeJobEpsilon(job({ minClients: 4, dp: { ...dp, placement: 'local' } }), { centralTrusted: false }).effectiveNoiseMultiplier).toBe(2);
    const central = job({ dp: { ...dp, placement: 'central', trustedCoordinator: true } });
    expect(recomputeJobEpsilon(central, { centralTrusted: false }).epsilon).toBe(Infinity);
    expect(recomputeJobEpsilon(central, { centralTrusted: true }).effectiveNoiseMultiplier).toBe(2);
    expect(recomputeJobEpsilon(job({}), { centralTrusted: false }).epsilon).toBe(Infinity);
  });

  it('composes actual contributions at q = 1 across jobs (RDP adds; one conversion)', () => {
    expect(cumulativeEpsilon([], 1e-5)).toBe(0);
    const mixed = cumulativeEpsilon([{ effectiveNoiseMultiplier: 1 }, { effectiveNoiseMultiplier: 2 }, { effectiveNoiseMultiplier: 1 }], 1e-5);
    expect(mixed).toBeGreaterThan(epsilonFor({ samplingRate: 1, noiseMultiplier: 1, steps: 2, delta: 1e-5 }).epsilon);
    expect(mixed).toBeLessThan(epsilonFor({ samplingRate: 1, noiseMultiplier: 1, steps: 3, delta: 1e-5 }).epsilon);
    expect(cumulativeEpsilon([{ effectiveNoiseMultiplier: 0 }], 1e-5)).toBe(Infinity);
  });

  it('policy check lists every failing rule at once', () => {
    const bad = job({ rounds: 100, dp: { enabled: true, epsilon: 1, noiseMultiplier: 0.05, delta: 0.01, placement: 'central', trustedCoordinator: true } });
    const rules = evaluatePolicy(DEFAULT_CLIENT_POLICY, bad, { task: 'train' }).violations.map((v) => v.rule);
    expect(rules).toEqual(['secagg.required', 'dp.allowedPlacements', 'dp.maxEpsilon', 'dp.minNoiseMultiplier', 'dp.maxDelta']);
  });
});

describe('the participation record file', () => {
  it('survives a reload, and a corrupt file is refused (TESSERA_ERR_POLICY_RECORD), never silently reset', () => {
    const state = join(dir, 'state');
    const r = fileParticipationRecord(state);
    r.add({ jobId: 'j', round: 1, declaredRounds: 3, effectiveNoiseMultiplier: 1, at: '2026-01-01T00:00:00.000Z' });
    r.add({ jobId: 'j', round: 2, declaredRounds: 3, effectiveNoiseMultiplier: null, at: '2026-01-01T00:00:01.000Z' });
    expect(fileParticipationRecord(state).contributions().map((c) => c.round)).toEqual([1, 2]);
    expect(JSON.parse(readFileSync(join(state, PARTICIPATION_FILE), 'utf8'))).toMatchObject({ version: 1 });
    writeFileSync(join(state, PARTICIPATION_FILE), '{"version":1,"contributions":[{"jobId":"j"}]}');
    expect(() => fileParticipationRecord(state)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_POLICY_RECORD' }));
    writeFileSync(join(state, PARTICIPATION_FILE), '{"version":1,');
    expect(() => fileParticipationRecord(state)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_POLICY_RECORD' }));
  });
});

describe('secure-aggregation round ids in the participation record', () => {
  it('a claimed round id survives a reload and is refused again (TESSERA_ERR_SECAGG_ROUND_REPLAY); contributions are kept beside it', () => {
    const state = join(dir, 'round-ids');
    const r = fileParticipationRecord(state);
    r.add({ jobId: 'j', round: 1, declaredRounds: 3, effectiveNoiseMultiplier: 1, at: '2026-01-01T00:00:00.000Z' });
    r.claim('j/r1/nonce-a');
    r.claim('j/e1/nonce-b');
    const reopened = fileParticipationRecord(state);
    expect(() => reopened.claim('j/r1/nonce-a')).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_SECAGG_ROUND_REPLAY' }));
    expect(() => reopened.claim('j/r1/nonce-c')).not.toThrow();
    expect(reopened.contributions()).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(state, PARTICIPATION_FILE), 'utf8'))).toMatchObject({ secaggRoundIds: ['j/r1/nonce-a', 'j/e1/nonce-b', 'j/r1/nonce-c'] });
    // A record written before round ids were kept still loads.
    writeFileSync(join(state, PARTICIPATION_FILE), '{"version":1,"contributions":[]}');
    expect(() => fileParticipationRecord(state).claim('j/r1/nonce-a')).not.toThrow();
  });

  it('keeps the last MAX_ROUND_IDS ids (the oldest forgotten first), in memory too', () => {
    const m = memoryParticipationRecord();
    for (let i = 0; i <= MAX_ROUND_IDS; i++) m.claim(`j/r${i}/n`);
    expect(() => m.claim(`j/r${MAX_ROUND_IDS}/n`)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_SECAGG_ROUND_REPLAY' }));
    expect(() => m.claim('j/r0/n')).not.toThrow();
  });
});

describe('one process per participation record', () => {
  it('refuses a state directory held by another live process, and takes over a stale lock', () => {
    const state = join(dir, 'locked');
    fileParticipationRecord(state);
    // The test runner's parent process is alive and is not this process.
    writeFileSync(join(state, PARTICIPATION_LOCK), `${process.ppid}\n`);
    expect(() => fileParticipationRecord(state)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_POLICY_RECORD', message: expect.stringMatching(/in use by process/) }));
    writeFileSync(join(state, PARTICIPATION_LOCK), '2147483646\n');
    expect(() => fileParticipationRecord(state)).not.toThrow();
    expect(readFileSync(join(state, PARTICIPATION_LOCK), 'utf8').trim()).toBe(String(process.pid));
  });

  it('two nodes of one process sharing the directory see each other\'s contributions', () => {
    const state = join(dir, 'shared');
    const a = fileParticipationRecord(state);
    const b = fileParticipationRecord(state);
    a.add({ jobId: 'j', round: 1, declaredRounds: 2, effectiveNoiseMultiplier: 1, at: '2026-01-01T00:00:00.000Z' });
    expect(b.contributions()).toHaveLength(1);
  });
});
