import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_VECTORS_DIR } from '../../../test/paths.ts';
import { aeadOpen, aeadSeal } from './aead.ts';
import { bytesToHex, hexToBytes } from './bytes.ts';
import { hkdfSha256 } from './hkdf.ts';

function wycheproof<T>(name: string): Array<{ group: Record<string, unknown>; tc: T }> {
  const file = JSON.parse(readFileSync(join(SHARED_VECTORS_DIR, 'wycheproof', name), 'utf8')) as { testGroups: Array<Record<string, unknown> & { tests: T[] }> };
  return file.testGroups.flatMap((group) => group.tests.map((tc) => ({ group, tc })));
}

describe('HKDF-SHA256', () => {
  it('matches RFC 5869 Appendix A.1 (test case 1) and A.3 (zero-length salt and info)', () => {
    const okm1 = hkdfSha256(hexToBytes('0b'.repeat(22)), hexToBytes('000102030405060708090a0b0c'), hexToBytes('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(bytesToHex(okm1)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    const okm3 = hkdfSha256(hexToBytes('0b'.repeat(22)), new Uint8Array(0), new Uint8Array(0), 42);
    expect(bytesToHex(okm3)).toBe('8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });

  it('passes Wycheproof hkdf_sha256_test.json (valid outputs; sizes above 255·32 refused)', () => {
    const cases = wycheproof<{ tcId: number; ikm: string; salt: string; info: string; size: number; okm: string; result: string }>('hkdf_sha256_test.json');
    for (const { tc } of cases) {
      const run = (): Uint8Array => hkdfSha256(hexToBytes(tc.ikm), hexToBytes(tc.salt), hexToBytes(tc.info), tc.size);
      if (tc.result === 'valid') expect(bytesToHex(run()), `tcId ${tc.tcId}`).toBe(tc.okm);
      else expect(run, `tcId ${tc.tcId}`).toThrow(/HKDF/);
    }
    expect(cases.length).toBe(86);
  });
});

describe('ChaCha20-Poly1305 (RFC 8439)', () => {
  it('matches RFC 8439 §2.8.2 (the AEAD example, also Wycheproof tcId 1)', () => {
    const key = hexToBytes('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hexToBytes('070000004041424344454647');
    const aad = hexToBytes('50515253c0c1c2c3c4c5c6c7');
    const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const sealed = aeadSeal(key, nonce, pt, aad);
    expect(bytesToHex(sealed.subarray(sealed.length - 16))).toBe('1ae10b594f09e26a7e902ecbd0600691');
    expect(bytesToHex(sealed.subarray(0, 16))).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    expect(new TextDecoder().decode(aeadOpen(key, nonce, sealed, aad))).toBe(new TextDecoder().decode(pt));
  });

  it('passes Wycheproof chacha20_poly1305_test.json: valid cases seal and open, invalid ones are refused', () => {
    const cases = wycheproof<{ tcId: number; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: string }>('chacha20_poly1305_test.json');
    let valid = 0;
    let invalid = 0;
    for (const { tc } of cases) {
      const key = hexToBytes(tc.key);
      const iv = hexToBytes(tc.iv);
      const aad = hexToBytes(tc.aad);
      const sealed = hexToBytes(tc.ct + tc.tag);
      if (tc.result === 'valid') {
        expect(bytesToHex(aeadSeal(key, iv, hexToBytes(tc.msg), aad)), `tcId ${tc.tcId}`).toBe(tc.ct + tc.tag);
        expect(bytesToHex(aeadOpen(key, iv, sealed, aad)), `tcId ${tc.tcId}`).toBe(tc.msg);
        valid++;
      } else {
        expect(() => aeadOpen(key, iv, sealed, aad), `tcId ${tc.tcId}`).toThrow();
        invalid++;
      }
    }
    expect([valid, invalid]).toEqual([256, 69]);
  });

  it('refuses a flipped ciphertext bit, a flipped tag bit and different associated data', () => {
    const key = new Uint8Array(32).fill(1);
    const nonce = new Uint8Array(12).fill(2);
    const sealed = aeadSeal(key, nonce, new Uint8Array([9, 9, 9]), new Uint8Array([1]));
    for (const i of [0, sealed.length - 1]) {
      const t = sealed.slice();
      t[i] = (t[i] as number) ^ 0x80;
      expect(() => aeadOpen(key, nonce, t, new Uint8Array([1]))).toThrow(/authentication/);
    }
    expect(() => aeadOpen(key, nonce, sealed, new Uint8Array([2]))).toThrow(/authentication/);
  });
});
