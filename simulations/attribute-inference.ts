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
 *
 * Beside it, the prior-weighted variant: the adversary also knows how common each value is in the population and
 * guesses the value v maximising  p(v) · f(x_v)_y  — the marginal prior times the model's probability of the
 * row's known label with v filled in — which is the model-inversion estimator of Fredrikson et al. 2014 ("Privacy
 * in Pharmacogenetics", USENIX Security, §4: each candidate weighted by its marginal prior and by how well the
 * model's output agrees with the known label, argmax over candidates), the adversary Yeom et al. 2018 §4 build on.
 * It is Bayes' rule, P(v | x, y) ∝ P(y | x, v) · P(v | x), with the model standing in for P(y | x, v) and the
 * prior for P(v | x) (Fredrikson's independence of the target from the other features). Without the prior, a
 * rare value whose coefficient happens to fit the label wins often, and the plain attack can score far below
 * simply guessing the common value; the prior removes that handicap, so the pair shows how much of an attack's
 * success is the model's and how much the population's. The prior is the data contract's reference frequency of
 * each value (published statistics of the reference data, not the attacked rows), else the training rows'.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { featureSize } from '../datasets/types.ts';
import type { CompiledContract } from '../governance/contract/compile.ts';
import { compileFeature } from '../governance/contract/features.ts';
import { predictProba } from '../ml/train.ts';
import type { RandomSource } from '../privacy/random.ts';
import { sampleRows, type Interval } from './membership-inference.ts';

/** One attack's figures on the training (member) and held-out (non-member) rows. */
export interface AttackAccuracy {
  /** Share of training rows whose value the attack guessed right. */
  readonly memberAccuracy: number;
  readonly memberAccuracyInterval95: Interval;
  readonly nonMemberAccuracy: number;
  readonly nonMemberAccuracyInterval95: Interval;
  /** memberAccuracy − nonMemberAccuracy (Yeom et al. 2018, attribute advantage). */
  readonly advantage: number;
  readonly advantageInterval95: Interval;
}

/** The plain (loss-minimising) attack's figures, with the baseline and the prior-weighted variant beside them. */
export interface AttributeInferenceResult extends AttackAccuracy {
  readonly attribute: string;
  /** The values tried (as the data's sensitive labels show them, e.g. "Female", "Male"). */
  readonly values: string[];
  readonly members: number;
  readonly nonMembers: number;
  /** Always guessing the majority value of the training rows. */
  readonly baseline: { readonly value: string; readonly memberAccuracy: number; readonly nonMemberAccuracy: number };
  /** The prior-weighted (maximum a posteriori) variant on the same rows: argmax_v p(v) · f(x_v)_y. */
  readonly priorWeighted: AttackAccuracy & {
    /** p(v) per value of `values`, and where it came from. */
    readonly prior: { readonly source: 'contract-reference' | 'training-rows'; readonly shares: number[] };
  };
}

export interface AttributeInference {
  /** The plain attack's name; its prior-weighted variant is each result's `priorWeighted`. */
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
  /** The contract's category keys, in the order of `labels`. */
  readonly keys: readonly string[];
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
  return { labels: [...labels], keys: [...keys], writes };
}

/**
 * For each row (those whose value is a candidate), whether each attack's guess is its true value: the plain attack
 * takes the loss-minimising candidate, the prior-weighted one the candidate maximising ln p(v) + ln f(x_v)_y. Both
 * read the same forward pass; ties go to the majority value.
 */
function guessesRight(model: tf.LayersModel, e: Examples, attribute: string, c: Candidates, majority: number, prior: readonly number[]): { plain: boolean[]; weighted: boolean[] } {
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
  const logPrior = prior.map((p) => Math.log(p));
  const plain: boolean[] = [];
  const weighted: boolean[] = [];
  rows.forEach((row, r) => {
    const label = e.y[row] ?? 0;
    // The cross-entropy −ln p_y orders candidates as the probability mass on the wrong classes, Σ_{c≠y} p_c = 1 − p_y,
    // does; that mass is what we compare, because an overfit model's p_y rounds to exactly 1 in float32 (1 − 10⁻⁹
    // is not representable) while the small wrong-class probabilities still differ, and a rounded tie would hand
    // the guess to the majority value and hide exactly the memorisation the attack looks for. For the same reason
    // the prior-weighted score takes ln p_y as log1p(−wrong mass), exact for a small mass.
    const wrongMass = (v: number): number => {
      let m = 0;
      for (let c = 0; c < e.classes; c++) if (c !== label) m += probs[(r * k + v) * e.classes + c] ?? 0;
      return m;
    };
    const mass = Array.from({ length: k }, (_, v) => wrongMass(v));
    const score = mass.map((m, v) => (logPrior[v] ?? -Infinity) + Math.log1p(-m));
    let best = majority;
    let bestWeighted = majority;
    for (let v = 0; v < k; v++) {
      if ((mass[v] ?? 1) < (mass[best] ?? 1)) best = v;
      if ((score[v] ?? -Infinity) > (score[bestWeighted] ?? -Infinity)) bestWeighted = v;
    }
    plain.push(best === truth[row]);
    weighted.push(bestWeighted === truth[row]);
  });
  return { plain, weighted };
}

/**
 * p(v) for each candidate: the contract's reference frequencies of the column (the population's published
 * marginal), else the share of each value among the training rows.
 */
function attributePrior(compiled: CompiledContract, attribute: string, c: Candidates, members: Examples): AttributeInferenceResult['priorWeighted']['prior'] {
  const ref = compiled.contract.reference?.columns?.[attribute];
  if (ref?.kind === 'categorical') {
    const shares = c.keys.map((key) => ref.frequencies[key] ?? 0);
    if (shares.some((s) => s > 0)) return { source: 'contract-reference', shares };
  }
  return { source: 'training-rows', shares: c.labels.map((label) => share(members, attribute, c.labels, label)) };
}

/** Accuracies, their Wilson intervals and the advantage with Newcombe's interval, from hits on each side. */
function accuracy(hitIn: readonly boolean[], hitOut: readonly boolean[]): AttackAccuracy {
  const k1 = hitIn.filter(Boolean).length;
  const k0 = hitOut.filter(Boolean).length;
  return {
    memberAccuracy: k1 / Math.max(1, hitIn.length),
    memberAccuracyInterval95: wilsonInterval(k1, hitIn.length),
    nonMemberAccuracy: k0 / Math.max(1, hitOut.length),
    nonMemberAccuracyInterval95: wilsonInterval(k0, hitOut.length),
    advantage: k1 / Math.max(1, hitIn.length) - k0 / Math.max(1, hitOut.length),
    advantageInterval95: newcombeDifference(k1, hitIn.length, k0, hitOut.length),
  };
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
    const prior = attributePrior(o.compiled, attribute, c, o.members);
    const hitIn = guessesRight(o.model, inRows, attribute, c, majority, prior.shares);
    const hitOut = guessesRight(o.model, outRows, attribute, c, majority, prior.shares);
    const majorityLabel = c.labels[majority] as string;
    attributes.push({
      attribute,
      values: [...c.labels],
      members: hitIn.plain.length,
      nonMembers: hitOut.plain.length,
      ...accuracy(hitIn.plain, hitOut.plain),
      baseline: { value: majorityLabel, memberAccuracy: share(inRows, attribute, c.labels, majorityLabel), nonMemberAccuracy: share(outRows, attribute, c.labels, majorityLabel) },
      priorWeighted: { ...accuracy(hitIn.weighted, hitOut.weighted), prior },
    });
  }
  return { attack: 'loss-minimising value', attributes };
}
