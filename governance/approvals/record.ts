/**
 * Signed approval records (issue 6 §3). A record states, over RFC 8785 canonical JSON, which model (version
 * and lineage hash) the signer approved or rejected, the privacy, fairness and performance evidence they saw (hashes and
 * headline numbers), their role, key id, and when the decision was issued and expires; an Ed25519 signature
 * covers exactly those bytes. Pure: building, signing and verifying need no storage.
 */
import { z } from 'zod';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { decodeKeyText, signDetached, toBase64, verifyDetached, type Ed25519KeyPair } from '../identity/ed25519.ts';
import { RoleName, isRevoked, type Approver } from '../identity/approvers.ts';
import { Hex64, reportRuleHeadlines } from '../registry/lineage.ts';
import type { RegisteredModel } from '../registry/registry.ts';

export const APPROVAL_TYPE = 'tessera.approval/v1';
/** Clock skew tolerated between the signer's and the verifier's clocks for `issuedAt`. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * UTC instants only (`…Z`): an approval written with `+14:00` once outranked a later rejection because
 * instants were compared as strings (issue 13 §5). Offsets are refused; comparisons use Date.parse.
 */
const Iso = z.iso.datetime({ offset: false });

/** The stages an approval can admit a version to; a production approval also covers the canary before it. */
export const ApprovalStage = z.enum(['canary', 'production']);
export type ApprovalStage = z.infer<typeof ApprovalStage>;

export const ApprovalEvidence = z.object({
  jobSpecHash: Hex64,
  dataContractHash: Hex64.nullable(),
  privacy: z.object({
    /** Canonical hash of the lineage's privacy section. */
    hash: Hex64,
    epsilon: z.number().nullable(),
    delta: z.number().nullable(),
    placement: z.string(),
    accountant: z.string().nullable(),
    unit: z.string(),
  }),
  fairness: z
    .object({
      reportHash: Hex64,
      passed: z.boolean(),
      rules: z.array(z.object({ attribute: z.string(), metric: z.string(), value: z.number().nullable(), status: z.string() })),
    })
    .nullable(),
  contractChecks: z
    .object({ passed: z.boolean(), violations: z.number().int().min(0), checked: z.number().int().min(0).optional(), passedChecks: z.number().int().min(0).optional(), declined: z.number().int().min(0).optional() })
    .nullable(),
  /**
   * Held-out performance and its baselines (governance/registry/performance.ts): the canonical hash of the
   * lineage's performance section and its headline figures. Absent when the lineage has none (older models),
   * so records signed before it still match their evidence.
   */
  performance: z
    .object({
      hash: Hex64,
      examples: z.number().int().min(1),
      accuracy: z.number(),
      loss: z.number(),
      brier: z.number(),
      majorityAccuracy: z.number(),
      previousProduction: z.object({ version: Hex64, accuracy: z.number(), loss: z.number(), brier: z.number() }).nullable(),
    })
    .optional(),
});
export type ApprovalEvidence = z.infer<typeof ApprovalEvidence>;

export const ApprovalPayload = z.object({
  type: z.literal(APPROVAL_TYPE),
  model: z.object({ name: z.string(), version: Hex64, lineageHash: Hex64 }),
  evidence: ApprovalEvidence,
  decision: z.enum(['approve', 'reject']),
  reason: z.string().nullable(),
  role: RoleName,
  signer: z.object({ keyId: z.string().regex(/^[0-9a-f]{32}$/) }),
  /** The stage the signer admits the version to (absent in records from before issue 13: canary only). */
  stage: ApprovalStage.optional(),
  issuedAt: Iso,
  expiresAt: Iso,
})
  // Strict: people hand-carry records (`approve --record FILE`); an unknown key is refused by name, never dropped.
  .strict();
export type ApprovalPayload = z.infer<typeof ApprovalPayload>;

export const SignedApproval = z.object({
  payload: ApprovalPayload,
  /** Ed25519 signature over the UTF-8 bytes of canonicalJson(payload), base64. */
  signature: z.string(),
}).strict();
export type SignedApproval = z.infer<typeof SignedApproval>;

/** The evidence a signer sees for a model: derived from its registered lineage, never typed by hand. */
export function evidenceFor(model: RegisteredModel): ApprovalEvidence {
  const { lineage } = model;
  return {
    jobSpecHash: lineage.jobSpecHash,
    dataContractHash: lineage.dataContractHash,
    privacy: {
      hash: canonicalHash(lineage.privacy),
      epsilon: lineage.privacy.epsilon,
      delta: lineage.privacy.delta,
      placement: lineage.privacy.placement,
      accountant: lineage.privacy.accountant,
      unit: lineage.privacy.unit,
    },
    fairness: lineage.fairness === null
      ? null
      : { reportHash: lineage.fairness.reportHash, passed: lineage.fairness.passed, rules: reportRuleHeadlines(lineage.fairness.report) },
    contractChecks: lineage.contractChecks === null ? null : contractHeadline(lineage.contractChecks),
    ...(lineage.performance !== undefined ? { performance: performanceHeadline(lineage.performance) } : {}),
  };
}

/** What approvers sign about held-out performance: the section's hash and the figures they compare. */
function performanceHeadline(p: NonNullable<RegisteredModel['lineage']['performance']>): NonNullable<ApprovalEvidence['performance']> {
  const prev = p.baselines.previousProduction;
  return {
    hash: canonicalHash(p),
    examples: p.examples,
    accuracy: p.model.accuracy,
    loss: p.model.loss,
    brier: p.model.brier,
    majorityAccuracy: p.baselines.majority.accuracy,
    previousProduction: prev === null ? null : { version: prev.version, accuracy: prev.accuracy, loss: prev.loss, brier: prev.brier },
  };
}

/** What approvers sign about the contract checks: the verdict, and the counts when the lineage has them. */
function contractHeadline(c: NonNullable<RegisteredModel['lineage']['contractChecks']>): NonNullable<ApprovalEvidence['contractChecks']> {
  return {
    passed: c.passed,
    violations: c.violations,
    ...(c.checked !== undefined ? { checked: c.checked } : {}),
    ...(c.passedChecks !== undefined ? { passedChecks: c.passedChecks } : {}),
    ...(c.declined !== undefined ? { declined: c.declined } : {}),
  };
}

/** The record's id: SHA-256 of its canonical payload (what the signature covers). */
export function approvalId(payload: ApprovalPayload): string {
  return canonicalHash(payload);
}

export interface CreateApprovalInput {
  readonly model: RegisteredModel;
  readonly role: string;
  readonly decision: 'approve' | 'reject';
  readonly reason?: string;
  readonly key: Ed25519KeyPair;
  readonly now?: Date;
  /** How long the decision holds. */
  readonly validForMs: number;
  /** The stage approved for (default production, which also covers the canary). */
  readonly stage?: ApprovalStage;
}

/** Builds and signs an approval (or rejection) of `model`. */
export function createApproval(input: CreateApprovalInput): SignedApproval {
  const now = input.now ?? new Date();
  if (input.decision === 'reject' && (input.reason ?? '').trim() === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'A rejection needs a reason');
  if (!(input.validForMs > 0)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'An approval must be valid for a positive duration');
  if (input.validForMs > MAX_DURATION_MS) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `An approval cannot be valid for more than ${MAX_DURATION_MS / 86_400_000} days`);
  const payload = ApprovalPayload.parse({
    type: APPROVAL_TYPE,
    model: { name: input.model.name, version: input.model.version, lineageHash: input.model.lineageHash },
    evidence: evidenceFor(input.model),
    decision: input.decision,
    reason: input.reason?.trim() || null,
    role: input.role,
    signer: { keyId: input.key.keyId },
    stage: input.stage ?? 'production',
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + input.validForMs).toISOString(),
  });
  return { payload, signature: toBase64(signDetached(canonicalJson(payload), input.key.seed)) };
}

/** Why a record does not count. Each names one condition of issue 6's "done when" list. */
export type ApprovalFailureCode =
  | 'malformed'
  | 'unknown-signer'
  | 'signature-invalid'
  | 'key-revoked'
  | 'role-not-held'
  | 'expired'
  | 'not-yet-valid'
  | 'model-unknown'
  | 'wrong-stage'
  | 'validity-too-long'
  | 'model-mismatch'
  | 'lineage-mismatch'
  | 'evidence-mismatch';

export type ApprovalCheck =
  | { readonly ok: true; readonly id: string; readonly approval: SignedApproval; readonly approver: Approver }
  | { readonly ok: false; readonly id: string | null; readonly code: ApprovalFailureCode; readonly reason: string; readonly keyId: string | null; readonly role: string | null };

export interface VerifyContext {
  /** The trust registry (all approvers, revoked ones included). */
  readonly approvers: readonly Approver[];
  /** The model the record must be about (undefined: the model it names is not registered). */
  readonly model: RegisteredModel | undefined;
  readonly now: Date;
  /** The stage being gated; records for another stage do not count (production records cover canary). */
  readonly stage?: ApprovalStage;
  /** The policy's maximum validity (expiresAt − issuedAt); longer records do not count. */
  readonly maxValidityMs?: number;
}

/**
 * Checks one record: well-formed, signed by a registered key, signature valid, key not revoked, role held,
 * in its validity window, about this model and its lineage, and stating the evidence the registry holds.
 */
export function verifyApproval(record: unknown, ctx: VerifyContext): ApprovalCheck {
  const parsed = SignedApproval.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, id: null, code: 'malformed', reason: `the record does not match ${APPROVAL_TYPE}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(), keyId: null, role: null };
  }
  const { payload, signature } = parsed.data;
  const id = approvalId(payload);
  const keyId = payload.signer.keyId;
  const fail = (code: ApprovalFailureCode, reason: string): ApprovalCheck => ({ ok: false, id, code, reason, keyId, role: payload.role });
  const approver = ctx.approvers.find((a) => a.keyId === keyId);
  if (!approver) return fail('unknown-signer', `key ${keyId} is not in the approver registry`);
  const publicKey = decodeKeyText(approver.publicKey, 32);
  const sig = Buffer.from(signature, 'base64');
  if (!publicKey || !verifyDetached(canonicalJson(payload), new Uint8Array(sig), publicKey)) {
    return fail('signature-invalid', `the signature does not verify under ${approver.name}'s key ${keyId} (forged or altered record)`);
  }
  if (isRevoked(approver, ctx.now)) return fail('key-revoked', `${approver.name}'s key ${keyId} was revoked at ${approver.revokedAt ?? '?'} (${approver.revokedReason ?? 'no reason'})`);
  if (!approver.roles.includes(payload.role)) return fail('role-not-held', `${approver.name} (${keyId}) does not hold the role '${payload.role}' (holds: ${approver.roles.join(', ')})`);
  const now = ctx.now.getTime();
  if (Date.parse(payload.expiresAt) <= now) return fail('expired', `the ${payload.role} ${payload.decision} by ${approver.name} expired at ${payload.expiresAt}`);
  if (Date.parse(payload.issuedAt) > now + MAX_CLOCK_SKEW_MS) return fail('not-yet-valid', `the record is issued in the future (${payload.issuedAt})`);
  const recordStage = payload.stage ?? 'canary';
  if (ctx.stage === 'production' && recordStage !== 'production' && payload.decision === 'approve') {
    return fail('wrong-stage', `${approver.name} approved for ${recordStage}, not production (approvals sign their stage)`);
  }
  const validity = Date.parse(payload.expiresAt) - Date.parse(payload.issuedAt);
  if (ctx.maxValidityMs !== undefined && validity > ctx.maxValidityMs) {
    return fail('validity-too-long', `the record is valid for ${Math.round(validity / 86_400_000)} days, beyond the policy's maximum of ${Math.round(ctx.maxValidityMs / 86_400_000)}`);
  }
  if (!ctx.model) return fail('model-unknown', `model ${payload.model.version} is not in the registry`);
  if (payload.model.version !== ctx.model.version) return fail('model-mismatch', `the record is for model ${payload.model.version}, not ${ctx.model.version}`);
  if (payload.model.lineageHash !== ctx.model.lineageHash) return fail('lineage-mismatch', `the record signs lineage ${payload.model.lineageHash}, but the registry holds ${ctx.model.lineageHash}`);
  if (canonicalJson(payload.evidence) !== canonicalJson(evidenceFor(ctx.model))) return fail('evidence-mismatch', 'the evidence in the record differs from the registered lineage');
  return { ok: true, id, approval: parsed.data, approver };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** No signed decision outlives the floor's 365-day cap; durations beyond it are refused when parsed. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/** Parses `30d`, `12h`, `90m`, `2w`, `45s` into milliseconds (at most 365 days: a coded error, never a RangeError). */
export function parseDuration(text: string): number {
  const m = /^(\d{1,12})\s*([smhdw])$/.exec(text.trim());
  const unit = m ? DURATION_UNITS[m[2] ?? ''] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `'${text}' is not a duration like 30d, 12h, 90m, 2w or 45s`);
  const ms = Number(m[1]) * unit;
  if (ms > MAX_DURATION_MS) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `'${text}' is longer than the longest validity any policy allows (365 days)`);
  return ms;
}
