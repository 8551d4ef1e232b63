/**
 * The privacy-loss-distribution (PLD) accountant for the Poisson-subsampled Gaussian mechanism under add/remove-
 * one neighbours. Independent rounds' losses add, so their discrete PLDs convolve (Koskela, Jälkö & Honkela 2020,
 * "Computing Tight Differential Privacy Guarantees Using FFT", AISTATS; Sommer, Meiser & Mohammadi 2019,
 * "Privacy Loss Classes", PoPETs); δ(ε) = μ_∞ + Σ_{ℓ > ε} μ_ℓ·(1 − e^{ε − ℓ}) is read off the composition, and
 * ε for a target δ is the smallest ε ≥ 0 with δ(ε) ≤ δ. It is tighter than RDP with the improved conversion
 * (the conversion loses a factor the PLD does not), and — by the pessimistic construction in pld-gaussian.ts,
 * pessimistic truncation here and FFT rounding bounds charged to +∞ — never below the true ε.
 *
 * Each truncation moves the lowest tail mass (≤ tailMass) UP to the first kept loss and the highest tail mass
 * (≤ tailMass) to +∞; both only raise δ(ε) for every ε.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { convolve } from './fft.ts';
import type { DiscretePld, PldDirection, PldGridOptions } from './pld-gaussian.ts';
import { subsampledGaussianPld } from './pld-gaussian.ts';

export interface PldOptions {
  /** Loss grid spacing (default 1e-4, dp_accounting's PLDAccountant default). */
  readonly valueDiscretizationInterval?: number;
  /** Mass truncated at each end per construction or composition step (default 1e-15). */
  readonly tailMass?: number;
}

export interface PldRoundGroup {
  readonly samplingRate: number;
  readonly noiseMultiplier: number;
  readonly steps: number;
}

const DEFAULT_H = 1e-4;
const DEFAULT_TAIL = 1e-15;

function truncate(mass: Float64Array, offset: number, infinity: number, h: number, tailMass: number): DiscretePld {
  let first = 0;
  let low = 0;
  while (first < mass.length - 1 && low + (mass[first] as number) <= tailMass) low += mass[first++] as number;
  let last = mass.length - 1;
  let high = 0;
  while (last > first && high + (mass[last] as number) <= tailMass) high += mass[last--] as number;
  const kept = mass.slice(first, last + 1);
  kept[0] = (kept[0] as number) + low;
  return { mass: kept, offset: offset + first, h, infinity: infinity + high };
}

/** The PLD of two independent mechanisms run one after the other (their losses add). */
export function composePld(a: DiscretePld, b: DiscretePld, tailMass = DEFAULT_TAIL): DiscretePld {
  if (a.h !== b.h) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `cannot compose PLDs on different grids (${a.h} and ${b.h})`);
  const { values, errorBound } = convolve(a.mass, b.mass);
  // P(either round's loss is +∞) = 1 − (1 − a)(1 − b) ≤ a + b; plus the FFT's ℓ₁ rounding bound.
  const infinity = a.infinity + b.infinity + errorBound;
  return truncate(values, a.offset + b.offset, infinity, a.h, tailMass);
}

/** The T-fold composition by repeated squaring (⌊log₂T⌋ squarings, popcount(T) − 1 products). */
export function selfComposePld(p: DiscretePld, steps: number, tailMass = DEFAULT_TAIL): DiscretePld | null {
  if (!Number.isInteger(steps) || steps < 0) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `steps must be an integer ≥ 0, got ${steps}`);
  let result: DiscretePld | null = null;
  let base = p;
  let t = steps;
  while (t > 0) {
    if (t & 1) result = result === null ? base : composePld(result, base, tailMass);
    t = Math.floor(t / 2);
    if (t > 0) base = composePld(base, base, tailMass);
  }
  return result;
}

/** δ(ε) of a discrete PLD. */
export function pldDelta(p: DiscretePld, epsilon: number): number {
  let d = p.infinity;
  for (let i = p.mass.length - 1; i >= 0; i--) {
    const l = (p.offset + i) * p.h;
    if (l <= epsilon) break;
    d += (p.mass[i] as number) * -Math.expm1(epsilon - l);
  }
  return d;
}

/** The smallest ε ≥ 0 with δ(ε) ≤ delta (∞ when the mass at +∞ alone exceeds delta). */
export function pldEpsilon(p: DiscretePld, delta: number): number {
  if (p.infinity > delta) return Infinity;
  // Walk down the grid keeping A = Σ_{j ≥ i} μ_j and B = Σ_{j ≥ i} μ_j e^{−ℓ_j}; on [ℓ_{i−1}, ℓ_i) the curve is
  // δ(ε) = μ_∞ + A − e^ε·B, which is solved for e^ε where it crosses delta.
  let a = 0;
  let b = 0;
  for (let i = p.mass.length - 1; i >= 0; i--) {
    const l = (p.offset + i) * p.h;
    if (l <= 0) break;
    const m = p.mass[i] as number;
    a += m;
    b += m * Math.exp(-l);
    const left = Math.max(0, (p.offset + i - 1) * p.h);
    const atLeft = p.infinity + a - Math.exp(left) * b;
    if (atLeft > delta) return Math.max(left, Math.log((p.infinity + a - delta) / b));
  }
  return 0;
}

function groupPld(direction: PldDirection, g: PldRoundGroup, grid: PldGridOptions): DiscretePld | null {
  if (!(g.samplingRate > 0 && g.samplingRate <= 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `sampling rate must be in (0, 1], got ${g.samplingRate}`);
  if (!(g.noiseMultiplier > 0) || !Number.isFinite(g.noiseMultiplier)) {
    throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `the PLD accountant needs a finite noise multiplier > 0, got ${g.noiseMultiplier}`);
  }
  return selfComposePld(subsampledGaussianPld(direction, g.samplingRate, g.noiseMultiplier, grid), g.steps, grid.tailMass);
}

// Composed PLDs kept for the last few schedules: the ledger asks every round for "all rounds so far plus one",
// which is then one convolution with the cached schedule instead of a fresh T-fold composition.
const cache = new Map<string, DiscretePld | null>();
const CACHE_LIMIT = 16;

const keyOf = (direction: PldDirection, groups: readonly PldRoundGroup[], grid: PldGridOptions): string =>
  JSON.stringify([direction, grid.h, grid.tailMass, groups.filter((g) => g.steps > 0).map((g) => [g.samplingRate, g.noiseMultiplier, g.steps])]);

function remember(key: string, p: DiscretePld | null): DiscretePld | null {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, p);
  return p;
}

/** The composed PLD of all rounds, for one direction. */
export function roundsPld(direction: PldDirection, groups: readonly PldRoundGroup[], options: PldOptions = {}): DiscretePld | null {
  const grid = { h: options.valueDiscretizationInterval ?? DEFAULT_H, tailMass: options.tailMass ?? DEFAULT_TAIL };
  const key = keyOf(direction, groups, grid);
  if (cache.has(key)) return cache.get(key) ?? null;
  // One round fewer in some group already composed? Then this schedule is that one plus a single round.
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as PldRoundGroup;
    if (g.steps < 1) continue;
    const fewer = groups.map((x, j) => (j === i ? { ...x, steps: x.steps - 1 } : x));
    const prior = cache.get(keyOf(direction, fewer, grid));
    if (prior === undefined) continue;
    const one = roundsPld(direction, [{ ...g, steps: 1 }], options);
    if (one === null) continue;
    return remember(key, prior === null ? one : composePld(prior, one, grid.tailMass));
  }
  let total: DiscretePld | null = null;
  for (const g of groups) {
    if (g.steps === 0) continue;
    const p = groupPld(direction, g, grid);
    if (p === null) continue;
    total = total === null ? p : composePld(total, p, grid.tailMass);
  }
  return remember(key, total);
}

/** ε at δ after the rounds, the larger of the add and remove directions. */
export function pldEpsilonForRounds(groups: readonly PldRoundGroup[], delta: number, options: PldOptions = {}): number {
  if (!(delta > 0 && delta < 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `delta must be in (0, 1), got ${delta}`);
  // No noise: no finite guarantee (the RDP accountant says the same).
  if (groups.some((g) => g.steps > 0 && g.noiseMultiplier === 0)) return Infinity;
  let worst = 0;
  for (const direction of ['remove', 'add'] as const) {
    const p = roundsPld(direction, groups, options);
    if (p === null) return 0;
    worst = Math.max(worst, pldEpsilon(p, delta));
  }
  return worst;
}
