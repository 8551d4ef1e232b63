/**
 * `tessera simulate --audit-privacy`: the canary clients a simulation adds, and the two measurements it takes of
 * the final model — the one-shot canary ε estimate (privacy-audit.ts) beside the accountant's ε, and the
 * loss-threshold membership-inference attack (membership-inference.ts) and, for tabular data with a contract, the
 * attribute-inference attack on its sensitive attributes (attribute-inference.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { concatExamples } from '../datasets/types.ts';
import type { JobResult } from '../coordinator/round-records.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import { setFlatWeights } from '../ml/weights.ts';
import type { RandomSource } from '../privacy/random.ts';
import type { CompiledContract } from '../governance/contract/compile.ts';
import { membershipInference, type MembershipInference } from './membership-inference.ts';
import { attributeInference, type AttributeInference } from './attribute-inference.ts';
import { auditFromCosines, canaryCosines, canaryData, randomDirection, type PrivacyAudit } from './privacy-audit.ts';

export interface AuditOptions {
  /** Canary clients inserted into the federation (each a client of its own organisation). */
  readonly canaries: number;
  /** Fresh directions never inserted, the null distribution of the cosine. */
  readonly heldOutCanaries: number;
}

export interface CanaryClient {
  readonly clientId: string;
  readonly orgId: string;
  readonly direction: Float32Array;
  readonly train: Examples;
}

export interface AuditReport {
  readonly canary: PrivacyAudit;
  /** The ledger's ε for the rounds the job ran (null without DP: no guarantee). */
  readonly accountantEpsilon: number | null;
  readonly membershipInference: MembershipInference;
  /** Null for data without a contract naming sensitive model inputs (MNIST). */
  readonly attributeInference: AttributeInference | null;
}

/** The attacked attributes: the job's fairness.sensitive attributes, else the contract's sensitive columns. */
export function attackedAttributes(spec: JobSpec, compiled: CompiledContract | undefined): string[] {
  if (!compiled) return [];
  return spec.fairness.sensitive.length > 0 ? [...spec.fairness.sensitive] : [...compiled.contract.sensitive];
}

export function canaryClients(options: AuditOptions, spec: JobSpec, dimension: number, realTrain: readonly Examples[], rng: RandomSource): CanaryClient[] {
  const meanRows = Math.max(1, Math.round(realTrain.reduce((a, e) => a + e.n, 0) / Math.max(1, realTrain.length)));
  return Array.from({ length: options.canaries }, (_, i) => ({
    clientId: `canary-${i}`,
    orgId: `canary-${i}`,
    direction: randomDirection(dimension, rng),
    train: canaryData(realTrain[i % realTrain.length] as Examples, spec.dp.enabled ? 1 : meanRows),
  }));
}

export function auditReport(o: {
  options: AuditOptions;
  spec: JobSpec;
  result: JobResult;
  initialWeights: Float32Array;
  canaries: readonly CanaryClient[];
  model: tf.LayersModel;
  members: readonly Examples[];
  nonMembers: Examples;
  rng: RandomSource;
  /** The data set's compiled contract (tabular data): the attribute attack's candidate values and transforms. */
  contract?: CompiledContract;
}): AuditReport {
  const change = Float32Array.from(o.result.weights, (w, i) => w - (o.initialWeights[i] as number));
  const cos = canaryCosines(change, o.canaries.map((c) => c.direction), o.options.heldOutCanaries, o.rng);
  const delta = o.spec.dp.enabled ? o.spec.dp.delta : 1e-5;
  const canary = auditFromCosines(cos.inserted, cos.heldOut, change.length, delta, o.rng);
  const last = o.result.rounds.at(-1)?.extra.privacy;
  setFlatWeights(o.model, o.result.weights);
  const members = concatExamples(o.members);
  const membership = membershipInference(o.model, members, o.nonMembers, o.rng);
  const attributes = attackedAttributes(o.spec, o.contract);
  const attribute = o.contract && attributes.length > 0 ? attributeInference({ model: o.model, compiled: o.contract, attributes, members, nonMembers: o.nonMembers, rng: o.rng }) : null;
  return {
    canary,
    accountantEpsilon: o.spec.dp.enabled && last ? last.epsilon : null,
    membershipInference: membership,
    attributeInference: attribute && attribute.attributes.length > 0 ? attribute : null,
  };
}
