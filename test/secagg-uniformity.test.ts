/**
 * Statistical check of what secure aggregation promises the coordinator cannot see: one client's masked
 * vector, after removing everything the coordinator can remove, is uniform on Z_(2^32) whatever the input.
 * Two very different inputs (a constant 0.25 and alternating ±1 extremes), and two views of the coordinator:
 *  - honest: it removes the target's reconstructed self mask and, in half the rounds, the pairwise mask with a
 *    neighbour that dropped (its key legitimately reconstructed);
 *  - deviating (issue 10, split unmask without the consistency check, a policy that allows it): it tells half of
 *    the target's neighbours that the target dropped and keeps every share any client revealed; it rebuilds
 *    what it can (the self-mask seed reaches t, the target's mask key does not: t > (k + 1 + t1)/2).
 * Tests: chi-square on the top and bottom 4 bits (critical value χ²(15 d.f.) at α = 0.001 is 37.697, NIST/
 * SEMATECH e-Handbook of Statistical Methods §1.3.6.7.4), and a frequency (monobit) test on EVERY bit position:
 * z = (ones − N/2)/√(N/4) must stay within ±4.5 (two-sided tail 6.8·10⁻⁶ per test, Abramowitz & Stegun 26.2.17;
 * 128 tests keep the family-wise false-alarm rate below 10⁻³). Controls show both tests reject the inputs.
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual, bytesToUint32 } from '../privacy/secagg/crypto/bytes.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec } from '../privacy/secagg/crypto/prg.ts';
import { x25519, x25519KeyPairFromSecret } from '../privacy/secagg/crypto/x25519.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY } from '../privacy/secagg/client-policy.ts';
import { quantizationParams, quantize } from '../privacy/secagg/quantize.ts';
import { reconstructVerified } from '../privacy/secagg/robust-reconstruct.ts';
import type { ShamirShare } from '../privacy/secagg/shamir.ts';
import { seedCommitment } from '../privacy/secagg/transcripts.ts';
import { seededRandom } from '../privacy/random.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import { makeIdentities, makeInputs, runRound, type RoundOutcome } from './secagg-harness.ts';

const CHI2_15_999 = 37.697;
const Z_MAX = 4.5;
const n = 5;
const k = 4;
const t = 3;
const dim = 1000;
const ROUNDS = 20;
const TARGET = 0;

function chiSquare(values: Uint32Array, bucketOf: (v: number) => number): number {
  const counts = new Array<number>(16).fill(0);
  for (const v of values) counts[bucketOf(v)] = (counts[bucketOf(v)] as number) + 1;
  const expected = values.length / 16;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** The largest |z| of the 32 per-bit frequency tests. */
function worstBitZ(values: Uint32Array): number {
  let worst = 0;
  for (let b = 0; b < 32; b++) {
    let ones = 0;
    for (const v of values) ones += (v >>> b) & 1;
    worst = Math.max(worst, Math.abs(ones - values.length / 2) / Math.sqrt(values.length / 4));
  }
  return worst;
}

const top4 = (v: number): number => v >>> 28;
const low4 = (v: number): number => v & 15;

type Msg<T extends SecAggClientMessage['type']> = Extract<SecAggClientMessage, { type: T }>;

/** What the coordinator can compute about the target from everything the clients sent it. */
function coordinatorResidual(o: RoundOutcome, roundId: string): { residual: Uint32Array; selfMaskRemoved: boolean; pairMasksRemoved: number } {
  const msgs = <T extends SecAggClientMessage['type']>(type: T): Array<{ from: number; message: Msg<T> }> => o.sent.filter((s) => s.message.type === type) as Array<{ from: number; message: Msg<T> }>;
  const adverts = new Map(msgs('secagg.advertise').map((s) => [s.from, s.message]));
  const masked = msgs('secagg.masked-input').find((s) => s.from === TARGET)?.message as Msg<'secagg.masked-input'>;
  const residual = bytesToUint32(masked.vector).slice();
  const seedShares: ShamirShare[] = [];
  const keyShares = new Map<number, ShamirShare[]>();
  for (const { from, message } of msgs('secagg.unmask-shares')) {
    for (const s of message.selfMaskShares) if (s.of === TARGET) seedShares.push({ x: from + 1, y: s.share });
    for (const s of message.maskKeyShares) keyShares.set(s.of, [...(keyShares.get(s.of) ?? []), { x: from + 1, y: s.share }]);
  }
  const target = adverts.get(TARGET) as Msg<'secagg.advertise'>;
  const masks: MaskSpec[] = [];
  let selfMaskRemoved = false;
  try {
    const seed = reconstructVerified(seedShares, t, (s) => bytesEqual(seedCommitment(roundId, TARGET, s), target.commitment), 'seed').secret;
    masks.push({ key: selfMaskKey(seed, roundId, TARGET), sign: -1 });
    selfMaskRemoved = true;
  } catch {
    // fewer than t valid seed shares: the self mask stays
  }
  let pairMasksRemoved = 0;
  for (const [d, shares] of keyShares) {
    if (d === TARGET || shares.length < t) continue;
    const sPk = (adverts.get(d) as Msg<'secagg.advertise'>).sPk;
    try {
      const sk = reconstructVerified(shares, t, (s) => bytesEqual(x25519KeyPairFromSecret(s).publicKey, sPk), 'key').secret;
      const agreed = x25519(x25519KeyPairFromSecret(sk).keyObject, target.sPk);
      masks.push({ key: pairwiseMaskKey(agreed, roundId, TARGET, d), sign: TARGET > d ? -1 : 1 });
      pairMasksRemoved++;
    } catch {
      // not reconstructable: that pairwise mask stays
    }
  }
  applyMasks(residual, masks);
  return { residual, selfMaskRemoved, pairMasksRemoved };
}

const params = quantizationParams({ clipRange: 1, clients: n });
const INPUTS = {
  constant: quantize(new Float64Array(dim).fill(0.25), params, seededRandom('const')),
  extremes: quantize(Float64Array.from({ length: dim }, (_, i) => (i % 2 === 0 ? 1 : -1)), params, seededRandom('extremes')),
};
const identities = makeIdentities(n, 'uni-ids');
const splitPolicy = { ...DEFAULT_SECAGG_CLIENT_POLICY, requireConsistencyCheck: false };

function gather(input: Uint32Array, view: 'honest' | 'deviating'): { all: Uint32Array; selfRemoved: number; pairsRemoved: number } {
  const all = new Uint32Array(ROUNDS * dim);
  let selfRemoved = 0;
  let pairsRemoved = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const roundId = `job-u/${view}/round-${r}`;
    const inputs = makeInputs(n, dim, `uni-${view}-${r}`);
    inputs[TARGET] = input;
    const drops = view === 'honest' && r % 2 === 1 ? new Map([[4, 'share-keys' as const]]) : undefined;
    const o = runRound({
      n,
      k,
      t,
      dim,
      seed: `uni-${view}-${r}`,
      roundId,
      identities,
      inputs,
      ...(drops === undefined ? {} : { drops }),
      ...(view === 'deviating'
        ? {
            consistencyCheck: false,
            policy: splitPolicy,
            // Clients 3 and 4 are told the target dropped: they reveal its mask-key share instead of its seed share.
            onServerMessage: (out) =>
              out.message.type === 'secagg.unmask' && (out.to === 'client-3' || out.to === 'client-4')
                ? { ...out, message: { ...out.message, selfMaskFor: out.message.selfMaskFor.filter((v) => v !== TARGET), maskKeyFor: [...out.message.maskKeyFor, TARGET] } }
                : out,
          }
        : {}),
    });
    const c = coordinatorResidual(o, roundId);
    if (c.selfMaskRemoved) selfRemoved++;
    pairsRemoved += c.pairMasksRemoved;
    all.set(c.residual, r * dim);
  }
  return { all, selfRemoved, pairsRemoved };
}

describe.each([['constant', INPUTS.constant], ['extremes', INPUTS.extremes]] as const)('the target’s masked vector looks uniform to the coordinator (input: %s)', (_, input) => {
  for (const view of ['honest', 'deviating'] as const) {
    it(`${view} coordinator: chi-square on the top and bottom 4 bits, and every one of the 32 bit positions`, () => {
      const g = gather(input, view);
      // What the view removed: the self mask every round; pairwise masks only with neighbours that really dropped.
      expect(g.selfRemoved).toBe(ROUNDS);
      expect(g.pairsRemoved).toBe(view === 'honest' ? ROUNDS / 2 : 0);
      expect(chiSquare(g.all, top4)).toBeLessThan(CHI2_15_999);
      expect(chiSquare(g.all, low4)).toBeLessThan(CHI2_15_999);
      expect(worstBitZ(g.all)).toBeLessThan(Z_MAX);
    });
  }

  it('control: the same tests reject the unmasked input, so they have the power to fail', () => {
    const repeated = new Uint32Array(ROUNDS * dim);
    for (let r = 0; r < ROUNDS; r++) repeated.set(input, r * dim);
    expect(chiSquare(repeated, top4)).toBeGreaterThan(CHI2_15_999);
    expect(worstBitZ(repeated)).toBeGreaterThan(Z_MAX);
  });
});
