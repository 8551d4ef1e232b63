/**
 * The coordinator's last step (Bonawitz et al., CCS 2017, Fig. 4 round 4, "server"): from the revealed shares,
 * reconstruct each survivor's self-mask seed b_u and each dropped client's mask key s_sk_d, check them against
 * what the clients committed to in round 0, and strip the masks from the running sum of masked inputs:
 *   Σ_{u∈U3} x_u = Σ_{u∈U3} y_u − Σ_{u∈U3} PRG(b_u) + Σ_{d∈U2∖U3} Σ_{v∈N(d)∩U3} Δ_{v,d}·PRG(s_{v,d})·(−1).
 * Pure: no I/O, no state beyond its arguments.
 */
import type { Advertisement } from '../../protocol/secagg.ts';
import { bytesEqual, wipe } from './crypto/bytes.ts';
import { applyMasks, selfMaskKey, type MaskSpec, type PairwiseMasks } from './crypto/prg.ts';
import { x25519KeyPairFromSecret } from './crypto/x25519.ts';
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
  /** Mask worker threads (prg.ts ApplyMasksOptions.workers); default: chosen by the size of the work. */
  workers?: number;
}

export interface UnmaskOutcome {
  readonly masksRemoved: number;
  /** Wall time of rebuilding and verifying every seed and mask key (calling thread, before any mask work). */
  readonly reconstructMs: number;
  /** Its CPU time (only the calling thread works then, so this is steady under other load). */
  readonly reconstructCpuMs: number;
  /** Wall time of removing the masks: deriving the pairwise keys and stripping, across the worker threads. */
  readonly maskMs: number;
  /** Of maskMs, thread time (summed over threads) spent deriving pairwise keys (X25519 + HKDF) … */
  readonly deriveThreadMs: number;
  /** … and generating and subtracting keystream. */
  readonly stripThreadMs: number;
  /** Threads that shared the mask work. */
  readonly threads: number;
  /** Holders (roster index) that revealed a share off the verified polynomial: misbehaving clients. */
  readonly badShareHolders: number[];
}

/**
 * Turns the sum of masked inputs into the sum of inputs, in place. Each secret is rebuilt from any t of its
 * shares that verify against its commitment or signed public key (robust-reconstruct.ts), so one bad share
 * no longer aborts a round in which other clients already revealed theirs. The ≈ |dropped| · k pairwise mask
 * keys are not derived here: each mask thread derives those of the batches it takes (crypto/mask-plan.mjs).
 */
export function unmaskSum(input: UnmaskInput): UnmaskOutcome {
  const { roundId, t, sum, adverts, survivors, dropped, seedShares, keyShares } = input;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const selfMasks: MaskSpec[] = [];
  const bad = new Set<number>();
  const owners: Array<PairwiseMasks['owners'][number]> = [];
  const publicKeys = new Map<number, Uint8Array>();
  try {
    for (const u of survivors) {
      const adv = adverts.get(u) as Advertisement;
      const { secret: seed, bad: b } = reconstructVerified(seedShares.get(u), t, (s) => bytesEqual(seedCommitment(roundId, u, s), adv.commitment), `client ${u}'s self-mask seed`);
      for (const x of b) bad.add(x - 1);
      selfMasks.push({ key: selfMaskKey(seed, roundId, u), sign: -1 });
      wipe(seed);
    }
    for (const [d, partners] of dropped) {
      const sPk = (adverts.get(d) as Advertisement).sPk;
      const verifyKey = (sk: Uint8Array): boolean => {
        const candidate = x25519KeyPairFromSecret(sk);
        wipe(candidate.secretKey);
        return bytesEqual(candidate.publicKey, sPk);
      };
      const { secret: sk, bad: b } = reconstructVerified(keyShares.get(d), t, verifyKey, `client ${d}'s mask key`);
      for (const x of b) bad.add(x - 1);
      // Survivor v added Δ_{v,d}·PRG(s_{v,d}); adding d's own pairwise masks (its signs, its key) cancels them.
      owners.push({ index: d, secretKey: sk, partners });
      for (const v of partners) publicKeys.set(v, (adverts.get(v) as Advertisement).sPk);
    }
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    const work = applyMasks(sum, { direct: selfMasks, pairwise: { roundId, owners, publicKeys } }, input.workers === undefined ? {} : { workers: input.workers });
    return {
      masksRemoved: selfMasks.length + owners.reduce((a, o) => a + o.partners.length, 0),
      reconstructMs: t1 - t0,
      reconstructCpuMs: (cpu.user + cpu.system) / 1000,
      maskMs: performance.now() - t1,
      deriveThreadMs: work.deriveMs,
      stripThreadMs: work.streamMs,
      threads: work.threads,
      badShareHolders: [...bad].sort((a, b) => a - b),
    };
  } finally {
    for (const m of selfMasks) wipe(m.key);
    for (const o of owners) wipe(o.secretKey);
  }
}
