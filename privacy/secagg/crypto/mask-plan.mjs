// A mask plan: the masks one accumulation adds, in a flat form that can be posted to worker threads, and the
// code that turns a batch of it into keys and adds their keystreams — the same code on the main thread and in
// mask-worker.mjs, so a batch gives the same words wherever it runs. Plain JavaScript for the reason given in
// mask-kernel.mjs.
//
// Items [0, D) are direct masks (a key and a sign: self masks). Items [D, D + P) are pairwise masks, each
// named by (owner slot, partner slot): the key is derived HERE, batch by batch, from the owner's X25519
// private scalar and the partner's public key (pairwise-keys.mjs), so a worker derives the agreed secrets of
// its own batches and wipes each one after use; only the owners' scalars (one per dropped client at the
// coordinator, the client's own at a client) cross threads, as a transferred copy the receiver wipes.
//
// Sign of a pairwise mask (Bonawitz et al., CCS 2017, §4): owner u adds Δ·PRG(s_{u,v}) with Δ = +1 if u > v
// and −1 otherwise, so the two masks of a pair cancel in the sum. The coordinator strips a dropped client d's
// masks by adding exactly what d would have added — its own signs — which cancels what each survivor added.
import { performance } from 'node:perf_hooks';
import { MASK_KEY_BYTES, importX25519Private, importX25519Public, pairwiseInfoBuffer, pairwiseMaskKeyInto, x25519Agree } from './pairwise-keys.mjs';

/** Masks per batch taken from the shared counter: large enough to amortise the atomics, small for balance. */
export const BATCH = 16;

export class MaskPlan {
  /**
   * @param {{ directKeys: Uint8Array, directSigns: Int8Array, infoPrefix: Uint8Array, ownerKeys: Uint8Array,
   *   owners: Int32Array, partners: Int32Array, partnerKeys: Uint8Array, pairOwner: Int32Array, pairPartner: Int32Array }} data
   */
  constructor(data) {
    this.data = data;
    this.direct = data.directSigns.length;
    this.count = this.direct + data.pairOwner.length;
    this.info = pairwiseInfoBuffer(data.infoPrefix);
    this.keys = new Uint8Array(MASK_KEY_BYTES * BATCH);
    this.signs = new Int8Array(BATCH);
    /** node:crypto key objects, imported once per owner / partner by each thread that needs them. */
    this.privateKeys = new Map();
    this.publicKeys = new Map();
    /** Time this thread spent deriving pairwise keys, and generating and adding keystream (ms). */
    this.deriveMs = 0;
    this.streamMs = 0;
  }

  get batches() {
    return Math.ceil(this.count / BATCH);
  }

  privateKey(slot) {
    let k = this.privateKeys.get(slot);
    if (k === undefined) {
      const raw = this.data.ownerKeys.slice(MASK_KEY_BYTES * slot, MASK_KEY_BYTES * (slot + 1));
      k = importX25519Private(raw);
      raw.fill(0);
      this.privateKeys.set(slot, k);
    }
    return k;
  }

  publicKey(slot) {
    let k = this.publicKeys.get(slot);
    if (k === undefined) {
      k = importX25519Public(this.data.partnerKeys.subarray(MASK_KEY_BYTES * slot, MASK_KEY_BYTES * (slot + 1)));
      this.publicKeys.set(slot, k);
    }
    return k;
  }

  /**
   * Adds batch b's masks to `acc` (a MaskAccumulator). Throws an Error whose message names the pair when an
   * agreement has no usable secret (a low-order public key); the caller turns it into a typed error.
   */
  applyBatch(acc, b) {
    const { directKeys, directSigns, owners, partners, pairOwner, pairPartner } = this.data;
    const from = b * BATCH;
    const to = Math.min(this.count, from + BATCH);
    const keys = this.keys;
    const signs = this.signs;
    const t0 = performance.now();
    try {
      for (let m = from; m < to; m++) {
        const i = m - from;
        if (m < this.direct) {
          keys.set(directKeys.subarray(MASK_KEY_BYTES * m, MASK_KEY_BYTES * (m + 1)), MASK_KEY_BYTES * i);
          signs[i] = directSigns[m];
          continue;
        }
        const p = m - this.direct;
        const o = pairOwner[p];
        const q = pairPartner[p];
        const u = owners[o];
        const v = partners[q];
        const agreed = x25519Agree(this.privateKey(o), this.publicKey(q));
        if (agreed === null) throw new Error(`X25519 agreement of clients ${u} and ${v} gave no usable secret (low-order public key)`);
        pairwiseMaskKeyInto(agreed, this.info, u, v, keys.subarray(MASK_KEY_BYTES * i, MASK_KEY_BYTES * (i + 1)));
        agreed.fill(0);
        signs[i] = u > v ? 1 : -1;
      }
      const t1 = performance.now();
      this.deriveMs += t1 - t0;
      acc.applyRange(keys, signs, 0, to - from);
      this.streamMs += performance.now() - t1;
    } finally {
      keys.fill(0);
    }
  }

  /** Overwrites the secret inputs this thread holds (direct keys, owners' scalars, the key scratch). */
  wipe() {
    this.data.directKeys.fill(0);
    this.data.ownerKeys.fill(0);
    this.keys.fill(0);
    this.privateKeys.clear();
  }
}
