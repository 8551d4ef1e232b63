/**
 * The client's acceptance rule (privacy/secagg/acceptance.ts) rule by rule, the parameter table in
 * docs/security-model.md against the code that computes it, the Shamir field's limit on n, and robust
 * reconstruction: a neighbour revealing a wrong (but validly signed) share no longer aborts the round.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptSetup } from '../privacy/secagg/acceptance.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY as P } from '../privacy/secagg/client-policy.ts';
import { findSecAggParams, MAX_SECAGG_CLIENTS } from '../privacy/secagg/params.ts';
import { reconstructVerified } from '../privacy/secagg/robust-reconstruct.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import { shamirSplit } from '../privacy/secagg/shamir.ts';
import * as T from '../privacy/secagg/transcripts.ts';
import { seededRandom } from '../privacy/random.ts';
import { isTesseraError } from '../protocol/errors.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import { makeIdentities, makeInputs, plainSum, runRound } from './secagg-harness.ts';
import { REPO_ROOT } from './paths.ts';

function refusal(f: () => unknown): { code: string; rule: unknown } {
  try {
    f();
  } catch (e) {
    if (isTesseraError(e)) return { code: e.code, rule: e.details?.['rule'] };
    throw e;
  }
  throw new Error('not refused');
}

describe('the acceptance rule under the default policy', () => {
  it('accepts the finder’s semi-malicious parameters and refuses each weakening with the rule named', () => {
    expect(acceptSetup({ clients: 100, k: 28, t: 18, consistencyCheck: true }, P)).toEqual({ t1: 5, keysFloor: 17, certifyFloor: 18 });
    expect(refusal(() => acceptSetup({ clients: 100, k: 28, t: 17, consistencyCheck: true }, P))).toEqual({ code: 'TESSERA_ERR_SECAGG_POLICY', rule: 'threshold' });
    expect(refusal(() => acceptSetup({ clients: 100, k: 16, t: 6, consistencyCheck: true }, P))).toEqual({ code: 'TESSERA_ERR_SECAGG_POLICY', rule: 'threshold' });
    expect(refusal(() => acceptSetup({ clients: 100, k: 28, t: 18, consistencyCheck: false }, P))).toEqual({ code: 'TESSERA_ERR_SECAGG_POLICY', rule: 'consistency-check' });
    expect(refusal(() => acceptSetup({ clients: 5, k: 4, t: 3, consistencyCheck: true }, { ...P, minClients: 10 })).rule).toBe('min-clients');
    // k = 2 on a ring of 100 with 15 bad nodes: the honest survivors' graph is easily cut.
    expect(refusal(() => acceptSetup({ clients: 100, k: 2, t: 2, consistencyCheck: true }, { ...P, minThreatModel: 'semi-honest', corruptRate: 0 })).rule).toBe('connectivity');
  });

  it('under DP: n < m, or no consistency check (|U3| unverifiable), is refused', () => {
    expect(refusal(() => acceptSetup({ clients: 20, k: 8, t: 6, consistencyCheck: true }, P, { minSurvivors: 25 })).rule).toBe('dp-min-survivors');
    const noCheck = { ...P, requireConsistencyCheck: false };
    expect(refusal(() => acceptSetup({ clients: 20, k: 8, t: 6, consistencyCheck: false }, noCheck, { minSurvivors: 10 })).rule).toBe('dp-min-survivors');
    expect(acceptSetup({ clients: 20, k: 8, t: 6, consistencyCheck: false }, noCheck).certifyFloor).toBe(0);
  });

  it('the keys floor exceeds t − 1 when the coordinator’s t does not cover the corrupt-neighbour bound', () => {
    // Semi-honest minimum, n = 20, k = 4: t1 = 1, so t = 2 is accepted, but masking needs t1 + 1 = 2 keys, not t − 1 = 1.
    const semiHonest = { ...P, minThreatModel: 'semi-honest' as const, requireConsistencyCheck: false };
    expect(acceptSetup({ clients: 20, k: 4, t: 2, consistencyCheck: false }, semiHonest)).toEqual({ t1: 1, keysFloor: 2, certifyFloor: 0 });
  });

  it('n above the Shamir field’s limit is refused at setup, by the client rule and by the coordinator', () => {
    const n = MAX_SECAGG_CLIENTS + 1;
    expect(refusal(() => acceptSetup({ clients: n, k: 100, t: 60, consistencyCheck: true }, P)).code).toBe('TESSERA_ERR_SECAGG_PARAMS');
    const clients = Array.from({ length: n }, (_, i) => `c${i}`);
    expect(() => new SecAggServer({ roundId: 'r', clients, k: 100, t: 60, dim: 1, resolveIdentity: () => undefined })).toThrow(/at most 65534 clients \(Shamir shares live in GF\(2\^16\)/);
  });
});

describe('the parameter table in docs/security-model.md', () => {
  it('matches the finder and the acceptance rule under the default policy', () => {
    const text = readFileSync(join(REPO_ROOT, 'docs/security-model.md'), 'utf8');
    const rows = text
      .split('\n')
      .filter((l) => /^\| (100|500|1000) \|/.test(l))
      .map((l) => l.split('|').slice(1, -1).map((c) => Number(c.trim())));
    expect(rows.map((r) => r[0])).toEqual([100, 500, 1000]);
    for (const [n, k, t, t1, keysFloor, certifyFloor] of rows as number[][]) {
      const p = findSecAggParams({ clients: n as number, dropoutRate: P.dropoutRate, corruptRate: P.corruptRate, threatModel: P.minThreatModel });
      expect([p.k, p.t]).toEqual([k, t]);
      expect(acceptSetup({ clients: n as number, k: p.k, t: p.t, consistencyCheck: true }, P)).toEqual({ t1, keysFloor, certifyFloor });
    }
  });
});

describe('robust reconstruction', () => {
  const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const check = (s: Uint8Array): boolean => s.every((v, i) => v === secret[i]);

  it('a bad share among t + 2 is identified and another subset rebuilds the secret; t bad shares out of t + 1 cannot', () => {
    const shares = shamirSplit({ secret, threshold: 5, xs: [1, 2, 3, 4, 5, 6, 7], rng: seededRandom('rr') });
    // Errors in different symbols (equal errors at two points could cancel at x = 0: see robust-reconstruct.ts).
    const bad = shares.map((s, i) => (i === 0 || i === 4 ? { x: s.x, y: s.y.map((v, j) => (j === 3 + 2 * i ? v ^ 1 : v)) } : s));
    const r = reconstructVerified(bad, 5, check, 'test secret');
    expect(Array.from(r.secret)).toEqual(Array.from(secret));
    expect(r.bad).toEqual([1, 5]);
    expect(() => reconstructVerified(bad.slice(0, 6), 5, check, 'test secret')).toThrow(/no 5 of the 6 revealed shares/);
  });

  it('in a round: a client that reveals a wrong share, validly signed, is named and the sum is still exact', () => {
    const n = 7;
    const identities = makeIdentities(n, 'robust-ids');
    const inputs = makeInputs(n, 16, 'robust-in');
    const hashes = new Map<number, Uint8Array>();
    const roundId = 'job-r/r1/robust';
    const o = runRound({
      n,
      k: 6,
      t: 5,
      dim: 16,
      seed: 'robust',
      roundId,
      identities,
      inputs,
      onClientMessage: (from, m): SecAggClientMessage => {
        const u = Number(from.slice('client-'.length));
        if (m.type === 'secagg.advertise') hashes.set(u, m.setupHash);
        if (u !== 3 || m.type !== 'secagg.unmask-shares') return m;
        // Client 3 lies about its share of client 0's seed and signs the lie with its own identity.
        const selfMaskShares = m.selfMaskShares.map((s) => (s.of === 0 ? { of: 0, share: s.share.map((v, j) => (j === 0 ? v ^ 0xff : v)) } : s));
        const binding = { roundId, setupHash: hashes.get(3) as Uint8Array };
        return { ...m, selfMaskShares, signature: identities.keys[3]?.sign(T.unmaskTranscript(binding, 3, selfMaskShares, m.maskKeyShares)) as Uint8Array };
      },
    });
    expect(o.serverRejections).toEqual([]);
    expect(o.server.stage).toBe('done');
    expect(Array.from(o.result?.sum ?? [])).toEqual(Array.from(plainSum(inputs, [0, 1, 2, 3, 4, 5, 6], 16)));
    expect(o.server.stats.badShareHolders).toEqual(['client-3']);
  });
});
