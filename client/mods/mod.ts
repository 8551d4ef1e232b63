/**
 * Client mods wrap the client's task handling (house rule 8: "mods wrap the client handler"): each may
 * refuse a task before any work is done (consent, data contract) and may transform the update before it
 * leaves the organisation (clipping, noise). Mods run in the order given.
 */
import type { Logger } from 'pino';
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../../datasets/types.ts';
import type { DeclineReason, EvaluateResult, EvaluateTask, TrainTask, UpdateExtensions, UpdateFeatures } from '../../protocol/messages.ts';

export interface TaskContext {
  readonly task: TrainTask | EvaluateTask;
  readonly clientId: string;
  readonly orgId: string;
  readonly logger: Logger;
  /** The coordinator's Ed25519 key as proven by the transport on this connection (none in memory simulations). */
  readonly coordinatorIdentity?: Uint8Array | undefined;
}

export type Admission =
  /** `extensions`: numeric feature data the admission produced (the contract check as sums), sent with the update. */
  | { readonly accept: true; readonly extensions?: UpdateExtensions }
  | { readonly accept: false; readonly reason: DeclineReason };

export interface UpdateTransform {
  readonly update: Float32Array;
  /** Diagnostics for a plain update only (protocol/messages.ts UpdateFeatures), e.g. the DP mod's clipped bit. */
  readonly features?: UpdateFeatures;
  /**
   * Numeric feature data in the job's secure-extension layout (privacy/secagg/extension.ts), e.g. the adaptive-
   * clipping indicator: sent with a plain update, inside the masked input under secure aggregation.
   */
  readonly extensions?: UpdateExtensions;
}

/** Extra fields an evaluation may add to its result (e.g. fairness counts). */
export type EvaluationExtras = Partial<Pick<EvaluateResult, 'fairnessCounts'>>;

export interface ClientMod {
  readonly name: string;
  /** Before any work: accept, or decline with a structured reason (consent, data contract). */
  admit?(ctx: TaskContext): Admission | Promise<Admission>;
  /** The local training data for this task (e.g. with reweighing weights). */
  prepareTrainingData?(data: Examples, ctx: TaskContext & { readonly task: TrainTask }): Examples;
  /** Transforms the update before it leaves the organisation (clipping, noise). */
  transformUpdate?(update: Float32Array, ctx: TaskContext & { readonly task: TrainTask }): UpdateTransform;
  /**
   * Right before the (clipped, noised) update or the evaluation result leaves the node — in the clear or into
   * secure aggregation. The policy mod records the contribution here; throwing a TesseraError declines the task
   * with its code instead.
   */
  beforeRelease?(ctx: TaskContext): void;
  /** Adds fields to an evaluation result, computed on the held-out split. */
  evaluationExtras?(model: tf.LayersModel, data: Examples, ctx: TaskContext & { readonly task: EvaluateTask }): EvaluationExtras;
}

/** Runs every mod's admission check; the first refusal wins. The admissions' extension values are passed along. */
export async function admit(mods: readonly ClientMod[], ctx: TaskContext): Promise<Admission> {
  let extensions: UpdateExtensions = {};
  for (const m of mods) {
    const a = (await m.admit?.(ctx)) ?? { accept: true as const };
    if (!a.accept) return a;
    extensions = { ...extensions, ...a.extensions };
  }
  return Object.keys(extensions).length > 0 ? { accept: true, extensions } : { accept: true };
}

export function prepareTrainingData(mods: readonly ClientMod[], data: Examples, ctx: TaskContext & { readonly task: TrainTask }): Examples {
  return mods.reduce((d, m) => (m.prepareTrainingData ? m.prepareTrainingData(d, ctx) : d), data);
}

export function evaluationExtras(mods: readonly ClientMod[], model: tf.LayersModel, data: Examples, ctx: TaskContext & { readonly task: EvaluateTask }): EvaluationExtras {
  return mods.reduce<EvaluationExtras>((acc, m) => ({ ...acc, ...(m.evaluationExtras?.(model, data, ctx) ?? {}) }), {});
}

/** Applies every mod's update transform in order; each feature section comes from the last mod that sets it. */
export function transformUpdate(mods: readonly ClientMod[], update: Float32Array, ctx: TaskContext & { readonly task: TrainTask }): UpdateTransform & { readonly features: UpdateFeatures; readonly extensions: UpdateExtensions } {
  let current: Float32Array = update;
  let features: UpdateFeatures = {};
  let extensions: UpdateExtensions = {};
  for (const m of mods) {
    if (!m.transformUpdate) continue;
    const next = m.transformUpdate(current, ctx);
    current = next.update;
    features = { ...features, ...next.features };
    extensions = { ...extensions, ...next.extensions };
  }
  return { update: current, features, extensions };
}

/** Runs every mod's `beforeRelease` hook in order (a throw stops the release). */
export function beforeRelease(mods: readonly ClientMod[], ctx: TaskContext): void {
  for (const m of mods) m.beforeRelease?.(ctx);
}
