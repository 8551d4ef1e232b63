/**
 * The one definition of every coordinator↔client message (house rule 1). Each direction is a discriminated
 * union on `type`; receivers parse with `safeParse` and refuse what does not match with a coded error.
 * Secure-aggregation stage messages are defined in protocol/secagg.ts and carried inside `secagg` envelopes.
 */
import { z } from 'zod';
import { JobSpecOnWire } from './job/spec-on-wire.ts';
import { ContractCheckSummary } from './data-check.ts';
import { SecAggClientMessage, SecAggServerMessage } from './secagg.ts';
import { Float32Tensor, Uint32Tensor } from './tensor.ts';
import { NonceText } from './auth.ts';

const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'ids use letters, digits and . _ : @ -');

/**
 * Sent in the socket.io handshake (`auth`), so a wrong version is refused before any message flows. `orgId` is
 * the client's claim only: an authenticating coordinator takes the organisation from its roster and refuses a
 * claim that differs. `clientNonce` starts the key handshake (protocol/auth.ts); socket transports require it.
 */
export const Handshake = z.object({
  protocolVersion: z.number().int(),
  clientId: Id,
  orgId: Id,
  clientNonce: NonceText.optional(),
  /**
   * Number of local training examples: sent only when the organisation's policy opts in
   * (`disclose.exampleCount`, client/policy/schema.ts); by default a client node omits it.
   */
  examples: z.number().int().min(0).optional(),
  dataset: z.string().max(64).optional(),
});
export type Handshake = z.infer<typeof Handshake>;

/** Summary of a data-contract check that leaves the client: codes and counts only, never raw values. */
export const DeclineReason = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(500),
  counts: z.record(z.string(), z.number()).optional(),
  /** The data-contract check behind a contract decline (codes, counts and drift numbers only). */
  dataCheck: ContractCheckSummary.optional(),
});
export type DeclineReason = z.infer<typeof DeclineReason>;

// ---- coordinator → client ----

/**
 * The job spec's hash: sha-256 hex of its RFC 8785 form (lib/canonical-json.ts `canonicalHash`), the same
 * `specHash` the coordinator's audit log and the model registry's lineage (`jobSpecHash`) record.
 */
export const JobSpecHash = z.string().regex(/^[0-9a-f]{64}$/, 'a job spec hash is 64 lowercase hex digits (sha-256)');

const trainFields = {
  type: z.literal('train'),
  jobId: Id,
  round: z.number().int().min(1),
  taskId: Id,
  weights: Float32Tensor,
  deadlineMs: z.number().int().positive(),
};

/** A train task as both sides' code holds it: with the job spec it runs under. */
export const TrainTask = z.object({ ...trainFields, job: JobSpecOnWire });
export type TrainTask = z.infer<typeof TrainTask>;

/**
 * The previous production version of the job's model (same architecture), evaluated by the client on the SAME
 * held-out rows in the same task: its [correct, loss, Brier] ride in the one evaluation the client releases for
 * the round (privacy/secagg/evaluation-input.ts), never a second evaluation. Strict: people read these messages.
 */
export const EvaluationBaseline = z.strictObject({
  /** The registry version (sha-256 hex), for the organisation's operator log. */
  version: z.string().regex(/^[0-9a-f]{64}$/),
  weights: Float32Tensor,
});
export type EvaluationBaseline = z.infer<typeof EvaluationBaseline>;

const evaluateFields = {
  type: z.literal('evaluate'),
  jobId: Id,
  round: z.number().int().min(0),
  taskId: Id,
  weights: Float32Tensor,
  deadlineMs: z.number().int().positive(),
  baseline: EvaluationBaseline.optional(),
};
// One more weight vector of the candidate's own size: the message stays bounded by twice the model.
const baselineSized = (t: { weights: Float32Tensor; baseline?: EvaluationBaseline | undefined }): boolean => t.baseline === undefined || t.baseline.weights.data.byteLength === t.weights.data.byteLength;
const baselineSizedMessage = { message: 'the baseline weights must have as many coordinates as the evaluated weights (same architecture)', path: ['baseline', 'weights'] };

/** An evaluate task as both sides' code holds it: with the job spec. */
export const EvaluateTask = z.object({ ...evaluateFields, job: JobSpecOnWire }).refine(baselineSized, baselineSizedMessage);
export type EvaluateTask = z.infer<typeof EvaluateTask>;

/**
 * Tasks on the wire name their job spec by hash and carry the spec itself only the first time a connection
 * needs it (coordinator/federation.ts; the client keeps what it was sent, client/task-specs.ts). Every task
 * carrying the whole spec was ~1.4 KB of each 2.5 KB Adult task, and its copy, encoding and validation about a
 * fifth of a 200-client round's non-training time (issue 16).
 */
export const TrainTaskOnWire = z.object({ ...trainFields, specHash: JobSpecHash, job: JobSpecOnWire.optional() });
export type TrainTaskOnWire = z.infer<typeof TrainTaskOnWire>;
export const EvaluateTaskOnWire = z.object({ ...evaluateFields, specHash: JobSpecHash, job: JobSpecOnWire.optional() }).refine(baselineSized, baselineSizedMessage);
export type EvaluateTaskOnWire = z.infer<typeof EvaluateTaskOnWire>;

export const ErrorNotice = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  /** The task the error refers to, when there is one. */
  taskId: Id.optional(),
});
export type ErrorNotice = z.infer<typeof ErrorNotice>;

export const Welcome = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.number().int(),
  clientId: Id,
});

/** A secure-aggregation stage message for one round, wrapped so it travels on the same channel. */
export const SecAggToClient = z.object({
  type: z.literal('secagg'),
  jobId: Id,
  round: z.number().int().min(0),
  /** The train or evaluate task whose result is being aggregated. */
  taskId: Id,
  message: SecAggServerMessage,
});
export type SecAggToClient = z.infer<typeof SecAggToClient>;

export const ServerMessage = z.discriminatedUnion('type', [TrainTaskOnWire, EvaluateTaskOnWire, ErrorNotice, Welcome, SecAggToClient]);
export type ServerMessage = z.infer<typeof ServerMessage>;

// ---- client → coordinator ----

/**
 * The DP mod's diagnostics section of an update (client/mods/dp.ts): `clipped` (did clipping change the update?)
 * is a bit about local data that the ε does not cover: with DP on, a client sends it only when its policy opts in
 * to training diagnostics, and never under secure aggregation.
 */
export const DpUpdateFeature = z.strictObject({
  clipped: z.boolean().optional(),
});
export type DpUpdateFeature = z.infer<typeof DpUpdateFeature>;

/** Diagnostics that travel with a plain update only, one typed section per feature. */
export const UpdateFeatures = z.strictObject({
  dp: DpUpdateFeature.optional(),
});
export type UpdateFeatures = z.infer<typeof UpdateFeatures>;

const ExtensionVector = z.array(z.number().finite()).max(100_000);

/**
 * The numeric feature data of an update (issue 21 §3), one vector per secure extension whose layout the job spec
 * fixes (privacy/secagg/extension.ts): the data-contract check as sums (governance/contract/drift-extension.ts)
 * and adaptive clipping's noised indicator (privacy/dp/adaptive-extension.ts). A plain update carries them here
 * and the coordinator adds them up; under secure aggregation the same vectors are appended to the masked input
 * and never appear in the clear.
 */
export const UpdateExtensions = z.strictObject({
  dataContract: ExtensionVector.optional(),
  adaptiveClipping: ExtensionVector.optional(),
});
export type UpdateExtensions = z.infer<typeof UpdateExtensions>;

export const UpdateResult = z.object({
  type: z.literal('update'),
  jobId: Id,
  round: z.number().int().min(1),
  taskId: Id,
  /** new weights − global weights, after any client-side clipping and noise. */
  update: Float32Tensor,
  /**
   * Exact example count, training loss and time. With DP on a client omits them unless its policy opts in
   * (`disclose.trainingDiagnostics`): they are facts about local data the ε does not cover.
   */
  examples: z.number().int().min(0).optional(),
  trainLoss: z.number().optional(),
  trainMillis: z.number().min(0).optional(),
  features: UpdateFeatures.optional(),
  extensions: UpdateExtensions.optional(),
});
export type UpdateResult = z.infer<typeof UpdateResult>;

export const EvaluateResult = z.object({
  type: z.literal('evaluate-result'),
  jobId: Id,
  round: z.number().int().min(0),
  taskId: Id,
  examples: z.number().int().min(0),
  /** Sum of per-example losses and the number correct, so the coordinator can form exact weighted means. */
  lossSum: z.number(),
  correct: z.number().int().min(0),
  /**
   * Σ of the per-example multi-class Brier scores and the examples per true label (index = class): the
   * calibration and majority-baseline evidence of the model's lineage (governance/registry/performance.ts).
   * Optional on the wire for older clients; an evaluation without them from any client gives no baseline.
   */
  brierSum: z.number().min(0).optional(),
  labelCounts: z.array(z.number().int().min(0)).max(100_000).optional(),
  /** Per-subgroup confusion and calibration counts (governance/fairness layout), when the job asks for fairness. */
  fairnessCounts: Uint32Tensor.optional(),
  /**
   * Permutation-importance counts [n, correct, correct with column i shuffled, …] (ml/explain/importance-for-job.ts):
   * only in the final evaluation of a job with `evaluation.featureImportance`, plain path only (under secure
   * aggregation they are inside the masked vector).
   */
  importanceCounts: z.array(z.number().int().min(0)).max(1_000_002).optional(),
  /**
   * The task's baseline (previous production version) on the same rows: `examples` and `labelCounts` are shared.
   * Present exactly when the task carried a baseline; plain path only (secure: inside the masked vector).
   */
  baseline: z.strictObject({ correct: z.number().int().min(0), lossSum: z.number().min(0), brierSum: z.number().min(0) }).optional(),
});
export type EvaluateResult = z.infer<typeof EvaluateResult>;

export const Decline = z.object({
  type: z.literal('decline'),
  jobId: Id,
  round: z.number().int().min(0),
  taskId: Id,
  reason: DeclineReason,
});
export type Decline = z.infer<typeof Decline>;

export const SecAggFromClient = z.object({
  type: z.literal('secagg'),
  jobId: Id,
  round: z.number().int().min(0),
  taskId: Id,
  message: SecAggClientMessage,
});
export type SecAggFromClient = z.infer<typeof SecAggFromClient>;

export const ClientMessage = z.discriminatedUnion('type', [UpdateResult, EvaluateResult, Decline, SecAggFromClient]);
export type ClientMessage = z.infer<typeof ClientMessage>;
