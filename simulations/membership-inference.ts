/**
 * The memorisation check of a simulation (issue 19 item 4): a loss-threshold membership-inference attack against
 * the final model (Yeom, Giacomelli, Fredrikson & Jha 2018, "Privacy Risk in Machine Learning: Analyzing the
 * Connection to Overfitting", CSF — the attacker says "member" when the model's loss on a row is below a
 * threshold). Members are rows the clients trained on, non-members rows nobody trained on (the data set's test
 * split). Reported: the attack's ROC AUC (Mann–Whitney U / (n₁n₀), ties counted one half) and its membership
 * advantage max_τ (TPR − FPR) (Yeom et al., Def. 4), each with a 95 % percentile-bootstrap interval (Efron &
 * Tibshirani 1993, ch. 13). AUC 0.5 and advantage 0 mean the losses do not tell members apart.
 *
 * A research measurement on a simulation (it reads every client's rows); the resampling uses the simulation's
 * seeded generator, which is fine here and nowhere in a deployment.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { selectRows } from '../datasets/types.ts';
import { predictProba } from '../ml/train.ts';
import type { RandomSource } from '../privacy/random.ts';

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export interface MembershipInference {
  readonly attack: 'loss-threshold';
  readonly members: number;
  readonly nonMembers: number;
  readonly auc: number;
  readonly aucInterval95: Interval;
  readonly advantage: number;
  readonly advantageInterval95: Interval;
  /** Mean loss of the final model on the members and the non-members (their gap is what the attack uses). */
  readonly memberLoss: number;
  readonly nonMemberLoss: number;
}

const EPS = 1e-7;
const BOOTSTRAP = 200;

/** Per-row cross-entropy of the model. */
export function perExampleLoss(model: tf.LayersModel, e: Examples): Float64Array {
  const probs = predictProba(model, e.x, e.n);
  const out = new Float64Array(e.n);
  for (let i = 0; i < e.n; i++) out[i] = -Math.log(Math.max(probs[i * e.classes + (e.y[i] ?? 0)] ?? 0, EPS));
  return out;
}

/** AUC and best advantage of "lower loss ⇒ member", in one pass over the pooled, sorted losses. */
export function attackScores(memberLoss: ArrayLike<number>, nonMemberLoss: ArrayLike<number>): { auc: number; advantage: number } {
  const n1 = memberLoss.length;
  const n0 = nonMemberLoss.length;
  const pooled: Array<[number, 0 | 1]> = [];
  for (let i = 0; i < n1; i++) pooled.push([memberLoss[i] as number, 1]);
  for (let i = 0; i < n0; i++) pooled.push([nonMemberLoss[i] as number, 0]);
  pooled.sort((a, b) => a[0] - b[0]);
  // Walk thresholds from low to high loss: everything at or below the threshold is called a member.
  let tp = 0;
  let fp = 0;
  let advantage = 0;
  let u = 0; // pairs (member, non-member) where the member's loss is lower, ties one half
  for (let i = 0; i < pooled.length; ) {
    let j = i;
    let m = 0;
    let nm = 0;
    while (j < pooled.length && (pooled[j] as [number, 0 | 1])[0] === (pooled[i] as [number, 0 | 1])[0]) {
      if ((pooled[j] as [number, 0 | 1])[1] === 1) m++;
      else nm++;
      j++;
    }
    u += m * (n0 - fp - nm) + 0.5 * m * nm;
    tp += m;
    fp += nm;
    advantage = Math.max(advantage, tp / n1 - fp / n0);
    i = j;
  }
  return { auc: u / (n1 * n0), advantage };
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.floor(p * (sorted.length - 1))));
  return sorted[i] as number;
}

function resample(values: Float64Array, rng: RandomSource): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[Math.floor(rng.nextFloat() * values.length)] as number;
  return out;
}

/** Up to `limit` rows of `e`, drawn without replacement. */
export function sampleRows(e: Examples, limit: number, rng: RandomSource): Examples {
  const idx = Array.from({ length: e.n }, (_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return selectRows(e, idx.slice(0, Math.min(limit, e.n)));
}

export function membershipInference(model: tf.LayersModel, members: Examples, nonMembers: Examples, rng: RandomSource, limit = 2000): MembershipInference {
  const n = Math.min(limit, members.n, nonMembers.n);
  const inLoss = perExampleLoss(model, sampleRows(members, n, rng));
  const outLoss = perExampleLoss(model, sampleRows(nonMembers, n, rng));
  const point = attackScores(inLoss, outLoss);
  const aucs: number[] = [];
  const advs: number[] = [];
  for (let b = 0; b < BOOTSTRAP; b++) {
    const s = attackScores(resample(inLoss, rng), resample(outLoss, rng));
    aucs.push(s.auc);
    advs.push(s.advantage);
  }
  aucs.sort((a, b) => a - b);
  advs.sort((a, b) => a - b);
  const mean = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    attack: 'loss-threshold',
    members: inLoss.length,
    nonMembers: outLoss.length,
    auc: point.auc,
    aucInterval95: { low: percentile(aucs, 0.025), high: percentile(aucs, 0.975) },
    advantage: point.advantage,
    advantageInterval95: { low: percentile(advs, 0.025), high: percentile(advs, 0.975) },
    memberLoss: mean(inLoss),
    nonMemberLoss: mean(outLoss),
  };
}
