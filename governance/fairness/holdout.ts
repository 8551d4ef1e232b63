/**
 * Each client's held-out evaluation split: deterministic from a seed (so a rerun of the job evaluates on the
 * same rows) and stratified by label and sensitive group (so every group keeps its label mix in both parts).
 * The split is not a privacy mechanism — the held-out rows never leave the client either way — so a seeded
 * generator is appropriate here. Pass a per-client seed (deriveSeed(jobSeed, clientId)) so that clients do not
 * all draw the same permutation pattern.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { type Examples, selectRows } from '../../datasets/types.ts';
import { deriveSeed, seededRandom, shuffleInPlace } from '../../privacy/random.ts';

export interface HoldoutOptions {
  /** Share of rows held out, in (0, 1). */
  fraction: number;
  seed: string | number;
  /** Sensitive attributes to stratify by, besides the label. Default: every attribute in examples.sensitive. */
  strataAttributes?: readonly string[];
}

export interface HoldoutSplit {
  train: Examples;
  heldOut: Examples;
  /** Row indices into the input, ascending. */
  trainIndices: number[];
  heldOutIndices: number[];
}

const KEY_SEPARATOR = '\u0000';

/**
 * Splits rows into train and held-out parts. The held-out total is round(fraction · n); it is shared among
 * the strata (label × group values) in proportion to their sizes by the largest-remainder method (Hamilton),
 * so that each stratum gets ⌊fraction · size⌋ or one more, and the total is exact. Within a stratum the rows
 * are chosen by a Fisher–Yates shuffle from a stream seeded by (seed, stratum), so one stratum's choice does
 * not depend on the others.
 */
export function holdoutSplit(examples: Examples, options: HoldoutOptions): HoldoutSplit {
  const { fraction, seed } = options;
  if (!(fraction > 0 && fraction < 1)) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', `held-out fraction must be in (0, 1), got ${fraction}`);
  const attrs = options.strataAttributes ?? Object.keys(examples.sensitive);
  const columns = attrs.map((a) => {
    const column = examples.sensitive[a];
    if (column === undefined) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', `cannot stratify by "${a}": the examples have no such sensitive attribute`);
    return column;
  });
  const strata = new Map<string, number[]>();
  for (let r = 0; r < examples.n; r++) {
    const key = [String(examples.y[r]), ...columns.map((c) => c[r] ?? '')].join(KEY_SEPARATOR);
    const rows = strata.get(key);
    if (rows) rows.push(r);
    else strata.set(key, [r]);
  }
  const keys = [...strata.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const target = Math.round(fraction * examples.n);
  const quotas = keys.map((key) => {
    const exact = fraction * (strata.get(key) as number[]).length;
    return { key, take: Math.floor(exact), remainder: exact - Math.floor(exact) };
  });
  let left = target - quotas.reduce((s, q) => s + q.take, 0);
  // Largest remainders first; ties broken by stratum key order (stable sort) so the result is deterministic.
  for (const q of [...quotas].sort((a, b) => b.remainder - a.remainder)) {
    if (left <= 0) break;
    q.take += 1;
    left -= 1;
  }
  const heldOut: number[] = [];
  for (const q of quotas) {
    const rows = [...(strata.get(q.key) as number[])];
    shuffleInPlace(seededRandom(deriveSeed(seed, 'holdout', q.key)), rows);
    heldOut.push(...rows.slice(0, q.take));
  }
  heldOut.sort((a, b) => a - b);
  const isHeldOut = new Uint8Array(examples.n);
  for (const r of heldOut) isHeldOut[r] = 1;
  const train: number[] = [];
  for (let r = 0; r < examples.n; r++) if (isHeldOut[r] === 0) train.push(r);
  return { train: selectRows(examples, train), heldOut: selectRows(examples, heldOut), trainIndices: train, heldOutIndices: heldOut };
}
