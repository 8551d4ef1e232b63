import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { describe, expect, it } from 'vitest';
import { SHARED_VECTORS_DIR } from '../../../test/paths.ts';
import { seededRandom } from '../../random.ts';
import { bytesToHex, hexToBytes } from './bytes.ts';
import { generateX25519, x25519, x25519KeyPairFromSecret } from './x25519.ts';

interface XdhCase {
  tcId: number;
  flags: string[];
  public: string;
  private: string;
  shared: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

describe('X25519 (node:crypto)', () => {
  it('matches RFC 7748 §5.2 scalar-multiplication vectors', () => {
    // RFC 7748 §5.2, the two single-shot test vectors.
    const cases = [
      ['a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c', 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'],
      ['4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493', '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'],
    ] as const;
    for (const [k, u, out] of cases) expect(bytesToHex(x25519(hexToBytes(k), hexToBytes(u)))).toBe(out);
  });

  it('matches RFC 7748 §6.1 Diffie–Hellman example', () => {
    // RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret K.
    const alice = x25519KeyPairFromSecret(hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = x25519KeyPairFromSecret(hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(bytesToHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(bytesToHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(bytesToHex(x25519(alice.keyObject, bob.publicKey))).toBe(k);
    expect(bytesToHex(x25519(bob.keyObject, alice.publicKey))).toBe(k);
  });

  it('is byte-identical to tweetnacl (keys from the same secret, same shared secrets as nacl.scalarMult)', () => {
    const rng = seededRandom('x25519-vs-nacl');
    for (let i = 0; i < 40; i++) {
      const a = generateX25519(rng);
      const b = generateX25519(rng);
      expect(bytesToHex(a.publicKey)).toBe(bytesToHex(nacl.box.keyPair.fromSecretKey(a.secretKey).publicKey));
      expect(bytesToHex(x25519(a.keyObject, b.publicKey))).toBe(bytesToHex(nacl.scalarMult(a.secretKey, b.publicKey)));
    }
  });

  it('passes Wycheproof x25519_test.json: every valid case; acceptable cases documented', () => {
    const file = JSON.parse(readFileSync(join(SHARED_VECTORS_DIR, 'wycheproof', 'x25519_test.json'), 'utf8')) as { testGroups: Array<{ tests: XdhCase[] }> };
    let valid = 0;
    let rejectedZero = 0;
    let acceptableComputed = 0;
    for (const group of file.testGroups) {
      for (const tc of group.tests) {
        const priv = hexToBytes(tc.private);
        const pub = hexToBytes(tc.public);
        if (tc.result === 'valid') {
          expect(bytesToHex(x25519(priv, pub)), `tcId ${tc.tcId}`).toBe(tc.shared);
          valid++;
        } else if (tc.shared === '0'.repeat(64)) {
          // Acceptable, all-zero shared secret (low-order public key): we REJECT, per RFC 7748 §6.1's check,
          // because a forced zero secret would make a SecAgg mask or share key public.
          expect(() => x25519(priv, pub), `tcId ${tc.tcId}`).toThrow(/X25519/);
          rejectedZero++;
        } else {
          // Other acceptable cases (twist points, non-canonical u ≥ p, ...): we compute what RFC 7748 says,
          // the same bytes as the Wycheproof answer and as tweetnacl.
          expect(bytesToHex(x25519(priv, pub)), `tcId ${tc.tcId}`).toBe(tc.shared);
          expect(bytesToHex(nacl.scalarMult(priv, pub))).toBe(tc.shared);
          acceptableComputed++;
        }
      }
    }
    expect(valid).toBe(264);
    expect(rejectedZero + acceptableComputed).toBe(254);
    expect(rejectedZero).toBeGreaterThan(0);
  });
});
