/**
 * The coordinator's last step (Bonawitz et al., CCS 2017, Fig. 4 round 4, "server"): from the revealed shares,
 * reconstruct each survivor's self-mask seed b_u and each dropped client's mask key s_sk_d, check them against
 * what the clients committed to in round 0, and strip the masks from the running sum of masked inputs:
 *   Σ_{u∈U3} x_u = Σ_{u∈U3} y_u − Σ_{u∈U3} PRG(b_u) + Σ_{d∈U2∖U3} Σ_{v∈N(d)∩U3} Δ_{v,d}·PRG(s_{v,d})·(−1).
 * Pure: no I/O, no state beyond its arguments.
 */
import type { Advertisement } from '../../protocol/secagg.ts';
import { bytesEqual, wipe } from './crypto/bytes.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec } from './crypto/prg.ts';
import { x25519, x25519KeyPairFromSecret, x25519PublicKeyObject } from './crypto/x25519.ts';
import { reconstructVerified } from './robust-reconstruct.ts';
import type { ShamirShare } from './shamir.ts';
import { seedCommitment } from './transcripts.ts';

export interface UnmaskInput {
  roundId: string;
  t: number;
  /** Running sum of the accepted masked inputs (modified in place into the plain sum). */
  sum: Uint32Array;
  adverts: ReadonlyMap<number, Advertisement>;
  /** U3: clients whose masked input is in the sum. */
  survivors: ReadonlySet<number>;
  /** U2 ∖ U3 clients that some survivor masked with, each with the survivors it masked with. */
  dropped: ReadonlyMap<number, ReadonlyArray<number>>;
  /** Revealed shares: seed shares per survivor, key shares per dropped client (x = holder index + 1). */
  seedShares: ReadonlyMap<number, ReadonlyArray<ShamirShare>>;
  keyShares: ReadonlyMap<number, ReadonlyArray<ShamirShare>>;
}

export interface UnmaskOutcome {
  readonly masksRemoved: number;
  /** Wall time of stripping the masks (applyMasks), the rest being reconstruction and key derivation. */
  readonly stripMs: number;
  /** Holders (roster index) that revealed a share off the verified polynomial: misbehaving clients. */
  readonly badShareHolders: number[];
}

/**
 * Turns the sum of masked inputs into the sum of inputs, in place. Each secret is rebuilt from any t of its
 * shares that verify against its commitment or signed public key (robust-reconstruct.ts), so one bad share
 * no longer aborts a round in which other clients already revealed theirs.
 */
export function unmaskSum(input: UnmaskInput): UnmaskOutcome {
  const { roundId, t, sum, adverts, survivors, dropped, seedShares, keyShares } = input;
  const masks: MaskSpec[] = [];
  const bad = new Set<number>();
  for (const u of survivors) {
    const adv = adverts.get(u) as Advertisement;
    const { secret: seed, bad: b } = reconstructVerified(seedShares.get(u), t, (s) => bytesEqual(seedCommitment(roundId, u, s), adv.commitment), `client ${u}'s self-mask seed`);
    for (const x of b) bad.add(x - 1);
    masks.push({ key: selfMaskKey(seed, roundId, u), sign: -1 });
    wipe(seed);
  }
  // One public-key object per survivor, not per (dropped, survivor) pair: importing a key costs ≈ 17 µs, and
  // a round with 150 dropouts of degree ≈ 150 would import 22,500 of them.
  const publicKeyObjects = new Map<number, ReturnType<typeof x25519PublicKeyObject>>();
  const publicKeyOf = (v: number): ReturnType<typeof x25519PublicKeyObject> => {
    let o = publicKeyObjects.get(v);
    if (o === undefined) publicKeyObjects.set(v, (o = x25519PublicKeyObject((adverts.get(v) as Advertisement).sPk)));
    return o;
  };
  for (const [d, partners] of dropped) {
    const sPk = (adverts.get(d) as Advertisement).sPk;
    const verifyKey = (sk: Uint8Array): boolean => {
      const candidate = x25519KeyPairFromSecret(sk);
      wipe(candidate.secretKey);
      return bytesEqual(candidate.publicKey, sPk);
    };
    const { secret: sk, bad: b } = reconstructVerified(keyShares.get(d), t, verifyKey, `client ${d}'s mask key`);
    for (const x of b) bad.add(x - 1);
    const pair = x25519KeyPairFromSecret(sk);
    wipe(sk, pair.secretKey);
    for (const v of partners) {
      const agreed = x25519(pair.keyObject, publicKeyOf(v));
      // v added Δ_{v,d}·PRG(s_{v,d}) with Δ = +1 if v > d; remove it.
      masks.push({ key: pairwiseMaskKey(agreed, roundId, v, d), sign: v > d ? -1 : 1 });
      wipe(agreed);
    }
  }
  const t0 = performance.now();
  try {
    applyMasks(sum, masks);
  } finally {
    for (const m of masks) wipe(m.key);
  }
  return { masksRemoved: masks.length, stripMs: performance.now() - t0, badShareHolders: [...bad].sort((a, b) => a - b) };
}
