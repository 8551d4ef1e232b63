/**
 * The empirical privacy audit of a simulation (issue 19 item 3): one-shot canary auditing after Andrew, Kairouz,
 * Oh, Oprea, McMahan & Suriyakumar, "One-shot Empirical Privacy Estimation for Federated Learning", ICLR 2024
 * (Alg. 2). k canary clients take part like any other client — sampled, clipped and noised by the same code —
 * but each submits a fixed random direction c_i instead of its trained update. After training, the cosine
 * between the final model change Δ = w_T − w_0 and each inserted canary is compared with the cosine to canaries
 * that were never inserted (fresh random directions, ≈ N(0, 1/d) in d dimensions). Gaussians fitted to the two
 * sets of cosines give an estimate of the ε of the whole training run at δ: the ε of the Gaussian mechanism that
 * tells N(μ₀, s²) from N(μ₁, s²) (analytic Gaussian mechanism, Balle & Wang 2018, sensitivity μ₁ − μ₀). One
 * variance s², estimated from the held-out canaries: the noise on a cosine is the same whether the canary was
 * inserted or not, and a separate variance fitted to a few dozen inserted canaries would let its sampling error
 * decide the ε through the tails (the privacy loss of two Gaussians with different variances is unbounded). It
 * is an empirical estimate of a LOWER bound, not a bound the accountant could use: a DP run should show one below
 * the accountant's ε, a non-private run a large one. The interval is a 95 % percentile bootstrap over canaries.
 *
 * Simulations only (it needs the final model and controls some clients); the seeded generator is fine here.
 */
import type { ClientMod } from '../client/mods/mod.ts';
import { analyticGaussianEpsilon } from '../privacy/accountant/index.ts';
import type { Examples } from '../datasets/types.ts';
import { selectRows } from '../datasets/types.ts';
import type { RandomSource } from '../privacy/random.ts';
import type { Interval } from './membership-inference.ts';

export interface PrivacyAudit {
  readonly method: 'one-shot canaries (Andrew et al., ICLR 2024)';
  readonly canaries: number;
  readonly heldOutCanaries: number;
  readonly dimension: number;
  readonly insertedCosine: { readonly mean: number; readonly std: number };
  readonly heldOutCosine: { readonly mean: number; readonly std: number };
  readonly delta: number;
  /** The empirical ε estimate at δ (0 when the two fits cannot be told apart at δ). */
  readonly epsilonLowerBound: number;
  readonly epsilonInterval95: Interval;
}

/** A uniformly random unit vector (normalised standard Gaussian; Box–Muller on the simulation's generator). */
export function randomDirection(dim: number, rng: RandomSource): Float32Array {
  const v = new Float64Array(dim);
  for (let i = 0; i < dim; i += 2) {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    v[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < dim) v[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  return Float32Array.from(v, (x) => x / norm);
}

function norm2(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * The canary client's mod: it replaces the trained update with its direction before the DP mod clips and noises
 * it like any other update. The direction's length: just above the clip norm C under DP (so it is clipped to
 * exactly C, the worst case the accountant assumes), otherwise the length of the update the canary trained, so
 * that it weighs like a real client's.
 */
export function canaryMod(direction: Float32Array): ClientMod {
  return {
    name: 'privacy-audit-canary',
    transformUpdate(update, ctx) {
      const dp = ctx.task.job.dp;
      const length = dp.enabled ? dp.clipNorm * 1.0001 : norm2(update);
      return { update: Float32Array.from(direction, (x) => x * length) };
    },
  };
}

/**
 * The canary's training data: under DP (uniform weighting) one row is enough, because the update is replaced;
 * otherwise a partition of the size of a real client's, so that example weighting gives it a client's weight.
 */
export function canaryData(source: Examples, rows: number): Examples {
  return selectRows(source, Array.from({ length: Math.min(rows, source.n) }, (_, i) => i));
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function fit(values: ArrayLike<number>): { mean: number; std: number } {
  let m = 0;
  for (let i = 0; i < values.length; i++) m += values[i] as number;
  m /= values.length;
  let v = 0;
  for (let i = 0; i < values.length; i++) v += ((values[i] as number) - m) ** 2;
  return { mean: m, std: Math.sqrt(v / Math.max(1, values.length - 1)) };
}

/** ε of telling N(μ₀, s²) from N(μ₁, s²) at δ: the analytic Gaussian mechanism with σ = s/|μ₁ − μ₀|. */
function shiftEpsilon(inserted: { mean: number }, heldOut: { mean: number; std: number }, delta: number): number {
  const shift = Math.abs(inserted.mean - heldOut.mean);
  if (shift === 0) return 0;
  if (heldOut.std === 0) return Infinity;
  return analyticGaussianEpsilon({ sigma: heldOut.std / shift, delta });
}

export function auditFromCosines(inserted: Float64Array, heldOut: Float64Array, dimension: number, delta: number, rng: RandomSource): PrivacyAudit {
  const fi = fit(inserted);
  const fo = fit(heldOut);
  const point = shiftEpsilon(fi, fo, delta);
  const boots: number[] = [];
  const draw = (v: Float64Array): Float64Array => Float64Array.from(v, () => v[Math.floor(rng.nextFloat() * v.length)] as number);
  for (let b = 0; b < 200; b++) boots.push(shiftEpsilon(fit(draw(inserted)), fit(draw(heldOut)), delta));
  boots.sort((x, y) => x - y);
  const at = (p: number): number => boots[Math.min(boots.length - 1, Math.floor(p * (boots.length - 1)))] as number;
  return {
    method: 'one-shot canaries (Andrew et al., ICLR 2024)',
    canaries: inserted.length,
    heldOutCanaries: heldOut.length,
    dimension,
    insertedCosine: fi,
    heldOutCosine: fo,
    delta,
    epsilonLowerBound: point,
    epsilonInterval95: { low: at(0.025), high: at(0.975) },
  };
}

/** Cosines of the model change with the inserted canaries and with `heldOut` fresh directions. */
export function canaryCosines(change: Float32Array, inserted: readonly Float32Array[], heldOut: number, rng: RandomSource): { inserted: Float64Array; heldOut: Float64Array } {
  const out = new Float64Array(heldOut);
  for (let i = 0; i < heldOut; i++) out[i] = cosine(change, randomDirection(change.length, rng));
  return { inserted: Float64Array.from(inserted, (c) => cosine(change, c)), heldOut: out };
}
