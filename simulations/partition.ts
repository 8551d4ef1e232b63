/**
 * Partitioners that split one data set across simulated clients. `dirichlet:α` is the label-skew scheme of
 * Hsu, Qi & Brown 2019 ("Measuring the Effects of Non-Identical Data Distribution for Federated Visual
 * Classification"): for each class, client shares are drawn from Dir(α·1); small α gives each client few
 * classes. `quantity:β` and `feature-noise:σ` are the quantity-skew and noise-based feature-skew schemes of Li,
 * Diao, Chen & He 2022 ("Federated Learning on Non-IID Data Silos: An Experimental Study", ICDE, §III; their
 * NIID-Bench code): client sizes drawn from Dir(β·1), and an IID split whose client i (0-based, of N) adds
 * Gaussian noise of std σ·i/(N − 1) to its features. All randomness comes from the given (seeded) source, so a
 * seed reproduces the split exactly.
 */
import { TesseraError } from '../protocol/errors.ts';
import { shuffleInPlace, type RandomSource } from '../privacy/random.ts';

export type PartitionScheme = { kind: 'iid' } | { kind: 'dirichlet'; alpha: number } | { kind: 'natural' } | { kind: 'quantity'; beta: number } | { kind: 'feature-noise'; sigma: number };

const NUMBER = '([0-9]*\\.?[0-9]+(?:e-?[0-9]+)?)';

export function parsePartition(text: string): PartitionScheme {
  if (text === 'iid') return { kind: 'iid' };
  if (text === 'natural') return { kind: 'natural' };
  const m = new RegExp(`^(dirichlet|quantity|feature-noise):${NUMBER}$`).exec(text);
  const v = Number(m?.[2]);
  if (m && v > 0) {
    if (m[1] === 'dirichlet') return { kind: 'dirichlet', alpha: v };
    if (m[1] === 'quantity') return { kind: 'quantity', beta: v };
    return { kind: 'feature-noise', sigma: v };
  }
  throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--partition must be iid, natural, dirichlet:ALPHA, quantity:BETA or feature-noise:SIGMA with a value > 0, got "${text}"`);
}

/** Standard normal draw (Marsaglia polar method; Marsaglia & Bray 1964). */
function normal(rng: RandomSource): number {
  for (;;) {
    const u = 2 * rng.nextFloat() - 1;
    const v = 2 * rng.nextFloat() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

/** Gamma(shape, 1) draw: Marsaglia & Tsang 2000, with the α < 1 boost Gamma(α) = Gamma(α+1)·U^(1/α). */
export function gammaSample(rng: RandomSource, shape: number): number {
  if (shape < 1) {
    const u = rng.nextFloat() || Number.MIN_VALUE;
    return gammaSample(rng, shape + 1) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(rng);
    const v0 = 1 + c * x;
    if (v0 <= 0) continue;
    const v = v0 * v0 * v0;
    const u = rng.nextFloat();
    if (Math.log(u || Number.MIN_VALUE) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

export function dirichletSample(rng: RandomSource, alpha: number, k: number): number[] {
  const g = Array.from({ length: k }, () => gammaSample(rng, alpha));
  const sum = g.reduce((a, b) => a + b, 0);
  return sum > 0 ? g.map((v) => v / sum) : g.map(() => 1 / k);
}

/** Row indices per client, IID: a shuffled deal of all rows. */
export function partitionIid(n: number, clients: number, rng: RandomSource): number[][] {
  const idx = shuffleInPlace(rng, Array.from({ length: n }, (_, i) => i));
  const parts: number[][] = Array.from({ length: clients }, () => []);
  idx.forEach((row, i) => parts[i % clients]?.push(row));
  return parts;
}

/**
 * Row indices per client with Dirichlet label skew. Every client is guaranteed at least `minPerClient` rows
 * (redrawn otherwise, as in the reference implementation), so no simulated client is empty.
 */
export function partitionDirichlet(labels: Int32Array, classes: number, clients: number, alpha: number, rng: RandomSource, minPerClient = 10): number[][] {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((y, i) => byClass[y]?.push(i));
  const min = Math.min(minPerClient, Math.floor(labels.length / clients));
  for (let attempt = 0; attempt < 100; attempt++) {
    const parts: number[][] = Array.from({ length: clients }, () => []);
    for (const rows of byClass) {
      const shuffled = shuffleInPlace(rng, [...rows]);
      const p = dirichletSample(rng, alpha, clients);
      let start = 0;
      let acc = 0;
      p.forEach((share, c) => {
        acc += share;
        const end = c === clients - 1 ? shuffled.length : Math.round(acc * shuffled.length);
        parts[c]?.push(...shuffled.slice(start, end));
        start = end;
      });
    }
    if (parts.every((part) => part.length >= min)) return parts;
  }
  throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `dirichlet:${alpha} could not give each of ${clients} clients ${min} rows; use fewer clients or a larger alpha`);
}

/**
 * Row indices per client with quantity skew (Li et al. 2022, §III-C "quantity skew"):
 * proportions q ~ Dir(β·1) over the clients, then a shuffled deal of q_j·n rows to client j — labels stay IID,
 * sizes differ (small β: a few large clients). Redrawn until every client has `minPerClient` rows, as NIID-Bench does.
 */
export function partitionQuantity(n: number, clients: number, beta: number, rng: RandomSource, minPerClient = 10): number[][] {
  const min = Math.min(minPerClient, Math.floor(n / clients));
  for (let attempt = 0; attempt < 100; attempt++) {
    const idx = shuffleInPlace(rng, Array.from({ length: n }, (_, i) => i));
    const p = dirichletSample(rng, beta, clients);
    const parts: number[][] = [];
    let start = 0;
    let acc = 0;
    p.forEach((share, c) => {
      acc += share;
      const end = c === clients - 1 ? n : Math.round(acc * n);
      parts.push(idx.slice(start, end));
      start = end;
    });
    if (parts.every((part) => part.length >= min)) return parts;
  }
  throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `quantity:${beta} could not give each of ${clients} clients ${min} rows; use fewer clients or a larger beta`);
}

/** Std of the feature noise of client i of N under `feature-noise:σ` (NIID-Bench: σ·i/(N − 1); 0 for a lone client). */
export function featureNoiseStd(sigma: number, client: number, clients: number): number {
  return clients > 1 ? (sigma * client) / (clients - 1) : 0;
}

/** x + N(0, std²) per value, a new array (Marsaglia polar draws from the client's own seeded stream). */
export function withFeatureNoise(x: Float32Array, std: number, rng: RandomSource): Float32Array {
  const out = Float32Array.from(x);
  if (std === 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + std * normal(rng);
  return out;
}
