/**
 * Arithmetic in the binary field GF(2^m), by log/antilog tables. Shamir sharing (shamir.ts) runs over
 * GF(2^16) in production — 65 535 non-zero evaluation points, so every client of a round up to 65 535 clients
 * gets its own x-coordinate — and over GF(2^4) / GF(2^8) in tests, where the secrecy of t−1 shares can be
 * checked exhaustively and shares can be cross-checked against the audited `shamir-secret-sharing` library.
 */

export interface BinaryField {
  readonly bits: number;
  /** Field size 2^m. */
  readonly size: number;
  mul(a: number, b: number): number;
  /** a / b; throws on b = 0. */
  div(a: number, b: number): number;
  /** Multiplicative inverse; throws on 0. */
  inv(a: number): number;
  /**
   * The tables behind mul: exp[i] = g^i for 0 ≤ i < 2·order (doubled so a sum of two logs needs no reduction),
   * log[a] = i with g^i = a (log[0] = −1). Hot loops (shamir.ts interpolation) work in the log domain with them.
   */
  readonly exp: Uint16Array;
  readonly log: Int32Array;
  /** Order of the multiplicative group, 2^m − 1. */
  readonly order: number;
}

/** Carry-less multiply of a and b reduced modulo the field polynomial (the slow path used to build tables). */
function slowMul(a: number, b: number, bits: number, poly: number): number {
  let r = 0;
  const top = 1 << bits;
  while (b > 0) {
    if (b & 1) r ^= a;
    b >>>= 1;
    a <<= 1;
    if (a & top) a ^= poly;
  }
  return r;
}

/**
 * Builds GF(2^bits) from an irreducible polynomial `poly` (bit i = coefficient of x^i, including x^bits) and a
 * generator of the multiplicative group. Refuses a (poly, generator) pair whose powers do not cover all
 * 2^bits − 1 non-zero elements, so a typo in a constant cannot silently give a ring with zero divisors.
 */
export function binaryField(bits: number, poly: number, generator: number): BinaryField {
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new RangeError(`binaryField: bits must be in [2, 16], got ${bits}`);
  const size = 1 << bits;
  const order = size - 1;
  const exp = new Uint16Array(2 * order);
  const log = new Int32Array(size).fill(-1);
  let x = 1;
  for (let i = 0; i < order; i++) {
    if (log[x] !== -1) throw new RangeError(`binaryField: generator ${generator} has order ${i}, not ${order}, modulo polynomial 0x${poly.toString(16)}`);
    exp[i] = x;
    exp[i + order] = x;
    log[x] = i;
    x = slowMul(x, generator, bits, poly);
  }
  if (x !== 1) throw new RangeError(`binaryField: 0x${poly.toString(16)} with generator ${generator} does not define GF(2^${bits})`);

  const check = (a: number): void => {
    if (!Number.isInteger(a) || a < 0 || a >= size) throw new RangeError(`GF(2^${bits}): ${a} is not a field element`);
  };
  const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : (exp[(log[a] as number) + (log[b] as number)] as number));
  const inv = (a: number): number => {
    check(a);
    if (a === 0) throw new RangeError(`GF(2^${bits}): 0 has no inverse`);
    return exp[(order - (log[a] as number)) % order] as number;
  };
  return {
    bits,
    size,
    mul,
    inv,
    div: (a, b) => mul(a, inv(b)),
    exp,
    log,
    order,
  };
}

/** GF(2^16) modulo x^16 + x^12 + x^3 + x + 1 (0x1100B), generator x; primitivity is checked at load. */
export const GF65536 = binaryField(16, 0x1100b, 2);
/** GF(2^8) modulo the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B), generator 0x03 (FIPS 197 §4.2). */
export const GF256 = binaryField(8, 0x11b, 3);
/** GF(2^4) modulo x^4 + x + 1, for exhaustive secrecy tests. */
export const GF16 = binaryField(4, 0x13, 2);
