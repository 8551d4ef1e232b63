/**
 * The operator API's HTTP payloads (house rule 1: one definition per wire message). Routes declare these as
 * their request and per-status response schemas (coordinator/api/conventions.ts), so responses are serialised
 * through them — response objects strip what they do not declare, so a field added to an internal record never
 * leaves the coordinator unannounced — and the OpenAPI document at `GET /v1/openapi.json` is generated from them.
 * Request parts (path parameters, bodies) are strict: an unknown key is refused.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.ts';

const CODES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** Every non-2xx answer of the API: a stable code (protocol/errors.ts) and a message a person can act on. */
export const ApiError = z
  .object({
    error: z.object({
      code: z.enum(CODES).describe('Stable TESSERA_ERR_… code (docs/reference/error-codes.md)'),
      message: z.string(),
    }),
  })
  // Named, so the OpenAPI document holds it once under components.schemas and every error response refers to it.
  .meta({ id: 'ApiError' });
export type ApiError = z.infer<typeof ApiError>;

export const Health = z.object({
  ok: z.literal(true),
  protocolVersion: z.number().int(),
  /** How many clients are connected now (no names: this route is open). */
  clients: z.number().int().min(0),
  security: z.object({
    tls: z.boolean(),
    mutualTls: z.boolean(),
    /** Plain HTTP on a non-loopback interface (`--insecure`). */
    insecure: z.boolean(),
    warning: z.string().optional(),
  }),
});
export type Health = z.infer<typeof Health>;

export const ConnectedClientView = z.object({
  clientId: z.string(),
  /** From the consortium roster, never from the client's claim. */
  orgId: z.string(),
  /** The client's example count, only when its policy discloses it. */
  examples: z.number().int().min(0).optional(),
  connectedAt: z.string().describe('ISO 8601 UTC'),
});

/** An organisation the federation has seen since `since` (coordinator/presence.ts: in memory, bounded). */
export const OrgPresenceView = z.object({
  orgId: z.string(),
  connected: z.boolean(),
  /** Its clients connected now. */
  connectedClients: z.number().int().min(0),
  lastSeenAt: z.string().describe('ISO 8601 UTC: its last connect, message or disconnect'),
});

export const ClientsResponse = z.object({
  clients: z.array(ConnectedClientView),
  /** Every organisation seen since the coordinator started (`since`), connected first, then by last seen. */
  organisations: z.array(OrgPresenceView),
  since: z.string().describe('ISO 8601 UTC: when the coordinator began keeping the record'),
  stats: z.object({
    malformedMessages: z.number().int().min(0),
    unexpectedMessages: z.number().int().min(0),
    lateMessages: z.number().int().min(0),
  }),
});
export type ClientsResponse = z.infer<typeof ClientsResponse>;

/** Counts only (`GET /v1/presence`, every operator role): what a role without per-organisation detail sees. */
export const PresenceCounts = z.object({
  clients: z.number().int().min(0),
  organisations: z.object({ connected: z.number().int().min(0), disconnected: z.number().int().min(0) }),
  since: z.string().describe('ISO 8601 UTC'),
});
export type PresenceCounts = z.infer<typeof PresenceCounts>;

/**
 * A hosted job's state in the coordinator's job service (coordinator/job-service.ts; its transition table is in
 * coordinator/job-views.ts).
 */
export const HOSTED_JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const HostedJobState = z.enum(HOSTED_JOB_STATES);
export type HostedJobState = z.infer<typeof HostedJobState>;

/** One finding of the preflight (coordinator/preflight.ts): where, what, and the fix. */
export const PreflightFinding = z.object({
  level: z.enum(['error', 'warning']),
  code: z.string(),
  where: z.string(),
  message: z.string(),
  fix: z.string(),
});

/** What the job service says about a hosted job (issue 15 §1). Timestamps are ISO 8601 UTC strings. */
export const HostedJobView = z.object({
  jobId: z.string(),
  name: z.string(),
  state: HostedJobState,
  /** Why the job is in its state; `code` is the stable TESSERA_ERR_… code of a failure. */
  reason: z.object({ code: z.string().nullable(), message: z.string() }),
  /** The round loop's own end status (completed, budget-exhausted, failed, stopped) once the job ran. */
  outcome: z.enum(['completed', 'failed', 'stopped', 'budget-exhausted']).nullable(),
  submittedAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  roundsCompleted: z.number().int().min(0),
  registered: z.object({ name: z.string(), version: z.string() }).nullable(),
  /** The preflight's findings at submission (errors fail the job at once; warnings stay for the record). */
  findings: z.array(PreflightFinding),
});
export type HostedJobView = z.infer<typeof HostedJobView>;

/** A job in the list, for every reader role: no reason text and no findings (both may name organisations). */
export const HostedJobSummary = HostedJobView.omit({ reason: true, findings: true }).extend({ reasonCode: z.string().nullable() });
export const JobsResponse = z.object({ jobs: z.array(HostedJobSummary) });
export type JobsResponse = z.infer<typeof JobsResponse>;

/** A submission (`POST /v1/jobs`): the job spec (checked by the preflight, which names unknown keys) and whether to start it over. */
export const JobSubmission = z.strictObject({ spec: z.record(z.string(), z.unknown()), fresh: z.boolean().optional() });

/** Path parameters of a route on one job. */
export const JobIdParams = z.strictObject({ id: z.string().min(1).max(256) });

/** Path parameters of a route on one served model. */
export const ModelNameParams = z.strictObject({ name: z.string().min(1).max(256) });
