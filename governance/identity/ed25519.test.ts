import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { SHARED_VECTORS_DIR } from '../../test/paths.ts';
import { decodeKeyText, keyIdOf, keyPairFromSeed, signDetached, verifyDetached } from './ed25519.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

describe('Ed25519 through node:crypto', () => {
  it('matches RFC 8032 §7.1 TEST 1 and TEST 2', () => {
    // RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte 0x72).
    const t1 = keyPairFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(Buffer.from(t1.publicKey).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(Buffer.from(signDetached(new Uint8Array(0), t1.seed)).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    const t2 = keyPairFromSeed(hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'));
    expect(Buffer.from(t2.publicKey).toString('hex')).toBe('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c');
    const sig2 = signDetached(hex('72'), t2.seed);
    expect(Buffer.from(sig2).toString('hex')).toBe(
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    );
    expect(verifyDetached(hex('72'), sig2, t2.publicKey)).toBe(true);
    expect(verifyDetached(hex('73'), sig2, t2.publicKey)).toBe(false);
  });

  it('gives the same keys and signatures as tweetnacl from the same seed', () => {
    for (let i = 0; i < 8; i++) {
      const seed = nacl.randomBytes(32);
      const ours = keyPairFromSeed(seed);
      const theirs = nacl.sign.keyPair.fromSeed(seed);
      expect(Buffer.from(ours.publicKey).equals(Buffer.from(theirs.publicKey))).toBe(true);
      const msg = nacl.randomBytes(100 + i);
      const sig = signDetached(msg, seed);
      expect(Buffer.from(sig).equals(Buffer.from(nacl.sign.detached(msg, theirs.secretKey)))).toBe(true);
      expect(nacl.sign.detached.verify(msg, sig, theirs.publicKey)).toBe(true);
    }
  });

  it('accepts every valid and rejects every invalid Wycheproof ed25519_test.json case', () => {
    interface Case { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }
    const file = JSON.parse(readFileSync(join(SHARED_VECTORS_DIR, 'wycheproof', 'ed25519_test.json'), 'utf8')) as {
      testGroups: Array<{ publicKey: { pk: string }; tests: Case[] }>;
    };
    let checked = 0;
    for (const group of file.testGroups) {
      for (const t of group.tests) {
        const ok = verifyDetached(hex(t.msg), hex(t.sig), hex(group.publicKey.pk));
        if (t.result !== 'acceptable') expect(ok, `tcId ${t.tcId}`).toBe(t.result === 'valid');
        checked++;
      }
    }
    expect(checked).toBe(151);
  });

  it('derives a 128-bit key id from the public key and decodes key text in base64 or hex', () => {
    const kp = keyPairFromSeed(new Uint8Array(32).fill(7));
    expect(kp.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(keyIdOf(kp.publicKey)).toBe(kp.keyId);
    const b64 = Buffer.from(kp.publicKey).toString('base64');
    expect(decodeKeyText(b64, 32)).toEqual(kp.publicKey);
    expect(decodeKeyText(Buffer.from(kp.publicKey).toString('hex'), 32)).toEqual(kp.publicKey);
    expect(decodeKeyText('not a key', 32)).toBeUndefined();
    expect(verifyDetached('x', new Uint8Array(64), new Uint8Array(31))).toBe(false);
  });
});
