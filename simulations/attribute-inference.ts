/**
 * The attribute-inference half of the memorisation check (issue 19 item 4), for tabular data with a data
 * contract. The adversary of Yeom, Giacomelli, Fredrikson & Jha 2018 ("Privacy Risk in Machine Learning:
 * Analyzing the Connection to Overfitting", CSF, §4 attribute inference; after the model-inversion attack of
 * Fredrikson et al., USENIX Security 2014) knows every other feature of a row and its label, tries each value of
 * the sensitive attribute and guesses the one under which the model's loss is lowest. A model that memorised its
 * training rows fits them best at their true value, so the attack is more accurate on training rows than on rows
 * nobody trained on; Yeom et al.'s attribute advantage is that difference of accuracies (training − held-out).
 *
 * Reported per attribute: each accuracy with its Wilson score interval (Wilson 1927, JASA 22:209), the advantage
 * with Newcombe's hybrid score interval for a difference of independent proportions (Newcombe 1998, Stat. Med.
 * 17:873, method 10), and the baseline of always guessing the training rows' majority value. Ties in the loss
 * (a model that ignores the attribute) go to the majority value, so such a model scores exactly the baseline.
 *
 * Candidate values are written into the features by the contract's own compiled transforms (the one
 * preprocessing definition), so the attack feeds the model exactly what training would have.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { featureSize } from '../datasets/types.ts';
import type { CompiledContract } from '../governance/contract/compile.ts';
import { compileFeature } from '../governance/contract/features.ts';
import { predictProba } from '../ml/train.ts';
import type { RandomSource } from '../privacy/random.ts';
import { sampleRows, type Interval } from './membership-inference.ts';

export interface AttributeInferenceResult {
  readonly attribute: string;
  /** The values tried (as the data's sensitive labels show them, e.g. "Female", "Male"). */
  readonly values: string[];
  readonly members: number;
  readonly nonMembers: number;
  /** Share of training rows whose value the attack guessed right. */
  readonly memberAccuracy: number;
  readonly memberAccuracyInterval95: Interval;
  readonly nonMemberAccuracy: number;
  readonly nonMemberAccuracyInterval95: Interval;
  /** memberAccuracy − nonMemberAccuracy (Yeom et al. 2018, attribute advantage). */
  readonly advantage: number;
  readonly advantageInterval95: Interval;
  /** Always guessing the majority value of the training rows. */
  readonly baseline: { readonly value: string; readonly memberAccuracy: number; readonly nonMemberAccuracy: number };
}

export interface AttributeInference {
  readonly attack: 'loss-minimising value';
  readonly attributes: AttributeInferenceResult[];
}

/** z for a two-sided 95 % interval (the 0.975 standard normal quantile). */
const Z95 = 1.959963984540054;

/** Wilson's score interval for k successes in n trials (Wilson 1927). */
export function wilsonInterval(k: number, n: number, z = Z95): Interval {
  if (n === 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Newcombe's hybrid score interval for p₁ − p₂ of two independent proportions (Newcombe 1998, method 10). */
export function newcombeDifference(k1: number, n1: number, k2: number, n2: number, z = Z95): Interval {
  const p1 = n1 === 0 ? 0 : k1 / n1;
  const p2 = n2 === 0 ? 0 : k2 / n2;
  const a = wilsonInterval(k1, n1, z);
  const b = wilsonInterval(k2, n2, z);
  const d = p1 - p2;
  return { low: d - Math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2), high: d + Math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2) };
}

interface Candidates {
  readonly labels: readonly string[];
  /** Per candidate, the (offset, values) of every model input the attribute feeds. */
  readonly writes: ReadonlyArray<ReadonlyArray<{ readonly offset: number; readonly values: Float32Array }>>;
}

/**
 * The attribute's candidate values and the model inputs each one produces, from the contract's column categories
 * and feature transforms. Undefined when the attribute has no categories or is not a model input (then the loss
 * cannot depend on it and there is nothing to attack).
 */
export function attributeCandidates(compiled: CompiledContract, attribute: string): Candidates | undefined {
  const column = compiled.columns.find((c) => c.spec.name === attribute);
  const keys = column?.spec.categories;
  if (!column || !keys || keys.length < 2) return undefined;
  const features = compiled.contract.features.map(compileFeature);
  const slots: Array<{ offset: number; feature: (typeof features)[number] }> = [];
  let offset = 0;
  for (const f of features) {
    if (f.column === attribute) slots.push({ offset, feature: f });
    offset += f.names.length;
  }
  if (slots.length === 0) return undefined;
  const labels = keys.map((k) => column.spec.valueLabels?.[k] ?? k);
  const writes = keys.map((k) => {
    const value = column.verdict(k).value;
    return slots.map((s) => {
      const values = new Float32Array(s.feature.names.length);
      s.feature.write(value, values, 0);
      return { offset: s.offset, values };
    });
  });
  return { labels: [...labels], writes };
}

/** For each row, whether the loss-minimising candidate is its true value (rows whose value is no candidate are left out). */
function guessesRight(model: tf.LayersModel, e: Examples, attribute: string, c: Candidates, majority: number): boolean[] {
  const truth = (e.sensitive[attribute] ?? []).map((v) => c.labels.indexOf(v));
  const rows = truth.flatMap((t, i) => (t >= 0 ? [i] : []));
  const d = featureSize(e);
  const k = c.labels.length;
  const x = new Float32Array(rows.length * k * d);
  rows.forEach((row, r) => {
    for (let v = 0; v < k; v++) {
      const at = (r * k + v) * d;
      x.set(e.x.subarray(row * d, (row + 1) * d), at);
      for (const w of c.writes[v] ?? []) x.set(w.values, at + w.offset);
    }
  });
  const probs = predictProba(model, x, rows.length * k);
  return rows.map((row, r) => {
    const label = e.y[row] ?? 0;
    // The cross-entropy −ln p_y orders candidates as the probability mass on the wrong classes, Σ_{c≠y} p_c = 1 − p_y,
    // does; that mass is what we compare, because an overfit model's p_y rounds to exactly 1 in float32 (1 − 10⁻⁹
    // is not representable) while the small wrong-class probabilities still differ, and a rounded tie would hand
    // the guess to the majority value and hide exactly the memorisation the attack looks for.
    const wrongMass = (v: number): number => {
      let m = 0;
      for (let c = 0; c < e.classes; c++) if (c !== label) m += probs[(r * k + v) * e.classes + c] ?? 0;
      return m;
    };
    let best = majority;
    for (let v = 0; v < k; v++) if (wrongMass(v) < wrongMass(best)) best = v;
    return best === truth[row];
  });
}

function majorityIndex(e: Examples, attribute: string, labels: readonly string[]): number {
  const counts = labels.map(() => 0);
  for (const v of e.sensitive[attribute] ?? []) {
    const i = labels.indexOf(v);
    if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts.indexOf(Math.max(...counts));
}

/** Share of the rows (those whose value is a candidate) that hold `label`. */
function share(e: Examples, attribute: string, labels: readonly string[], label: string): number {
  const values = (e.sensitive[attribute] ?? []).filter((v) => labels.includes(v));
  return values.length === 0 ? 0 : values.filter((v) => v === label).length / values.length;
}

/**
 * Runs the attack for each attribute on up to `limit` training rows and as many held-out rows (equal counts, drawn
 * without replacement by the simulation's seeded generator). Attributes that are not model inputs are skipped.
 */
export function attributeInference(o: {
  model: tf.LayersModel;
  compiled: CompiledContract;
  attributes: readonly string[];
  members: Examples;
  nonMembers: Examples;
  rng: RandomSource;
  limit?: number;
}): AttributeInference {
  const n = Math.min(o.limit ?? 2000, o.members.n, o.nonMembers.n);
  const inRows = sampleRows(o.members, n, o.rng);
  const outRows = sampleRows(o.nonMembers, n, o.rng);
  const attributes: AttributeInferenceResult[] = [];
  for (const attribute of o.attributes) {
    const c = attributeCandidates(o.compiled, attribute);
    if (!c) continue;
    const majority = majorityIndex(o.members, attribute, c.labels);
    const hitIn = guessesRight(o.model, inRows, attribute, c, majority);
    const hitOut = guessesRight(o.model, outRows, attribute, c, majority);
    const k1 = hitIn.filter(Boolean).length;
    const k0 = hitOut.filter(Boolean).length;
    const majorityLabel = c.labels[majority] as string;
    attributes.push({
      attribute,
      values: [...c.labels],
      members: hitIn.length,
      nonMembers: hitOut.length,
      memberAccuracy: k1 / Math.max(1, hitIn.length),
      memberAccuracyInterval95: wilsonInterval(k1, hitIn.length),
      nonMemberAccuracy: k0 / Math.max(1, hitOut.length),
      nonMemberAccuracyInterval95: wilsonInterval(k0, hitOut.length),
      advantage: k1 / Math.max(1, hitIn.length) - k0 / Math.max(1, hitOut.length),
      advantageInterval95: newcombeDifference(k1, hitIn.length, k0, hitOut.length),
      baseline: { value: majorityLabel, memberAccuracy: share(inRows, attribute, c.labels, majorityLabel), nonMemberAccuracy: share(outRows, attribute, c.labels, majorityLabel) },
    });
  }
  return { attack: 'loss-minimising value', attributes };
}
