/**
 * Per-group integer counts of one evaluation: the confusion matrix and calibration-bin counts for the
 * overall population, every sensitive attribute and every intersection, in the fixed layout of layout.ts.
 * Clients compute them on their held-out split; the coordinator only ever needs their element-wise sum
 * (secure aggregation sums Uint32 vectors), from which every metric in metrics.ts follows exactly.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { BIN_CELLS, CONFUSION_CELLS, SCORE_SCALE, type CountsLayout } from './layout.ts';

export interface CountsInput {
  /** True label per example: 1 = positive class, 0 = negative (e.g. Examples.y for a binary task). */
  labels: ArrayLike<number>;
  /** The model's decision per example: 1/true = predicted positive. */
  predictedPositive: ArrayLike<number | boolean>;
  /** Predicted probability of the positive class in [0, 1]; required when the layout has calibration bins. */
  scores?: ArrayLike<number>;
  /** Sensitive attribute → value per example (Examples.sensitive). */
  groups: Readonly<Record<string, readonly string[]>>;
  layout: CountsLayout;
}

export interface CalibrationBinCounts {
  examples: number;
  positives: number;
  /** Σ round(score · 1000) over the bin's examples. */
  scoreSum: number;
}

export interface GroupCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  bins: CalibrationBinCounts[];
}

export interface DecodedCounts {
  layout: CountsLayout;
  overall: GroupCounts;
  /** Grouping name (`sex`, `sex×race`) → value → counts, every layout value present (zeros included). */
  groupings: Record<string, Record<string, GroupCounts>>;
}

function invalid(message: string, details?: Record<string, unknown>): TesseraError {
  return new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', message, details === undefined ? undefined : { details });
}

function asBinary(v: number | boolean | undefined, what: string, row: number): 0 | 1 {
  if (v === true || v === 1) return 1;
  if (v === false || v === 0) return 0;
  throw invalid(`${what} of example ${row} must be 0 or 1, got ${String(v)}`, { row });
}

/** Block index of every example within each grouping, validated against the layout's allowed values. */
function groupBlocks(input: CountsInput, n: number): Int32Array[] {
  const { layout, groups } = input;
  const valueIndex = layout.attributes.map((a) => {
    const column = groups[a.name];
    if (column === undefined) throw invalid(`no group values for sensitive attribute "${a.name}"`);
    if (column.length !== n) throw invalid(`group column "${a.name}" has ${column.length} values for ${n} examples`);
    const index = new Map(a.values.map((v, i) => [v, i]));
    const out = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const v = column[r] as string;
      const i = index.get(v);
      if (i === undefined) throw invalid(`example ${r}: value "${v}" of "${a.name}" is not one of the declared values (${a.values.join(', ')})`, { row: r, attribute: a.name });
      out[r] = i;
    }
    return out;
  });
  const position = new Map(layout.attributes.map((a, i) => [a.name, i]));
  return layout.groupings.map((g) => {
    const parts = g.attributes.map((name) => position.get(name) as number);
    const out = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      // Mixed-radix index over the Cartesian product, first attribute most significant (as in layout.ts).
      let idx = 0;
      for (const p of parts) idx = idx * (layout.attributes[p] as { values: readonly string[] }).values.length + (valueIndex[p] as Int32Array)[r]!;
      out[r] = g.firstBlock + idx;
    }
    return out;
  });
}

/** Counts of one evaluation in the layout's fixed order. Throws TESSERA_ERR_FAIRNESS_INPUT on bad input. */
export function countsFromPredictions(input: CountsInput): Uint32Array {
  const { labels, predictedPositive, scores, layout } = input;
  const n = labels.length;
  if (predictedPositive.length !== n) throw invalid(`${predictedPositive.length} predictions for ${n} labels`);
  const B = layout.calibrationBins;
  if (B > 0 && scores === undefined) throw invalid(`the layout has ${B} calibration bins but no scores were given`);
  if (B === 0 && scores !== undefined) throw invalid('scores were given but the layout has no calibration bins');
  if (scores !== undefined && scores.length !== n) throw invalid(`${scores.length} scores for ${n} labels`);
  const blocksPerRow = groupBlocks(input, n);
  const out = new Uint32Array(layout.length);
  for (let r = 0; r < n; r++) {
    const y = asBinary(labels[r], 'label', r);
    const p = asBinary(predictedPositive[r], 'prediction', r);
    // Cell order TP, FP, TN, FN.
    const cell = p === 1 ? (y === 1 ? 0 : 1) : y === 0 ? 2 : 3;
    let bin = -1;
    let milli = 0;
    if (scores !== undefined) {
      const s = scores[r] as number;
      if (!(s >= 0 && s <= 1)) throw invalid(`score of example ${r} must be a probability in [0, 1], got ${s}`, { row: r });
      bin = Math.min(B - 1, Math.floor(s * B)); // bins [0,1/B), …, [(B-1)/B, 1]
      milli = Math.round(s * SCORE_SCALE);
    }
    const add = (block: number): void => {
      const base = block * layout.blockSize;
      out[base + cell]! += 1;
      if (bin >= 0) {
        const b = base + CONFUSION_CELLS + BIN_CELLS * bin;
        out[b]! += 1;
        out[b + 1]! += y;
        out[b + 2]! += milli;
      }
    };
    add(0);
    for (const blocks of blocksPerRow) add(blocks[r]!);
  }
  return out;
}

/**
 * Element-wise sum of count vectors of one layout. Throws instead of wrapping when a cell would exceed
 * 2^32 − 1 (secure aggregation works modulo 2^32, so such a sum could not be recovered either).
 */
export function sumCounts(vectors: readonly ArrayLike<number>[]): Uint32Array {
  const first = vectors[0];
  if (first === undefined) throw invalid('sumCounts needs at least one vector');
  const sum = new Float64Array(first.length);
  for (const v of vectors) {
    if (v.length !== first.length) throw invalid(`count vectors differ in length (${v.length} vs ${first.length}): different layouts`);
    for (let i = 0; i < v.length; i++) sum[i]! += v[i]!;
  }
  const out = new Uint32Array(first.length);
  for (let i = 0; i < sum.length; i++) {
    const s = sum[i]!;
    if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw invalid(`count cell ${i} sums to ${s}, outside the unsigned 32-bit range`);
    out[i] = s;
  }
  return out;
}

function readBlock(vector: ArrayLike<number>, layout: CountsLayout, block: number): GroupCounts {
  const base = block * layout.blockSize;
  const at = (i: number): number => vector[base + i] as number;
  const bins: CalibrationBinCounts[] = [];
  for (let b = 0; b < layout.calibrationBins; b++) {
    const o = CONFUSION_CELLS + BIN_CELLS * b;
    bins.push({ examples: at(o), positives: at(o + 1), scoreSum: at(o + 2) });
  }
  return { tp: at(0), fp: at(1), tn: at(2), fn: at(3), bins };
}

/** Reads a (summed) count vector back into named groups. Throws when the length does not match the layout. */
export function decodeCounts(vector: ArrayLike<number>, layout: CountsLayout): DecodedCounts {
  if (vector.length !== layout.length) throw invalid(`count vector has ${vector.length} cells; the layout expects ${layout.length}`);
  for (let i = 0; i < vector.length; i++) {
    const v = vector[i] as number;
    if (!Number.isInteger(v) || v < 0) throw invalid(`count cell ${i} is ${v}, not a non-negative integer`);
  }
  const groupings: Record<string, Record<string, GroupCounts>> = {};
  for (const g of layout.groupings) {
    const values: Record<string, GroupCounts> = {};
    g.values.forEach((value, i) => {
      values[value] = readBlock(vector, layout, g.firstBlock + i);
    });
    groupings[g.name] = values;
  }
  return { layout, overall: readBlock(vector, layout, 0), groupings };
}

/**
 * The largest value any cell of a (summed) count vector can take when `totalExamples` examples are counted
 * in all: a score-sum cell reaches 1000 per example, every other cell 1 per example. Secure aggregation
 * needs its modulus above this bound (e.g. 2^32 holds up to 4,294,967 examples with calibration bins).
 */
export function maxCellValue(layout: CountsLayout, totalExamples: number): number {
  return layout.calibrationBins > 0 ? SCORE_SCALE * totalExamples : totalExamples;
}

/** Number of examples in a group. */
export function groupSize(c: GroupCounts): number {
  return c.tp + c.fp + c.tn + c.fn;
}
