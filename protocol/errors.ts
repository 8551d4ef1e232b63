/**
 * One error class for the whole project (house rule 3). Every code is stable, documented here, and never
 * reused for another meaning. Messages say what was wrong and where, so a person can act on them.
 */
export const ERROR_CODES = {
  // Input and configuration (CLI exit code 2).
  TESSERA_ERR_INVALID_ARGUMENT: 'A command-line argument or option value is invalid.',
  TESSERA_ERR_INVALID_JOB_SPEC: 'The job spec does not match its schema.',
  TESSERA_ERR_FILE_UNREADABLE: 'A file could not be read (missing, unreadable, or not the expected format).',
  TESSERA_ERR_DATA_MALFORMED: 'A data row does not match the expected schema (row and column are named).',
  TESSERA_ERR_DATA_EMPTY: 'A data file holds no rows.',
  TESSERA_ERR_CONTRACT_INVALID: 'A data contract does not match the contract schema.',
  TESSERA_ERR_MODEL_SPEC: 'A model spec is invalid or does not fit the data.',
  TESSERA_ERR_BACKEND_UNAVAILABLE: 'The requested TensorFlow.js backend (tensorflow, wasm, cpu) cannot be loaded here.',
  // Wire protocol.
  TESSERA_ERR_PROTOCOL_VERSION: 'The peer speaks a different protocol version.',
  TESSERA_ERR_MESSAGE_INVALID: 'A wire message failed schema validation.',
  TESSERA_ERR_UNEXPECTED_MESSAGE: 'A message arrived in a state that does not accept it.',
  TESSERA_ERR_NOT_REGISTERED: 'A client sent a message before registering.',
  TESSERA_ERR_DUPLICATE_CLIENT: 'A client id is already connected and the new connection did not prove its key; the connected client keeps its place.',
  // Rounds and jobs.
  TESSERA_ERR_TOO_FEW_CLIENTS: 'Fewer clients than the minimum took part in a round.',
  TESSERA_ERR_ROUND_FAILED: 'A round failed after its retries.',
  TESSERA_ERR_JOB_NOT_FOUND: 'No job with that id exists.',
  TESSERA_ERR_TIMEOUT: 'An operation did not finish before its deadline.',
  // Privacy.
  TESSERA_ERR_BUDGET_EXCEEDED: 'The next round would exceed a privacy budget.',
  TESSERA_ERR_DP_CONFIG: 'The differential-privacy settings are inconsistent.',
  TESSERA_ERR_ACCOUNTANT: 'The privacy accountant could not compute a bound for these parameters.',
  TESSERA_ERR_UPDATE_NONFINITE: 'A model update holds NaN or infinite values, so it cannot be clipped to a bounded norm.',
  TESSERA_ERR_LEDGER: 'The privacy ledger refused a write (double charge, non-monotone epsilon, or a budget or cap exceeded).',
  // Secure aggregation.
  TESSERA_ERR_SECAGG_ABORT: 'Secure aggregation aborted (too few survivors or a protocol violation).',
  TESSERA_ERR_SECAGG_CRYPTO: 'A secure-aggregation message failed authentication or verification.',
  TESSERA_ERR_SECAGG_PROTOCOL: 'A secure-aggregation request violated the protocol (e.g. both shares asked).',
  TESSERA_ERR_SECAGG_PARAMS: 'No secure-aggregation parameters meet the targets (n, dropout, corruption), or a given k, t or bit width is unsafe.',
  // Secure aggregation against a malicious coordinator (issue 10, secagg area): the client's own checks.
  TESSERA_ERR_SECAGG_POLICY: "The coordinator's secure-aggregation setup is weaker than this organisation's policy (the message names the rule: min-clients, consistency-check, threshold, connectivity, dp-min-survivors, field-limit).",
  TESSERA_ERR_SECAGG_SETUP_MISMATCH: "A neighbour's signed setup hash differs from this client's (the coordinator sent different setups to different clients).",
  TESSERA_ERR_SECAGG_ROUND_REPLAY: 'The round id is not the one derived from (job id, round, task id), or this client already took part in a round with that id.',
  TESSERA_ERR_SECAGG_KEYS_FLOOR: "Too few neighbours' keys reached this client to mask safely (fewer than its policy's floor); it aborts before masking.",
  TESSERA_ERR_SECAGG_CERTIFICATION: 'Too few valid neighbour signatures on the same survivor set U3 to rule out a second, conflicting survivor set; the client reveals nothing.',
  TESSERA_ERR_SECAGG_DP_SURVIVORS: "The survivor set is smaller than the job's DP minimum survivors m; the client will not sign or unmask it.",
  // Governance.
  TESSERA_ERR_STATE: 'The state directory or database is unusable.',
  TESSERA_ERR_STATE_LOCKED: 'Another coordinator holds the state directory (one writer per state directory); the message names the holder.',
  TESSERA_ERR_SIGNATURE: 'A signature does not verify.',
  TESSERA_ERR_APPROVAL: 'An approval record is invalid for this purpose.',
  TESSERA_ERR_DEPLOY_GATE: 'The deployment policy is not satisfied.',
  TESSERA_ERR_CONSENT: 'Consent does not cover this use.',
  TESSERA_ERR_AUDIT_CHAIN: 'The audit log failed verification.',
  TESSERA_ERR_NOT_FOUND: 'A named record (model, approver, key, organisation) does not exist.',
  // Fairness.
  TESSERA_ERR_FAIRNESS_INPUT: 'A predictions file or fairness policy is invalid.',
  // Data contracts.
  TESSERA_ERR_CONTRACT_MISMATCH: 'The job names a data contract (by hash) other than the one the client holds.',
  TESSERA_ERR_CONTRACT_VIOLATION: "Local data does not satisfy the job's data contract (the client declines the round).",
  // The client node's own policy (issue 10 §1, client/policy/): a client declines, with one of these codes naming
  // the rule, any task its organisation's policy file (or the safe default) does not allow.
  TESSERA_ERR_POLICY_INVALID: 'The client policy file does not match its schema (version 1, strict).',
  TESSERA_ERR_POLICY_SECAGG_REQUIRED: "The job does not use secure aggregation, which the client's policy requires (rule secagg.required).",
  TESSERA_ERR_POLICY_SECAGG_WEAK: "The job's secure aggregation is weaker than the client's policy (rules secagg.minThreatModel, secagg.requireConsistencyCheck).",
  TESSERA_ERR_POLICY_DP_REQUIRED: "The job does not use differential privacy, which the client's policy requires (rule dp.required).",
  TESSERA_ERR_POLICY_DP_PLACEMENT: "The job's DP placement is not allowed by the client's policy; central needs a coordinator trusted by its proven key (rules dp.allowedPlacements, dp.trustedCoordinatorKeys).",
  TESSERA_ERR_POLICY_DP_NOISE: "The job's noise multiplier is below the client's minimum (rule dp.minNoiseMultiplier).",
  TESSERA_ERR_POLICY_DP_DELTA: "The job's delta is above the client's maximum (rule dp.maxDelta).",
  TESSERA_ERR_POLICY_EPSILON: "The job's epsilon, recomputed by the client from (q, sigma, rounds, delta, placement), is above the client's cap (rule dp.maxEpsilon).",
  TESSERA_ERR_POLICY_TOTAL_EPSILON: "Contributing would take the client's cumulative epsilon over all jobs above its cap (rule dp.maxTotalEpsilon).",
  TESSERA_ERR_POLICY_REPEATED_ROUND: 'The client already contributed to this (job, round) and contributes at most once per round.',
  TESSERA_ERR_POLICY_ROUNDS_EXCEEDED: 'The task asks for a round beyond the rounds the job declared, or for more contributions than it declared.',
  TESSERA_ERR_POLICY_RECORD: "The client's participation record (under its --state directory) cannot be read or written.",
  // Evaluation without exact per-organisation disclosure (evaldp area: client/policy/rules.ts, privacy/dp/evaluation-noise.ts).
  TESSERA_ERR_POLICY_REPEATED_EVALUATION: 'The client already released an evaluation for this (job, round) and evaluates at most once per round (rule record.evaluationOncePerRound).',
  TESSERA_ERR_POLICY_EVALUATION_NOISE: "The evaluation of a DP job carries no noise, or less than the job planned: its recomputed epsilon, evaluation releases included, is above the job's declared epsilon (rules dp.requireEvaluationNoise, evaluation.noise).",
  // Feature composition and stored round records (house issue 21).
  TESSERA_ERR_FEATURE_CYCLE: "The enabled features' declared needs form a cycle: no order of their hooks satisfies them (a bug in a feature's declaration).",
  TESSERA_ERR_FEATURE_MISSING: 'An enabled feature needs a capability that no enabled feature provides (turn the providing feature on, or fix the declaration).',
  TESSERA_ERR_RECORD_UNREADABLE: 'A stored round record is malformed or has a version this build does not know (written by a newer Tessera?).',
  // Identity and access (issue 12): client authentication, limits before trust, file modes.
  TESSERA_ERR_AUTH_REQUIRED: 'The connection did not complete the key handshake (no proof, or not within the handshake deadline).',
  TESSERA_ERR_AUTH_FAILED: "The client's proof of its roster key did not verify (unknown client id, wrong key, replayed or mis-bound proof, or an organisation other than the roster's).",
  TESSERA_ERR_COORDINATOR_IDENTITY: "The coordinator's proof of its key did not verify, or the key is not the one the client expects.",
  TESSERA_ERR_CONNECTION_LIMIT: 'A connection or message limit was reached (too many connections from one address or in total, or a message larger than allowed).',
  TESSERA_ERR_UPDATE_OUT_OF_BOUNDS: "A plain update breaks the job's bounds (L2 norm above the clip norm plus the DP noise allowance, or more examples than the client declared).",
  TESSERA_ERR_UNAUTHENTICATED: 'An operator API request carried no valid token (HTTP 401).',
  TESSERA_ERR_FORBIDDEN: "The operator token's role may not use this route (HTTP 403).",
  TESSERA_ERR_FILE_PERMISSIONS: 'A key or state file is readable or writable by other users (chmod 600 a key file, 700 a state directory).',
  // Operator API conventions and rate limits (issue 12 item 4: coordinator/api/).
  TESSERA_ERR_RATE_LIMITED: 'Too many requests, or too many failed authentication attempts, from one address within the window (HTTP 429; a socket handshake is refused); retry after the time the answer names.',
  TESSERA_ERR_ROUTE_UNDECLARED: 'An HTTP route under /v1 was registered without declaring who may call it (roles or public) and the schema of its success response; a programming error, refused when the coordinator starts.',
  TESSERA_ERR_RESPONSE_INVALID: 'A response did not match the schema its route declares and was not sent (HTTP 500); a bug.',
  // Signed consent (issue 12 §6, governance/consent/signed.ts) — gov2 area.
  TESSERA_ERR_CONSENT_UNSIGNED: "A consent record has no valid signature by the organisation's roster key (RFC 8785 + Ed25519): refused outside simulations (forged, signed by another organisation's key, or terms edited after signing).",
  TESSERA_ERR_CONSENT_REPLAY: "A signed consent cannot be recorded: it has expired, was recorded before, or is not newer than the organisation's latest recorded grant or withdrawal for that data set.",
  // Durable jobs (issue 14 resume).
  TESSERA_ERR_FRESH_REFUSED: "`--fresh` was refused: the job has privacy-ledger charges, which a fresh start would leave unaccounted; resume it instead.",
  // Secure extensions: feature data inside the secure sum (issue 21 §3).
  TESSERA_ERR_CONTRACT_UNAVAILABLE: "The coordinator does not hold the data contract the job names (by hash), so it cannot lay out or decode the clients' contract-check sums under secure aggregation (give the contract to the coordinator).",
  // Durable jobs: load and fuzzing (issue 14 §4–6): what the fuzz tests found without a code of its own.
  TESSERA_ERR_ROUTE_NOT_FOUND: 'No HTTP route of the coordinator matches this method and path (HTTP 404).',
  TESSERA_ERR_DATA_TOO_LARGE: "A data file, or one of its lines, is larger than the reader's limit (refused before it is read whole; the message names the limit).",
  // Hosted jobs (issue 15, coordinator/job-service.ts): the coordinator as a service that queues jobs.
  TESSERA_ERR_JOB_STATE: 'The job is not in a state that allows the request (e.g. cancelling a job that already ended).',
  // Governance attribution (issue 13 §6, governance/audit/attribution.ts): who may change a production state.
  TESSERA_ERR_SIGNING_KEY_REQUIRED: 'A governance command (budget or cap, consent, deploy, rollback, policy) was run on a production state directory (its approver registry is initialised) without --key: the message names the command and the missing key.',
  TESSERA_ERR_SIGNER_UNKNOWN: "The --key given to a governance command on a production state is not an active approver's key in the verified registry (never enrolled, or revoked), so the action cannot be attributed to a person.",
  // Bring your own model (issue 15 §4, protocol/job/layers-topology.ts).
  TESSERA_ERR_MODEL_LAYER_UNSUPPORTED: 'A user model (model.kind "layers") uses a layer, option or shape this build cannot train on the wasm backend (supported: a Sequential of Dense, Conv2D, MaxPooling2D, Flatten, ending in Dense softmax over model.classes); the message names the layer and the option.',
  // After deployment: human review (issue 20 §5, coordinator/serving/review/; servereview area).
  TESSERA_ERR_REVIEW_DECIDED: 'The held prediction was already confirmed or overridden; a review decision is final (HTTP 409).',
  // Serving and monitoring (issue 20 items 1–4, servemon area: coordinator/serving/, governance/monitoring/).
  TESSERA_ERR_INSTANCE_INVALID: "A prediction instance breaks the model's data contract (HTTP 422; the answer names the instance, the column, the rule and the value sent), or is a raw row sent to a model without a contract, or an input vector sent to a model with one.",
  TESSERA_ERR_SCORING_FAILED: 'The deployed version could not answer (its artifacts failed to load or verify, or the model failed); counted as an error of that version and stage (HTTP 500).',
  TESSERA_ERR_PREDICTION_UNKNOWN: 'Feedback names a prediction id this coordinator never gave the caller: never issued, issued for another model or to another predict token, or already evicted from the bounded prediction store (HTTP 404; nothing is recorded).',
  TESSERA_ERR_FEEDBACK_DUPLICATE: 'Feedback for a prediction that already has its label, or the same id twice in one request: one label per prediction, so feedback cannot be replayed (HTTP 409; nothing is recorded).',
  TESSERA_ERR_FEEDBACK_INVALID: "A feedback label is not one of the model's classes (HTTP 422; nothing is recorded).",
  // Review 3 (attack review of after-deployment and attribution): a held prediction's ground truth is its
  // reviewer's decision; a role's governance commands need that role's key.
  TESSERA_ERR_SIGNER_ROLE: "The --key given to a governance command on a production state is an active approver's, but without the role the command belongs to (budgets, caps and consent: privacy-officer); the message names the command, the role needed and the key holder's roles.",
  TESSERA_ERR_FEEDBACK_HELD: "Feedback from a predict token for a prediction held for human review: its label is the reviewer's decision, recorded as feedback when it is made (HTTP 409; nothing is recorded).",
  // Strategies and faults (issue 18 §6, harnessstrat area: coordinator/strategy-compat.ts, server-optimizers.ts).
  TESSERA_ERR_STRATEGY_INCOMPATIBLE: "The job's strategy cannot run with its other settings: a robust aggregator (median, trimmed mean, Krum) needs the individual updates, which secure aggregation hides and DP's accounting does not cover, or Krum's f needs more clients per round (n ≥ 2f + 3).",
  TESSERA_ERR_STRATEGY_STATE: "A resumed job's server-optimiser state (FedAdam/FedYogi/FedAdagrad moments of its last committed round) is missing, unreadable or does not fit the model.",
  // Research harness (issue 18 §3–5, harnessrep area: simulations/replay.ts, simulations/sweep/): replays and sweeps.
  TESSERA_ERR_REPLAY_MISMATCH: 'A replayed simulation did not reproduce the recorded result: the message names the first data file, job-spec hash, round figure or final-weights hash that differs.',
  TESSERA_ERR_REPLAY_INVALID: 'The file given to `simulate --replay` cannot be replayed: it is not a results.json with a reproducibility manifest, or the run it records drew randomness a replay cannot repeat (DP noise from the CSPRNG; use --seeded-noise).',
  TESSERA_ERR_SWEEP_GRID: 'The sweep grid file is invalid: the message names the offending key (the grid schema is strict), an axis without values, or a cell whose job spec does not parse.',
  // Measured privacy (issue 19 §3–4, governance/registry/privacy-audit.ts).
  TESSERA_ERR_PRIVACY_AUDIT_RECORD: "A model's privacy-audit record cannot be written (the model is not registered, or its audit was already recorded: the record is append-only).",
  // Parallel simulations (issue 18 §1, simulations/training-pool.ts): virtual clients trained on worker threads.
  TESSERA_ERR_WORKER_FAILED: "A worker thread failed to start, crashed or exited (e.g. out of heap) while it held work: a simulation's training worker holding a client's training task (that task is declined, the other workers carry on), or a parallel sweep's run thread holding a run (`tessera sweep --parallel`: the message names the run; the sweep stops as at any failed run).",
  // Held-out evaluation (polish area: client/held-out-split.ts, `tessera client --no-holdout`).
  TESSERA_ERR_NO_HELD_OUT: "A client node that keeps no held-out rows (`tessera client --no-holdout`) declines evaluation tasks: evaluating on its training rows would report training accuracy as held-out performance (the registry's evidence and the deployment gate read it as held-out).",
  // Internal.
  TESSERA_ERR_INTERNAL: 'An internal invariant was violated; this is a bug.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that mean "the input is unusable" (CLI exit code 2), as opposed to "a check failed" (exit 1). */
const INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TESSERA_ERR_INVALID_ARGUMENT',
  'TESSERA_ERR_INVALID_JOB_SPEC',
  'TESSERA_ERR_FILE_UNREADABLE',
  'TESSERA_ERR_DATA_MALFORMED',
  'TESSERA_ERR_DATA_EMPTY',
  'TESSERA_ERR_DATA_TOO_LARGE',
  'TESSERA_ERR_CONTRACT_INVALID',
  'TESSERA_ERR_MODEL_SPEC',
  'TESSERA_ERR_MODEL_LAYER_UNSUPPORTED',
  'TESSERA_ERR_BACKEND_UNAVAILABLE',
  'TESSERA_ERR_STATE',
  'TESSERA_ERR_STATE_LOCKED',
  'TESSERA_ERR_FAIRNESS_INPUT',
  'TESSERA_ERR_NOT_FOUND',
  'TESSERA_ERR_SECAGG_PARAMS',
  'TESSERA_ERR_DP_CONFIG',
  'TESSERA_ERR_STRATEGY_INCOMPATIBLE',
  'TESSERA_ERR_POLICY_INVALID',
  'TESSERA_ERR_POLICY_RECORD',
  'TESSERA_ERR_FILE_PERMISSIONS',
  'TESSERA_ERR_REPLAY_INVALID',
  'TESSERA_ERR_SWEEP_GRID',
]);

export class TesseraError extends Error {
  readonly code: ErrorCode;
  /** Structured, non-sensitive details (never raw rows, keys or tensors). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.details = options?.details;
  }

  /** Exit code for the CLI: 2 for unusable input, 1 for everything else. */
  get exitCode(): 1 | 2 {
    return INPUT_CODES.has(this.code) ? 2 : 1;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isTesseraError(e: unknown): e is TesseraError {
  return e instanceof TesseraError;
}

/** Turns a zod error into a one-line description naming each failing path. */
export function describeZodIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
