/**
 * The coordinator's last step (Bonawitz et al., CCS 2017, Fig. 4 round 4, "server"): from the revealed shares,
 * reconstruct each survivor's self-mask seed b_u and each dropped client's mask key s_sk_d, check them against
 * what the clients committed to in round 0, and strip the masks from the running sum of masked inputs:
 *   Σ_{u∈U3} x_u = Σ_{u∈U3} y_u − Σ_{u∈U3} PRG(b_u) + Σ_{d∈U2∖U3} Σ_{v∈N(d)∩U3} Δ_{v,d}·PRG(s_{v,d})·(−1).
 * Pure: no I/O, no state beyond its arguments.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { Advertisement } from '../../protocol/secagg.ts';
import { bytesEqual, wipe } from './crypto/bytes.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec } from './crypto/prg.ts';
import { x25519, x25519KeyPairFromSecret, x25519PublicKeyObject } from './crypto/x25519.ts';
import { shamirCombine, type ShamirShare } from './shamir.ts';
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

function firstT(shares: ReadonlyArray<ShamirShare> | undefined, t: number, what: string): ShamirShare[] {
  if (shares === undefined || shares.length < t) {
    throw new TesseraError('TESSERA_ERR_SECAGG_ABORT', `only ${shares?.length ?? 0} shares of ${what}; threshold ${t}`);
  }
  return [...shares].sort((a, b) => a.x - b.x).slice(0, t);
}

/** Turns the sum of masked inputs into the sum of inputs, in place; returns the number of masks removed. */
export function unmaskSum(input: UnmaskInput): number {
  const { roundId, t, sum, adverts, survivors, dropped, seedShares, keyShares } = input;
  const masks: MaskSpec[] = [];
  for (const u of survivors) {
    const seed = shamirCombine({ shares: firstT(seedShares.get(u), t, `client ${u}'s self-mask seed`) });
    const adv = adverts.get(u) as Advertisement;
    if (!bytesEqual(seedCommitment(roundId, u, seed), adv.commitment)) {
      throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `reconstructed self-mask seed of client ${u} does not match its commitment (a neighbour revealed a wrong share)`);
    }
    masks.push({ key: selfMaskKey(seed, roundId, u), sign: -1 });
    wipe(seed);
  }
  for (const [d, partners] of dropped) {
    const sk = shamirCombine({ shares: firstT(keyShares.get(d), t, `client ${d}'s mask key`) });
    const pair = x25519KeyPairFromSecret(sk);
    wipe(sk);
    if (!bytesEqual(pair.publicKey, (adverts.get(d) as Advertisement).sPk)) {
      throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `reconstructed mask key of client ${d} does not match its advertised key (a neighbour revealed a wrong share)`);
    }
    for (const v of partners) {
      const agreed = x25519(pair.keyObject, x25519PublicKeyObject((adverts.get(v) as Advertisement).sPk));
      // v added Δ_{v,d}·PRG(s_{v,d}) with Δ = +1 if v > d; remove it.
      masks.push({ key: pairwiseMaskKey(agreed, roundId, v, d), sign: v > d ? -1 : 1 });
      wipe(agreed);
    }
  }
  applyMasks(sum, masks);
  for (const m of masks) wipe(m.key);
  return masks.length;
}
