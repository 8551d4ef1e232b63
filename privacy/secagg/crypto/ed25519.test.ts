import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { SHARED_VECTORS_DIR } from '../../../test/paths.ts';
import { seededRandom } from '../../random.ts';
import { bytesToHex, hexToBytes } from './bytes.ts';
import { ed25519FromSeed, ed25519Verify } from './ed25519.ts';

describe('Ed25519 (node:crypto)', () => {
  it('matches RFC 8032 §7.1 TEST 1–3', () => {
    // RFC 8032 §7.1 "Test Vectors for Ed25519", TEST 1, 2, 3: secret key (seed), public key, message, signature.
    const cases = [
      ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
      ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
      ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
    ] as const;
    for (const [seed, pk, msg, sig] of cases) {
      const id = ed25519FromSeed(hexToBytes(seed));
      expect(bytesToHex(id.publicKey)).toBe(pk);
      expect(bytesToHex(id.sign(hexToBytes(msg)))).toBe(sig);
      expect(ed25519Verify(hexToBytes(pk), hexToBytes(msg), hexToBytes(sig))).toBe(true);
    }
  });

  it('is byte-identical to tweetnacl: same seed → same public key and same signature, and each verifies the other', () => {
    const rng = seededRandom('ed25519-vs-nacl');
    for (let i = 0; i < 25; i++) {
      const seed = new Uint8Array(32);
      rng.fillBytes(seed);
      const msg = new Uint8Array(i * 7);
      rng.fillBytes(msg);
      const ours = ed25519FromSeed(seed);
      const theirs = nacl.sign.keyPair.fromSeed(seed);
      expect(bytesToHex(ours.publicKey)).toBe(bytesToHex(theirs.publicKey));
      const sig = ours.sign(msg);
      expect(bytesToHex(sig)).toBe(bytesToHex(nacl.sign.detached(msg, theirs.secretKey)));
      expect(nacl.sign.detached.verify(msg, sig, theirs.publicKey)).toBe(true);
      expect(ed25519Verify(ours.publicKey, msg, nacl.sign.detached(msg, theirs.secretKey))).toBe(true);
    }
  });

  it('rejects a signature on another message, a flipped bit, and malformed inputs', () => {
    const id = ed25519FromSeed(new Uint8Array(32).fill(7));
    const msg = new Uint8Array([1, 2, 3]);
    const sig = id.sign(msg);
    expect(ed25519Verify(id.publicKey, new Uint8Array([1, 2, 4]), sig)).toBe(false);
    const flipped = sig.slice();
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(ed25519Verify(id.publicKey, msg, flipped)).toBe(false);
    expect(ed25519Verify(id.publicKey, msg, sig.subarray(0, 63))).toBe(false);
    expect(ed25519Verify(new Uint8Array(31), msg, sig)).toBe(false);
  });

  it('passes Wycheproof ed25519_test.json: accepts every valid case and rejects every invalid one', () => {
    const file = JSON.parse(readFileSync(join(SHARED_VECTORS_DIR, 'wycheproof', 'ed25519_test.json'), 'utf8')) as {
      testGroups: Array<{ publicKey: { pk: string }; tests: Array<{ tcId: number; msg: string; sig: string; result: string }> }>;
    };
    let n = 0;
    for (const group of file.testGroups) {
      const pk = hexToBytes(group.publicKey.pk);
      for (const tc of group.tests) {
        const ok = ed25519Verify(pk, hexToBytes(tc.msg), hexToBytes(tc.sig));
        expect(ok, `tcId ${tc.tcId}`).toBe(tc.result === 'valid');
        n++;
      }
    }
    expect(n).toBe(151);
  });
});
