import { combine as libCombine, split as libSplit } from 'shamir-secret-sharing';
import { describe, expect, it } from 'vitest';
import { seededRandom, shuffleInPlace } from '../random.ts';
import { bytesToHex } from './crypto/bytes.ts';
import { GF16, GF256, GF65536, binaryField, type BinaryField } from './gf2m.ts';
import { shamirCombine, shamirInterpolate, shamirInterpolator, shamirSplit } from './shamir.ts';

/**
 * An independent reference: the textbook Lagrange form λ_j(z) = Π_{m≠j} (z − x_m)/(x_j − x_m) (minus is XOR in
 * GF(2^m)), applied symbol by symbol to big-endian 16-bit (or 8-bit) words of the share values.
 */
function lagrangeReference(field: BinaryField, shares: ReadonlyArray<{ x: number; y: Uint8Array }>, z: number): Uint8Array {
  const xs = shares.map((s) => s.x);
  const lambda = xs.map((xj, j) => {
    let num = 1;
    let den = 1;
    xs.forEach((xm, m) => {
      if (m === j) return;
      num = field.mul(num, z ^ xm);
      den = field.mul(den, xm ^ xj);
    });
    return field.div(num, den);
  });
  const bytes = field.size > 256 ? 2 : 1;
  const len = (shares[0] as { y: Uint8Array }).y.length;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i += bytes) {
    let acc = 0;
    shares.forEach((s, j) => {
      const sym = bytes === 2 ? ((s.y[i] as number) << 8) | (s.y[i + 1] as number) : (s.y[i] as number);
      acc ^= field.mul(lambda[j] as number, sym);
    });
    if (bytes === 2) {
      out[i] = acc >> 8;
      out[i + 1] = acc & 0xff;
    } else out[i] = acc;
  }
  return out;
}

describe('GF(2^m)', () => {
  it('GF(2^16) and GF(2^8) are fields: every non-zero element has an inverse, multiplication distributes over XOR', () => {
    for (const f of [GF256, GF65536]) {
      for (let a = 1; a < f.size; a += f.size > 256 ? 97 : 1) expect(f.mul(a, f.inv(a))).toBe(1);
      for (const [a, b, c] of [[3, 7, 200], [255, 254, 17], [f.size - 1, 2, f.size - 2]] as const) {
        expect(f.mul(a, b ^ c)).toBe(f.mul(a, b) ^ f.mul(a, c));
      }
    }
    // FIPS 197 §4.2 worked example: {57} • {83} = {c1} in the AES field.
    expect(GF256.mul(0x57, 0x83)).toBe(0xc1);
  });

  it('refuses a polynomial/generator that does not generate the field', () => {
    expect(() => binaryField(8, 0x11b, 2)).toThrow(/order/); // x has order 51 modulo the AES polynomial
    expect(() => binaryField(4, 0x1f, 2)).toThrow(); // x^4+x^3+x^2+x+1: x has order 5
  });
});

describe('Shamir t-of-n over GF(2^16)', () => {
  const rng = seededRandom('shamir-test');
  const secret = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);

  it('any t of n shares reconstruct the secret (random subsets, several t)', () => {
    for (const [n, t] of [[5, 3], [20, 11], [100, 51], [500, 251]] as const) {
      const xs = Array.from({ length: n }, (_, i) => i + 1);
      const shares = shamirSplit({ secret, threshold: t, xs, rng });
      for (let trial = 0; trial < 3; trial++) {
        const subset = shuffleInPlace(rng, shares.slice()).slice(0, t);
        expect(bytesToHex(shamirCombine({ shares: subset }))).toBe(bytesToHex(secret));
      }
    }
  });

  it('t−1 shares give a wrong value (not the secret)', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i + 1);
    const shares = shamirSplit({ secret, threshold: 6, xs, rng });
    expect(bytesToHex(shamirCombine({ shares: shares.slice(0, 5) }))).not.toBe(bytesToHex(secret));
  });

  it('t−1 shares reveal nothing: in GF(2^4), every secret gives every (t−1)-tuple of shares equally often', () => {
    // Exhaustive check of perfect secrecy for t = 2 and t = 3: enumerate all polynomials' random coefficients
    // (16^(t−1) of them) for each secret and count the joint values of t−1 shares at fixed points.
    for (const [t, points] of [[2, [5]], [3, [1, 2]], [3, [7, 12]]] as const) {
      for (let s = 0; s < 16; s++) {
        const counts = new Map<string, number>();
        const total = 16 ** (t - 1);
        for (let c = 0; c < total; c++) {
          const coeffs = [s, c & 15, c >> 4];
          const ys = points.map((x) => {
            let acc = 0;
            for (let j = t - 1; j >= 0; j--) acc = GF16.mul(acc, x) ^ (coeffs[j] as number);
            return acc;
          });
          counts.set(ys.join(','), (counts.get(ys.join(',')) ?? 0) + 1);
        }
        // A bijection from coefficients to share tuples: each of the 16^(t−1) tuples exactly once.
        expect(counts.size).toBe(total);
        expect([...counts.values()].every((v) => v === 1)).toBe(true);
      }
    }
  });

  it('the GF(2^4) evaluation above is the one shamirSplit uses (same shares for a replayed random source)', () => {
    const xs = [1, 2, 3];
    const a = shamirSplit({ secret: new Uint8Array([9]), threshold: 2, xs, rng: seededRandom('g4'), field: GF16 });
    const c1 = seededRandom('g4').nextUint32() & 15;
    expect(a.map((s) => s.y[0])).toEqual(xs.map((x) => GF16.mul(c1, x) ^ 9));
    expect(shamirCombine({ shares: a.slice(1), field: GF16 })[0]).toBe(9);
  });

  it('in GF(2^8) it interoperates with the audited shamir-secret-sharing library both ways', async () => {
    const xs = [3, 77, 140, 201, 255];
    const ours = shamirSplit({ secret, threshold: 3, xs, rng, field: GF256 });
    // The library's share format is y ‖ x (one byte).
    const asLib = ours.map((s) => Uint8Array.from([...s.y, s.x]));
    expect(bytesToHex(await libCombine([asLib[0], asLib[2], asLib[4]] as Uint8Array[]))).toBe(bytesToHex(secret));
    const theirs = await libSplit(secret, 6, 4);
    const parsed = theirs.map((b) => ({ x: b[b.length - 1] as number, y: b.subarray(0, b.length - 1) }));
    expect(bytesToHex(shamirCombine({ shares: parsed.slice(2), field: GF256 }))).toBe(bytesToHex(secret));
  });

  it('refuses repeated or out-of-range points and bad thresholds', () => {
    expect(() => shamirSplit({ secret, threshold: 2, xs: [1, 1], rng })).toThrow(/repeats/);
    expect(() => shamirSplit({ secret, threshold: 2, xs: [0, 1], rng })).toThrow(/outside/);
    expect(() => shamirSplit({ secret, threshold: 3, xs: [1, 2], rng })).toThrow(/threshold/);
  });
});

describe('barycentric interpolator (robust reconstruction checks every other share with it)', () => {
  it('equals shamirInterpolate at 0, at every other share\'s point and at the nodes (t = 123 over GF(2^16), t = 5 over GF(2^8))', () => {
    for (const [field, t, n] of [[GF65536, 123, 160], [GF256, 5, 12]] as const) {
      const rng = seededRandom(`bary-${t}`);
      const secret = new Uint8Array(32);
      rng.fillBytes(secret);
      const xs = Array.from({ length: n }, (_, i) => i + 1);
      const shares = shamirSplit({ secret, threshold: t, xs, rng, field });
      const chosen = shuffleInPlace(rng, [...shares]).slice(0, t);
      const at = shamirInterpolator({ shares: chosen, field });
      expect(bytesToHex(at(0))).toBe(bytesToHex(secret));
      for (const z of [0, ...xs, field.size - 1]) expect(bytesToHex(at(z))).toBe(bytesToHex(lagrangeReference(field, chosen, z)));
      expect(bytesToHex(shamirInterpolate({ shares: chosen, at: 5, field }))).toBe(bytesToHex(lagrangeReference(field, chosen, 5)));
      // Every share lies on the polynomial through any t of them; a corrupted one does not.
      for (const s of shares) expect(bytesToHex(at(s.x))).toBe(bytesToHex(s.y));
      const bad = { x: (chosen[0] as { x: number }).x, y: Uint8Array.from((chosen[0] as { y: Uint8Array }).y, (b, i) => (i === 0 ? b ^ 1 : b)) };
      expect(bytesToHex(shamirInterpolator({ shares: [bad, ...chosen.slice(1)], field })(0))).not.toBe(bytesToHex(secret));
    }
  });
});
