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
  TESSERA_ERR_DUPLICATE_CLIENT: 'A client id is already connected.',
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
  'TESSERA_ERR_CONTRACT_INVALID',
  'TESSERA_ERR_MODEL_SPEC',
  'TESSERA_ERR_BACKEND_UNAVAILABLE',
  'TESSERA_ERR_STATE',
  'TESSERA_ERR_FAIRNESS_INPUT',
  'TESSERA_ERR_NOT_FOUND',
  'TESSERA_ERR_SECAGG_PARAMS',
  'TESSERA_ERR_DP_CONFIG',
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
