import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from './bytes.ts';
import { applyMasks, pairwiseMaskKey, prgWords, selfMaskKey } from './prg.ts';

describe('mask PRG (AES-256-CTR)', () => {
  it('node:crypto AES-256-CTR matches NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt)', () => {
    const key = hexToBytes('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
    const iv = hexToBytes('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    const pt = hexToBytes('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
    const c = createCipheriv('aes-256-ctr', key, iv);
    expect(bytesToHex(new Uint8Array(Buffer.concat([c.update(pt), c.final()])))).toBe(
      '601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c52b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6',
    );
  });

  it('prgWords is the AES-256-CTR keystream (zero IV) read as little-endian uint32, across chunk boundaries', () => {
    const key = new Uint8Array(32).map((_, i) => i);
    const n = 16_384 * 2 + 5;
    const ks = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n * 4));
    const words = prgWords(key, n);
    for (const i of [0, 1, 16_383, 16_384, 32_768, n - 1]) expect(words[i]).toBe(ks.readUInt32LE(4 * i));
  });

  it('adding then subtracting the same masks restores the input exactly (mod 2^32)', () => {
    const x = new Uint32Array(40_000).map((_, i) => (i * 2654435761) >>> 0);
    const acc = x.slice();
    const k1 = pairwiseMaskKey(new Uint8Array(32).fill(3), 'r1', 4, 9);
    const k2 = selfMaskKey(new Uint8Array(32).fill(5), 'r1', 4);
    const same = (a: Uint32Array, b: Uint32Array): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    applyMasks(acc, [{ key: k1, sign: 1 }, { key: k2, sign: 1 }]);
    expect(same(acc, x)).toBe(false);
    applyMasks(acc, [{ key: k2, sign: -1 }, { key: k1, sign: -1 }]);
    expect(same(acc, x)).toBe(true);
  });

  it('binds keys to the round and the pair (symmetric in the pair)', () => {
    const s = new Uint8Array(32).fill(8);
    expect(bytesToHex(pairwiseMaskKey(s, 'r', 1, 2))).toBe(bytesToHex(pairwiseMaskKey(s, 'r', 2, 1)));
    expect(bytesToHex(pairwiseMaskKey(s, 'r', 1, 2))).not.toBe(bytesToHex(pairwiseMaskKey(s, 'r', 1, 3)));
    expect(bytesToHex(pairwiseMaskKey(s, 'r', 1, 2))).not.toBe(bytesToHex(pairwiseMaskKey(s, 'r2', 1, 2)));
    expect(bytesToHex(selfMaskKey(s, 'r', 1))).not.toBe(bytesToHex(selfMaskKey(s, 'r', 2)));
  });
});
