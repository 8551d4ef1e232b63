/**
 * Reweighing (F. Kamiran & T. Calders, "Data preprocessing techniques for classification without
 * discrimination", Knowledge and Information Systems 33(1):1–33, 2012, §4.2): give each example of group g
 * and label y the weight
 *
 *   w(g, y) = P_exp(g, y) / P_obs(g, y) = P(g)·P(y) / P(g, y) = n_g · n_y / (N · n_{g,y}),
 *
 * so that in the weighted data the label is statistically independent of the group while every group and
 * every label keeps its total weight (Σ weights = N). Each client computes the weights from its own local
 * counts: nothing leaves the client, and a trainer that honours Examples.weights as sample weights does the
 * rest. With several attributes the group is their intersection (e.g. `Female×Black`).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { INTERSECTION_SEPARATOR } from '../../protocol/job/fairness.ts';
import type { Examples } from '../../datasets/types.ts';

export interface ReweighingCell {
  group: string;
  label: number;
  /** n_{g,y}: examples in this cell. */
  count: number;
  /** n_g · n_y / (N · n_{g,y}). */
  weight: number;
}

export interface ReweighingTable {
  n: number;
  attributes: string[];
  groupCounts: Record<string, number>;
  labelCounts: Record<string, number>;
  /** Non-empty cells, sorted by group then label. */
  cells: ReweighingCell[];
}

export interface ReweighingInput {
  /** Class index per example. */
  labels: ArrayLike<number>;
  groups: Readonly<Record<string, readonly string[]>>;
  /** Attributes whose intersection defines the group. Default: every key of `groups`. */
  attributes?: readonly string[];
}

function groupKeys(input: ReweighingInput): { keys: string[]; attributes: string[] } {
  const attributes = [...(input.attributes ?? Object.keys(input.groups))];
  if (attributes.length === 0) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', 'reweighing needs at least one sensitive attribute');
  const n = input.labels.length;
  const columns = attributes.map((a) => {
    const c = input.groups[a];
    if (c === undefined) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', `reweighing: no sensitive attribute "${a}"`);
    if (c.length !== n) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', `reweighing: "${a}" has ${c.length} values for ${n} labels`);
    return c;
  });
  const keys: string[] = [];
  for (let r = 0; r < n; r++) keys.push(columns.map((c) => c[r] as string).join(INTERSECTION_SEPARATOR));
  return { keys, attributes };
}

const cellKey = (group: string, label: number): string => `${group}\u0000${label}`;

/** Reweighing weights per example and the (group, label) table they come from. */
export function reweighingWeights(input: ReweighingInput): { weights: Float32Array; table: ReweighingTable } {
  const { keys, attributes } = groupKeys(input);
  const n = keys.length;
  const groupCounts = new Map<string, number>();
  const labelCounts = new Map<number, number>();
  const cellCounts = new Map<string, { group: string; label: number; count: number }>();
  for (let r = 0; r < n; r++) {
    const g = keys[r] as string;
    const y = input.labels[r] as number;
    groupCounts.set(g, (groupCounts.get(g) ?? 0) + 1);
    labelCounts.set(y, (labelCounts.get(y) ?? 0) + 1);
    const k = cellKey(g, y);
    const cell = cellCounts.get(k);
    if (cell) cell.count += 1;
    else cellCounts.set(k, { group: g, label: y, count: 1 });
  }
  const weightOf = new Map<string, number>();
  const cells: ReweighingCell[] = [];
  for (const [k, c] of cellCounts) {
    const weight = ((groupCounts.get(c.group) as number) * (labelCounts.get(c.label) as number)) / (n * c.count);
    weightOf.set(k, weight);
    cells.push({ ...c, weight });
  }
  cells.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.label - b.label));
  const weights = new Float32Array(n);
  for (let r = 0; r < n; r++) weights[r] = weightOf.get(cellKey(keys[r] as string, input.labels[r] as number)) as number;
  return {
    weights,
    table: {
      n,
      attributes,
      groupCounts: Object.fromEntries([...groupCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      labelCounts: Object.fromEntries([...labelCounts].sort(([a], [b]) => a - b).map(([y, c]) => [String(y), c])),
      cells,
    },
  };
}

/**
 * The examples with reweighing weights set (multiplied into any weights they already carry), for the
 * trainer to use as sample weights; the table goes into the report to show the effect.
 */
export function applyReweighing(examples: Examples, options: { attributes?: readonly string[] } = {}): { examples: Examples; table: ReweighingTable } {
  const { weights, table } = reweighingWeights({ labels: examples.y, groups: examples.sensitive, ...(options.attributes ? { attributes: options.attributes } : {}) });
  if (examples.weights) for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] as number) * (examples.weights[i] ?? 1);
  return { examples: { ...examples, weights }, table };
}
