/**
 * Shamir t-of-n secret sharing (Shamir, CACM 1979) over GF(2^m), symbol by symbol: a secret of L bytes is
 * L·8/m field symbols, each the constant term of its own random polynomial of degree t−1; share i is the
 * polynomials evaluated at x = i (i ≥ 1). Any t shares give the secret by Lagrange interpolation at 0; any t−1
 * shares are uniformly distributed whatever the secret (perfect secrecy, tested exhaustively in GF(2^4)).
 *
 * Why our own (about 100 lines) rather than `shamir-secret-sharing`: that library caps shares at 255 (GF(2^8))
 * while the full-graph SecAgg of a 500-client round needs 500; it draws coefficients from its own CSPRNG, so
 * simulations could not be reproduced from a seed; its API is async; and it picks random x-coordinates where
 * SecAgg needs x = the client's position. The GF(2^8) instance is cross-checked against that library.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';
import { GF65536, type BinaryField } from './gf2m.ts';

export interface ShamirShare {
  /** Evaluation point, 1 ≤ x < field size. */
  readonly x: number;
  /** The secret's symbols evaluated at x, in the same byte layout as the secret. */
  readonly y: Uint8Array;
}

function symbolBytes(field: BinaryField): number {
  if (field.bits !== 4 && field.bits !== 8 && field.bits !== 16) throw new RangeError('Shamir: field must be GF(2^4), GF(2^8) or GF(2^16)');
  return field.bits === 16 ? 2 : 1;
}

function readSymbols(field: BinaryField, b: Uint8Array): number[] {
  if (field.bits === 16) {
    if (b.length % 2 !== 0) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', 'Shamir over GF(2^16) needs an even number of bytes');
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 2) out.push(((b[i] as number) << 8) | (b[i + 1] as number));
    return out;
  }
  const out = Array.from(b);
  if (field.bits === 4 && out.some((v) => v > 15)) throw new RangeError('Shamir over GF(2^4): each byte must hold one 4-bit symbol');
  return out;
}

function writeSymbols(field: BinaryField, symbols: ReadonlyArray<number>): Uint8Array {
  const width = symbolBytes(field);
  const out = new Uint8Array(symbols.length * width);
  symbols.forEach((s, i) => {
    if (width === 2) {
      out[2 * i] = s >>> 8;
      out[2 * i + 1] = s & 0xff;
    } else out[i] = s;
  });
  return out;
}

function checkPoints(field: BinaryField, xs: ReadonlyArray<number>): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isInteger(x) || x < 1 || x >= field.size) throw new RangeError(`Shamir: evaluation point ${x} is outside [1, ${field.size - 1}]`);
    if (seen.has(x)) throw new RangeError(`Shamir: evaluation point ${x} repeats`);
    seen.add(x);
  }
}

/** Splits `secret` into one share per point in `xs`; any `threshold` of them reconstruct it. */
export function shamirSplit(options: { secret: Uint8Array; threshold: number; xs: ReadonlyArray<number>; rng: RandomSource; field?: BinaryField }): ShamirShare[] {
  const { secret, threshold, xs, rng } = options;
  const field = options.field ?? GF65536;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new RangeError(`Shamir: threshold must be in [1, ${xs.length}] (the number of shares), got ${threshold}`);
  }
  checkPoints(field, xs);
  const symbols = readSymbols(field, secret);
  const ys: number[][] = xs.map(() => new Array<number>(symbols.length));
  const coeffs = new Array<number>(threshold);
  const mask = field.size - 1;
  for (let s = 0; s < symbols.length; s++) {
    coeffs[0] = symbols[s] as number;
    // Uniform coefficients: field.size divides 2^32, so masking a uniform uint32 is unbiased.
    for (let j = 1; j < threshold; j++) coeffs[j] = rng.nextUint32() & mask;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i] as number;
      let acc = coeffs[threshold - 1] as number;
      for (let j = threshold - 2; j >= 0; j--) acc = field.mul(acc, x) ^ (coeffs[j] as number); // Horner
      (ys[i] as number[])[s] = acc;
    }
  }
  coeffs.fill(0);
  return xs.map((x, i) => ({ x, y: writeSymbols(field, ys[i] as number[]) }));
}

/**
 * Reconstructs the secret from exactly the shares given (pass t of them: with fewer the result is a
 * uniformly random-looking wrong value — the caller must check counts and, where it can, a commitment).
 */
export function shamirCombine(options: { shares: ReadonlyArray<ShamirShare>; field?: BinaryField }): Uint8Array {
  return shamirInterpolate({ ...options, at: 0 });
}

/**
 * The value at `at` of the polynomials through exactly the shares given (at = 0: the secret). Used to check
 * other shares against a subset that reconstructed a verified secret (a share off the polynomial is bad).
 */
export function shamirInterpolate(options: { shares: ReadonlyArray<ShamirShare>; at: number; field?: BinaryField }): Uint8Array {
  return shamirInterpolator({ shares: options.shares, ...(options.field ? { field: options.field } : {}) })(options.at);
}

/**
 * The polynomials through exactly the shares given, evaluated at many points: the barycentric form of the
 * Lagrange interpolant (Berrut & Trefethen, "Barycentric Lagrange Interpolation", SIAM Review 46(3), 2004,
 * eq. (3.3)), exact over any field: with weights w_j = 1 / Π_{m≠j} (x_j − x_m), computed once in O(t²),
 *   λ_j(z) = ℓ(z) · w_j / (z − x_j),   ℓ(z) = Π_m (z − x_m)   (z not a node; minus is XOR in GF(2^m)),
 * so each further point costs O(t) instead of the O(t²) of the Lagrange basis λ_j(z) = Π_{m≠j} (z − x_m)/(x_j − x_m). Same values as shamirInterpolate, bit for
 * bit (field arithmetic is exact); robust reconstruction checks every other revealed share this way.
 */
export function shamirInterpolator(options: { shares: ReadonlyArray<ShamirShare>; field?: BinaryField }): (at: number) => Uint8Array {
  const field = options.field ?? GF65536;
  const { shares } = options;
  if (shares.length === 0) throw new RangeError('Shamir: no shares to combine');
  const xs = shares.map((s) => s.x);
  checkPoints(field, xs);
  const len = (shares[0] as ShamirShare).y.length;
  if (shares.some((s) => s.y.length !== len)) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', 'Shamir: shares have different lengths');
  // Everything below is in the log domain (gf2m.ts tables): a product is a sum of logs, an inverse a negated
  // log, so the O(t²) weights and the O(t·symbols) evaluations are integer additions and table reads — about
  // 20× faster than calling field.mul, which robust reconstruction (every other share checked) needs at
  // n = 500. x_j ≠ x_m, so every difference below is non-zero and has a log.
  const { exp, log, order } = field;
  const t = xs.length;
  const logW = new Int32Array(t);
  for (let j = 0; j < t; j++) {
    const xj = xs[j] as number;
    let acc = 0;
    for (let m = 0; m < t; m++) if (m !== j) acc += log[xj ^ (xs[m] as number)] as number;
    logW[j] = (order - (acc % order)) % order; // log w_j = −Σ_{m≠j} log(x_j − x_m)
  }
  const ys = shares.map((s) => readSymbols(field, s.y));
  const nSymbols = (ys[0] as number[]).length;
  // log y_{j,s}, symbol-major (row s holds every share's symbol s), −1 for a zero symbol (it adds nothing).
  const logY = new Int32Array(t * nSymbols);
  ys.forEach((y, j) => y.forEach((v, s) => (logY[s * t + j] = log[v] as number)));
  const logLambda = new Int32Array(t);
  const xv = Int32Array.from(xs);
  return (at: number): Uint8Array => {
    if (!Number.isInteger(at) || at < 0 || at >= field.size) throw new RangeError(`Shamir: interpolation point ${at} is outside the field`);
    const node = xs.indexOf(at);
    if (node >= 0) return writeSymbols(field, ys[node] as number[]);
    const lg = log;
    const ex = exp;
    const ll = logLambda;
    const ly = logY;
    let logEll = 0; // log ℓ(z) = Σ_m log(z − x_m)
    for (let m = 0; m < t; m++) logEll += lg[at ^ (xv[m] as number)] as number;
    logEll %= order;
    for (let j = 0; j < t; j++) {
      // log λ_j(z) = log ℓ(z) + log w_j − log(z − x_j), reduced into [0, order)
      const l = logEll + (logW[j] as number) - (lg[at ^ (xv[j] as number)] as number);
      ll[j] = l < 0 ? l + order : l >= order ? l - order : l;
    }
    const out = new Array<number>(nSymbols);
    for (let s = 0, row = 0; s < nSymbols; s++, row += t) {
      let acc = 0;
      for (let j = 0; j < t; j++) {
        const y = ly[row + j] as number;
        if (y >= 0) acc ^= ex[(ll[j] as number) + y] as number;
      }
      out[s] = acc;
    }
    return writeSymbols(field, out);
  };
}
