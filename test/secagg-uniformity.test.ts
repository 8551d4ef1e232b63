/**
 * Statistical check of what secure aggregation promises the coordinator cannot see: one client's masked
 * vector, after removing everything the coordinator legitimately learns (the client's reconstructed self mask,
 * and the pairwise mask with any neighbour that dropped and whose key was reconstructed), is uniform on
 * Z_(2^32) — whatever the input. Chi-square test on the top and bottom 4 bits of 40 000 coordinates gathered over
 * 40 rounds (half with a dropout); critical value χ²(15 d.f.) at α = 0.001 is 37.697 (NIST/SEMATECH
 * e-Handbook of Statistical Methods, §1.3.6.7.4, table of upper critical values of the chi-square distribution).
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual, bytesToUint32 } from '../privacy/secagg/crypto/bytes.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec } from '../privacy/secagg/crypto/prg.ts';
import { x25519, x25519KeyPairFromSecret } from '../privacy/secagg/crypto/x25519.ts';
import { quantizationParams, quantize } from '../privacy/secagg/quantize.ts';
import { shamirCombine, type ShamirShare } from '../privacy/secagg/shamir.ts';
import { seedCommitment } from '../privacy/secagg/transcripts.ts';
import { seededRandom } from '../privacy/random.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import { makeIdentities, makeInputs, runRound, type RoundOutcome } from './secagg-harness.ts';

const CHI2_15_999 = 37.697;
const n = 5;
const k = 4;
const t = 3;
const dim = 1000;
const ROUNDS = 40;
const TARGET = 0;

function chiSquare(values: Uint32Array, bucketOf: (v: number) => number): number {
  const counts = new Array<number>(16).fill(0);
  for (const v of values) counts[bucketOf(v)] = (counts[bucketOf(v)] as number) + 1;
  const expected = values.length / 16;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

const top4 = (v: number): number => v >>> 28;
const low4 = (v: number): number => v & 15;

/** What the coordinator can compute about the target from its own view: y − PRG(b) ∓ PRG(s) for dropped neighbours. */
function coordinatorResidual(o: RoundOutcome, roundId: string): Uint32Array {
  const msgs = (type: SecAggClientMessage['type']): Array<{ from: number; message: SecAggClientMessage }> => o.sent.filter((s) => s.message.type === type);
  const adverts = new Map(msgs('secagg.advertise').map((s) => [s.from, s.message as Extract<SecAggClientMessage, { type: 'secagg.advertise' }>]));
  const masked = msgs('secagg.masked-input').find((s) => s.from === TARGET)?.message as Extract<SecAggClientMessage, { type: 'secagg.masked-input' }>;
  const residual = bytesToUint32(masked.vector).slice();
  const seedShares: ShamirShare[] = [];
  const keyShares = new Map<number, ShamirShare[]>();
  for (const { from, message } of msgs('secagg.unmask-shares')) {
    if (message.type !== 'secagg.unmask-shares') continue;
    for (const s of message.selfMaskShares) if (s.of === TARGET) seedShares.push({ x: from + 1, y: s.share });
    for (const s of message.maskKeyShares) keyShares.set(s.of, [...(keyShares.get(s.of) ?? []), { x: from + 1, y: s.share }]);
  }
  const seed = shamirCombine({ shares: seedShares.slice(0, t) });
  expect(bytesEqual(seedCommitment(roundId, TARGET, seed), (adverts.get(TARGET) as { commitment: Uint8Array }).commitment)).toBe(true);
  const masks: MaskSpec[] = [{ key: selfMaskKey(seed, roundId, TARGET), sign: -1 }];
  for (const [d, shares] of keyShares) {
    const pair = x25519KeyPairFromSecret(shamirCombine({ shares: shares.slice(0, t) }));
    const agreed = x25519(pair.keyObject, (adverts.get(TARGET) as { sPk: Uint8Array }).sPk);
    masks.push({ key: pairwiseMaskKey(agreed, roundId, TARGET, d), sign: TARGET > d ? -1 : 1 });
  }
  applyMasks(residual, masks);
  return residual;
}

describe('a masked vector looks uniform to the coordinator', () => {
  // The target's input is maximally non-uniform: every coordinate the same quantised value.
  const params = quantizationParams({ clipRange: 1, clients: n });
  const constant = quantize(new Float64Array(dim).fill(0.25), params, seededRandom('const'));
  const identities = makeIdentities(n, 'uni-ids');
  const residuals: Uint32Array[] = [];
  let droppedRounds = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const roundId = `job-u/round-${r}`;
    const inputs = makeInputs(n, dim, `uni-${r}`);
    inputs[TARGET] = constant;
    const drops = r % 2 === 1 ? new Map([[4, 'share-keys' as const]]) : undefined;
    const o = runRound({ n, k, t, dim, seed: `uni-${r}`, roundId, identities, inputs, ...(drops === undefined ? {} : { drops }) });
    if (o.server.stage !== 'done') throw new Error(`round ${r} did not complete`);
    if (o.sent.some((s) => s.message.type === 'secagg.unmask-shares' && s.message.maskKeyShares.length > 0)) droppedRounds++;
    residuals.push(coordinatorResidual(o, roundId));
  }
  const all = new Uint32Array(ROUNDS * dim);
  residuals.forEach((v, i) => all.set(v, i * dim));

  it('half of the rounds include a dropped neighbour whose mask the coordinator legitimately removed', () => {
    expect(droppedRounds).toBe(ROUNDS / 2);
  });

  it('top and bottom 4 bits of the residual pass a chi-square uniformity test', () => {
    const stats = { top: chiSquare(all, top4), low: chiSquare(all, low4) };
    expect(stats.top).toBeLessThan(CHI2_15_999);
    expect(stats.low).toBeLessThan(CHI2_15_999);
  });

  it('control: the same test rejects the unmasked input, so it has the power to fail', () => {
    const inputs = new Uint32Array(ROUNDS * dim);
    for (let r = 0; r < ROUNDS; r++) inputs.set(constant, r * dim);
    expect(chiSquare(inputs, top4)).toBeGreaterThan(CHI2_15_999);
    expect(chiSquare(inputs, low4)).toBeGreaterThan(CHI2_15_999);
  });
});
