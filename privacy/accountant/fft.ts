/**
 * Linear convolution of two non-negative vectors by the fast Fourier transform, for composing privacy-loss
 * distributions (the losses of independent rounds add, so their distributions convolve — Koskela, Jälkö &
 * Honkela 2020). An iterative radix-2 Cooley–Tukey transform on Float64Arrays; a direct sum is used when one
 * side is short, where it is both faster and exact up to rounding of each product.
 *
 * The FFT's rounding error is bounded by Higham, "Accuracy and Stability of Numerical Algorithms" (2nd ed.,
 * 2002), Thm. 24.2: ‖ŷ − y‖₂ ≤ ‖y‖₂·log₂N·η/(1 − log₂N·η) with η = u + γ₄(√2 + u). `convolutionErrorBound`
 * turns that into a bound on the ℓ₁ error of the convolution of two probability vectors, which the accountant
 * adds to the mass it counts against δ, so a rounding error can never make its ε smaller than the truth.
 */

const U = 2 ** -53;

/**
 * Bound on Σ_{i<m} |ĉ_i − c_i| for the first m outputs of c = a ∗ b computed through FFTs of length n (a power of
 * 2), where ‖a‖₁, ‖b‖₁ ≤ 1 and a2, b2 are ‖a‖₂, ‖b‖₂. With ρ the relative ℓ₂ error of one transform (Higham Thm.
 * 24.2) and ‖A‖_∞ ≤ ‖a‖₁ ≤ 1 for A = FFT(a): the products carry ℓ₂ error ≤ ρ√n(a2 + b2) + 3u√n·min(a2, b2),
 * the normalised inverse maps ℓ₂ error e to ≤ e/√n plus its own ρ·√n·min(a2, b2)/√n, and ℓ₁ ≤ √m·ℓ₂ on m entries.
 * The constant 2 covers the second-order terms with room to spare.
 */
export function convolutionErrorBound(n: number, m: number, a2: number, b2: number): number {
  const log2n = Math.log2(n);
  const gamma4 = (4 * U) / (1 - 4 * U);
  const eta = U + gamma4 * (Math.SQRT2 + U);
  const rho = (log2n * eta) / (1 - log2n * eta);
  const l2 = rho * (a2 + b2) + (rho + 3 * U) * Math.min(a2, b2);
  return 2 * Math.sqrt(m) * l2;
}

function norm2(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  return Math.sqrt(s);
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * In-place iterative radix-2 FFT (inverse when `inverse`), unnormalised. Exported for the independent test
 * accountant (test/support/pld.ts), whose independence lies in its discretisation, not in the transform.
 */
export function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i] as number;
      re[i] = re[j] as number;
      re[j] = tr;
      const ti = im[i] as number;
      im[i] = im[j] as number;
      im[j] = ti;
    }
  }
  const [cosT, sinT] = twiddles(n);
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len *= 2) {
    const half = len / 2;
    const stride = n / len; // twiddle k of this stage is e^{∓2πik/len} = table entry k·stride
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b] as number;
        const xi = im[b] as number;
        const cr = cosT[k * stride] as number;
        const ci = sign * (sinT[k * stride] as number);
        const tr = xr * cr - xi * ci;
        const ti = xr * ci + xi * cr;
        const ur = re[a] as number;
        const ui = im[a] as number;
        re[a] = ur + tr;
        im[a] = ui + ti;
        re[b] = ur - tr;
        im[b] = ui - ti;
      }
    }
  }
}

// Twiddle tables cos(2πk/n), sin(2πk/n), k < n/2, each computed directly (not by recurrence), which keeps the
// error bound above; kept for the last few sizes because composition reuses the same lengths.
const twiddleCache = new Map<number, [Float64Array, Float64Array]>();

function twiddles(n: number): [Float64Array, Float64Array] {
  const hit = twiddleCache.get(n);
  if (hit) return hit;
  const c = new Float64Array(n / 2);
  const s = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    c[k] = Math.cos((2 * Math.PI * k) / n);
    s[k] = Math.sin((2 * Math.PI * k) / n);
  }
  if (twiddleCache.size >= 4) twiddleCache.delete(twiddleCache.keys().next().value as number);
  twiddleCache.set(n, [c, s]);
  return [c, s];
}

export interface Convolution {
  readonly values: Float64Array;
  /** Bound on the ℓ₁ rounding error of `values` (0 for the direct sum, whose error is far below any δ). */
  readonly errorBound: number;
}

/** a ∗ b, length a.length + b.length − 1; negative rounding residue clamped to 0. */
export function convolve(a: Float64Array, b: Float64Array): Convolution {
  const m = a.length + b.length - 1;
  if (Math.min(a.length, b.length) <= 64) {
    const out = new Float64Array(m);
    for (let i = 0; i < a.length; i++) {
      const ai = a[i] as number;
      if (ai === 0) continue;
      for (let j = 0; j < b.length; j++) out[i + j] = (out[i + j] as number) + ai * (b[j] as number);
    }
    return { values: out, errorBound: 0 };
  }
  const n = nextPow2(m);
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  const br = new Float64Array(n);
  const bi = new Float64Array(n);
  ar.set(a);
  fft(ar, ai, false);
  if (a === b) {
    br.set(ar);
    bi.set(ai);
  } else {
    br.set(b);
    fft(br, bi, false);
  }
  for (let k = 0; k < n; k++) {
    const r = (ar[k] as number) * (br[k] as number) - (ai[k] as number) * (bi[k] as number);
    const i = (ar[k] as number) * (bi[k] as number) + (ai[k] as number) * (br[k] as number);
    ar[k] = r;
    ai[k] = i;
  }
  fft(ar, ai, true);
  const out = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const v = (ar[k] as number) / n;
    out[k] = v > 0 ? v : 0;
  }
  return { values: out, errorBound: convolutionErrorBound(n, m, norm2(a), norm2(b)) };
}
