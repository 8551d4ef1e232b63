/**
 * The mask PRG: AES-256-CTR keystream from node:crypto (NIST SP 800-38A §6.5), read as little-endian Uint32
 * words. Each mask key is HKDF-SHA256 of the full 32-byte agreed secret (pairwise masks, Bonawitz et al. 2017
 * §4 "PRG(s_u,v)") or of the self-mask seed b_u, with `info` binding the round and the pair, and the counter
 * starts at zero: every key is used for exactly one stream, so a fixed IV never repeats a keystream.
 *
 * Masks are accumulated by mask-kernel.mjs (keystream 64 KiB at a time, added with a WebAssembly SIMD loop) and,
 * for large jobs, split across worker threads (mask-threads.ts). The result is bit-exact mod 2^32 whatever
 * the split: Z_(2^32) addition is associative and commutative.
 */
import { TesseraError } from '../../../protocol/errors.ts';
import { hkdfSha256 } from './hkdf.ts';
import { Transcript } from './bytes.ts';
import { accumulateHere, accumulateParallel, defaultMaskWorkers, type InjectedWorkerFailure, type MaskWorkStats } from './mask-threads.ts';

export type { MaskWorkStats } from './mask-threads.ts';
import { MaskPlan, type MaskPlanData } from './mask-plan.mjs';
import { MASK_KEY_BYTES as KEY_BYTES, pairwiseInfoBuffer, pairwiseInfoPrefix, pairwiseMaskKeyInto } from './pairwise-keys.mjs';

export const MASK_KEY_BYTES = KEY_BYTES;
/**
 * Below this many mask words (masks × length) the work stays on the calling thread: waking workers costs
 * about a millisecond, and starting them the first time tens of milliseconds.
 */
export const PARALLEL_MIN_WORDS = 1 << 24;

/** One mask to add (+1) or subtract (−1) modulo 2^32. */
export interface MaskSpec {
  readonly key: Uint8Array;
  readonly sign: 1 | -1;
}

/**
 * The pairwise masks of some owners u, each with some partners v: Σ_v Δ_{u,v}·PRG(pairwiseMaskKey(X25519(s_sk_u,
 * s_pk_v), roundId, u, v)), Δ = +1 if u > v else −1 (Bonawitz et al. §4). A client adds its own (one owner: itself);
 * the coordinator adds those of each dropped client d with its surviving partners (owner d, its reconstructed
 * key), which cancels the masks the survivors added for d. The keys are derived by whichever thread takes the
 * batch (mask-plan.mjs).
 */
export interface PairwiseMasks {
  readonly roundId: string;
  readonly owners: ReadonlyArray<{ readonly index: number; readonly secretKey: Uint8Array; readonly partners: ReadonlyArray<number> }>;
  /** s_pk of every partner named in `owners`, by roster index. */
  readonly publicKeys: ReadonlyMap<number, Uint8Array>;
}

/** Key of the pairwise mask between clients `a` and `b` (symmetric in a, b). */
export function pairwiseMaskKey(agreedSecret: Uint8Array, roundId: string, a: number, b: number): Uint8Array {
  const out = new Uint8Array(MASK_KEY_BYTES);
  pairwiseMaskKeyInto(agreedSecret, pairwiseInfoBuffer(pairwiseInfoPrefix(roundId)), a, b, out);
  return out;
}

/** Key of client `index`'s self mask, from its 32-byte seed b_u. */
export function selfMaskKey(seed: Uint8Array, roundId: string, index: number): Uint8Array {
  const info = new Transcript('tessera-secagg/v1/self-mask').string(roundId).u32(index).finish();
  return hkdfSha256(seed, new Uint8Array(0), info, MASK_KEY_BYTES);
}

/** Masks to add in one pass: keys given directly (self masks) and pairwise masks derived on the way. */
export interface MaskSet {
  readonly direct?: ReadonlyArray<MaskSpec>;
  readonly pairwise?: PairwiseMasks;
}

export interface ApplyMasksOptions {
  /** Worker threads besides the caller's; default: cores − 1 (capped) when the job is ≥ PARALLEL_MIN_WORDS, else 0. */
  readonly workers?: number;
  /** Tests only: make every worker fail while holding a batch, to exercise the recovery path. */
  readonly injectWorkerFailure?: InjectedWorkerFailure;
}

function checkKey(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== MASK_KEY_BYTES) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `${what} must be ${MASK_KEY_BYTES} bytes`);
}

/** The flat plan of direct masks then pairwise masks (owner by owner, so a batch mostly shares one owner). */
function planData(direct: ReadonlyArray<MaskSpec>, pairwise: PairwiseMasks | undefined): MaskPlanData {
  const directKeys = new Uint8Array(MASK_KEY_BYTES * direct.length);
  const directSigns = new Int8Array(direct.length);
  direct.forEach((m, i) => {
    checkKey(m.key, 'a mask key');
    directKeys.set(m.key, MASK_KEY_BYTES * i);
    directSigns[i] = m.sign;
  });
  const owners = pairwise?.owners ?? [];
  const partnerSlot = new Map<number, number>();
  const pairs = owners.reduce((a, o) => a + o.partners.length, 0);
  const pairOwner = new Int32Array(pairs);
  const pairPartner = new Int32Array(pairs);
  let p = 0;
  owners.forEach((o, slot) => {
    checkKey(o.secretKey, `client ${o.index}'s X25519 private key`);
    for (const v of o.partners) {
      if (v === o.index) throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `client ${v} cannot be its own mask partner`);
      let q = partnerSlot.get(v);
      if (q === undefined) partnerSlot.set(v, (q = partnerSlot.size));
      pairOwner[p] = slot;
      pairPartner[p++] = q;
    }
  });
  const partners = new Int32Array(partnerSlot.size);
  const partnerKeys = new Uint8Array(MASK_KEY_BYTES * partnerSlot.size);
  for (const [v, q] of partnerSlot) {
    const pk = pairwise?.publicKeys.get(v);
    if (pk === undefined) throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `no public key for mask partner ${v}`);
    checkKey(pk, `client ${v}'s X25519 public key`);
    partners[q] = v;
    partnerKeys.set(pk, MASK_KEY_BYTES * q);
  }
  const ownerKeys = new Uint8Array(MASK_KEY_BYTES * owners.length);
  owners.forEach((o, slot) => ownerKeys.set(o.secretKey, MASK_KEY_BYTES * slot));
  return {
    directKeys,
    directSigns,
    infoPrefix: pairwiseInfoPrefix(pairwise?.roundId ?? ''),
    ownerKeys,
    owners: Int32Array.from(owners, (o) => o.index),
    partners,
    partnerKeys,
    pairOwner,
    pairPartner,
  };
}

function isMaskList(m: ReadonlyArray<MaskSpec> | MaskSet): m is ReadonlyArray<MaskSpec> {
  return Array.isArray(m);
}

/**
 * acc ← acc + Σ sign·PRG(key) over the direct masks and the pairwise masks, mod 2^32, in place. The caller
 * still owns (and wipes) the keys it passed; the derived pairwise keys never leave the thread that derived them.
 */
export function applyMasks(acc: Uint32Array, masks: ReadonlyArray<MaskSpec> | MaskSet, options: ApplyMasksOptions = {}): MaskWorkStats {
  const set: MaskSet = isMaskList(masks) ? { direct: masks } : masks;
  const plan = new MaskPlan(planData(set.direct ?? [], set.pairwise));
  try {
    if (plan.count === 0 || acc.length === 0) return { deriveMs: 0, streamMs: 0, threads: 0, failedWorkers: 0, redoneBatches: 0 };
    const workers = options.workers ?? (plan.count * acc.length >= PARALLEL_MIN_WORDS ? defaultMaskWorkers() : 0);
    if (workers > 0 && plan.count > 1) return accumulateParallel(acc, plan, workers, options.injectWorkerFailure);
    return accumulateHere(acc, plan);
  } catch (cause) {
    if (cause instanceof TesseraError) throw cause;
    throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `mask accumulation failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  } finally {
    plan.wipe();
  }
}

/** The first `length` words of PRG(key) (for tests and for callers that need the mask itself). */
export function prgWords(key: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  applyMasks(out, [{ key, sign: 1 }]);
  return out;
}
