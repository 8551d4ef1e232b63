import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TesseraError } from '../../../protocol/errors.ts';
import { seededRandom } from '../../random.ts';
import { Transcript, bytesToHex, hexToBytes } from './bytes.ts';
import { hkdfSha256 } from './hkdf.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec, type PairwiseMasks } from './prg.ts';
import { generateX25519, x25519, type X25519KeyPair } from './x25519.ts';

/**
 * The pairwise mask key as it was defined before the derivation moved into the mask threads: HKDF-SHA256
 * (RFC 5869) of the agreed secret with info = Transcript[label, roundId, min, max] (bytes.ts), built here with
 * the project's Transcript class, independently of pairwise-keys.mjs's hand-written encoding.
 */
function referencePairwiseKey(agreed: Uint8Array, roundId: string, a: number, b: number): Uint8Array {
  const info = new Transcript('tessera-secagg/v1/pairwise-mask').string(roundId).u32(Math.min(a, b)).u32(Math.max(a, b)).finish();
  return hkdfSha256(agreed, new Uint8Array(0), info, 32);
}

/** acc + Σ sign·LE32(AES-256-CTR(key, IV 0)) mod 2^32, one mask at a time (the definition). */
function referenceApply(start: Uint32Array, masks: ReadonlyArray<MaskSpec>): Uint32Array {
  const out = start.slice();
  for (const m of masks) {
    const ks = createCipheriv('aes-256-ctr', m.key, Buffer.alloc(16)).update(Buffer.alloc(out.length * 4));
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + m.sign * ks.readUInt32LE(4 * i);
  }
  return out;
}

const same = (a: Uint32Array, b: Uint32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A coordinator-shaped job: `owners` reconstructed keys of dropped clients, each with some partners. */
function scenario(seed: string, clients: number, ownerCount: number, partnersEach: number): { roundId: string; keys: X25519KeyPair[]; pairwise: PairwiseMasks; direct: MaskSpec[] } {
  const rng = seededRandom(seed);
  const keys = Array.from({ length: clients }, () => generateX25519(rng));
  const roundId = `job-${seed}/round-7/nonce`;
  const owners = Array.from({ length: ownerCount }, (_, i) => {
    const index = (i * 7 + 3) % clients;
    const partners = Array.from({ length: partnersEach }, (_, j) => (index + 1 + j * 3) % clients).filter((v) => v !== index);
    return { index, secretKey: (keys[index] as X25519KeyPair).secretKey, partners: [...new Set(partners)] };
  });
  const publicKeys = new Map(keys.map((k, i) => [i, k.publicKey]));
  const direct = Array.from({ length: 5 }, (_, i) => ({ key: new Uint8Array(randomBytes(32)), sign: (i % 2 === 0 ? -1 : 1) as 1 | -1 }));
  return { roundId, keys, pairwise: { roundId, owners, publicKeys }, direct };
}

/** The same masks spelled out one by one: X25519 (x25519.ts), reference HKDF, Bonawitz §4 sign of the owner. */
function spelledOut(s: ReturnType<typeof scenario>): MaskSpec[] {
  const pair: MaskSpec[] = s.pairwise.owners.flatMap((o) =>
    o.partners.map((v) => ({
      key: referencePairwiseKey(x25519((s.keys[o.index] as X25519KeyPair).keyObject, (s.keys[v] as X25519KeyPair).publicKey), s.roundId, o.index, v),
      sign: (o.index > v ? 1 : -1) as 1 | -1,
    })),
  );
  return [...s.direct, ...pair];
}

describe('mask plan: pairwise keys derived in the thread that strips them', () => {
  it('pairwiseMaskKey is unchanged: known answers from the Transcript-based definition, and the reference agrees', () => {
    // Known answers computed with the previous definition (prg.ts before the derivation moved into the workers).
    const s = new Uint8Array(32).map((_, i) => i * 7 + 1);
    const cases: Array<[string, number, number, string]> = [
      ['job-1/round-3/9f', 17, 4, '506e6b60e9ec5859961708fa8d36dfebed8eeb756a3c584659b8ab8131cb485b'],
      ['raund-é', 70000, 65536, '47def4ffeca6a5acfb620d5c6d6e172354a87c9d42cb324ca835fa61d6037b1d'],
    ];
    for (const [roundId, a, b, hex] of cases) {
      expect(bytesToHex(pairwiseMaskKey(s, roundId, a, b))).toBe(hex);
      expect(bytesToHex(pairwiseMaskKey(s, roundId, b, a))).toBe(hex);
      expect(bytesToHex(referencePairwiseKey(s, roundId, a, b))).toBe(hex);
    }
    expect(bytesToHex(selfMaskKey(s, 'job-1/round-3/9f', 17))).toBe('f664a16010e65522d90e2874e6715f610ad352c87216ab5836e44b08e6601d49');
  });

  it.each([0, 1, 2])('direct + pairwise masks with %i worker(s) equal the masks spelled out one by one', (workers) => {
    const s = scenario(`w${workers}`, 40, 9, 11); // 5 direct + 9·11 pairwise: several batches, owners spanning batches
    const start = new Uint32Array(randomBytes(4 * 3001).buffer);
    const acc = start.slice();
    const stats = applyMasks(acc, { direct: s.direct, pairwise: s.pairwise }, { workers });
    expect(same(acc, referenceApply(start, spelledOut(s)))).toBe(true);
    expect(stats.threads).toBe(1 + workers);
    expect(stats.failedWorkers).toBe(0);
    expect(stats.deriveMs).toBeGreaterThan(0);
  });

  it('a client\'s masks and the coordinator\'s removal of a dropped client\'s masks cancel exactly', () => {
    // Client 3 masks with partners 1, 5, 8 (its own key); then the coordinator, holding 3's reconstructed key,
    // adds 3's pairwise masks to what the partners added for 3 — each partner v added Δ_{v,3}·PRG(s_{v,3}).
    const rng = seededRandom('cancel');
    const keys = Array.from({ length: 9 }, () => generateX25519(rng));
    const publicKeys = new Map(keys.map((k, i) => [i, k.publicKey]));
    const roundId = 'cancel/round-1';
    const partners = [1, 5, 8];
    const acc = new Uint32Array(1000);
    for (const v of partners) applyMasks(acc, { pairwise: { roundId, owners: [{ index: v, secretKey: (keys[v] as X25519KeyPair).secretKey, partners: [3] }], publicKeys } });
    expect(acc.some((w) => w !== 0)).toBe(true);
    applyMasks(acc, { pairwise: { roundId, owners: [{ index: 3, secretKey: (keys[3] as X25519KeyPair).secretKey, partners }], publicKeys } }, { workers: 1 });
    expect(acc.every((w) => w === 0)).toBe(true);
  });

  it('a worker that fails while holding a batch costs time, not correctness: its batches are redone', () => {
    // Enough work (≈ 1,000 pairwise masks, ≈ 65 batches) that a worker, even a freshly started one, takes some.
    const s = scenario('fail', 80, 40, 25);
    const start = new Uint32Array(randomBytes(4 * 20_001).buffer);
    const want = referenceApply(start, spelledOut(s));
    let redone = 0;
    for (const afterBatches of [0, 1, 3]) {
      const acc = start.slice();
      const stats = applyMasks(acc, { direct: s.direct, pairwise: s.pairwise }, { workers: 2, injectWorkerFailure: { afterBatches } });
      expect(same(acc, want), `failure after ${afterBatches} batches`).toBe(true);
      expect(stats.failedWorkers).toBe(2);
      expect(stats.threads).toBe(1);
      redone += stats.redoneBatches;
    }
    expect(redone).toBeGreaterThan(0); // the recovery path really ran: batches taken by failed workers were redone
    // The failed workers were replaced: the next job runs on a healthy pool.
    const acc = start.slice();
    const stats = applyMasks(acc, { direct: s.direct, pairwise: s.pairwise }, { workers: 2 });
    expect(stats.failedWorkers).toBe(0);
    expect(same(acc, want)).toBe(true);
  });

  it('a low-order partner key is refused with TESSERA_ERR_SECAGG_CRYPTO on the calling thread and in the workers', () => {
    const s = scenario('low', 20, 3, 4);
    // RFC 7748 / Wycheproof x25519 "low order" public key: u = 0 gives the all-zero shared secret.
    const publicKeys = new Map(s.pairwise.publicKeys);
    const victim = s.pairwise.owners[1]?.partners[2] as number;
    publicKeys.set(victim, hexToBytes('00'.repeat(32)));
    for (const workers of [0, 2]) {
      let error: unknown;
      try {
        applyMasks(new Uint32Array(64), { direct: s.direct, pairwise: { ...s.pairwise, publicKeys } }, { workers });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TesseraError);
      expect((error as TesseraError).code).toBe('TESSERA_ERR_SECAGG_CRYPTO');
      expect((error as TesseraError).message).toMatch(/low-order/);
    }
  });

  it('refuses malformed plans before any work: a missing partner key, a client paired with itself, a short key', () => {
    const s = scenario('bad', 10, 1, 3);
    const owner = s.pairwise.owners[0] as PairwiseMasks["owners"][number];
    const run = (p: PairwiseMasks): unknown => applyMasks(new Uint32Array(8), { pairwise: p });
    expect(() => run({ ...s.pairwise, publicKeys: new Map() })).toThrow(/no public key/);
    expect(() => run({ ...s.pairwise, owners: [{ ...owner, partners: [owner.index] }] })).toThrow(/its own mask partner/);
    expect(() => run({ ...s.pairwise, owners: [{ ...owner, secretKey: new Uint8Array(31) }] })).toThrow(/32 bytes/);
  });
});
