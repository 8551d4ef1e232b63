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
  connectedAt: z.number().describe('epoch milliseconds'),
});

export const ClientsResponse = z.object({
  clients: z.array(ConnectedClientView),
  stats: z.object({
    malformedMessages: z.number().int().min(0),
    unexpectedMessages: z.number().int().min(0),
    lateMessages: z.number().int().min(0),
  }),
});
export type ClientsResponse = z.infer<typeof ClientsResponse>;

export const JobRunStatus = z.enum(['running', 'completed', 'failed', 'stopped', 'budget-exhausted']);

/** What every reader role may see of a job: no per-organisation detail. */
export const JobSummary = z.object({
  jobId: z.string(),
  name: z.string(),
  status: JobRunStatus,
  message: z.string(),
  startedAt: z.string(),
  roundsCompleted: z.number().int().min(0),
});

export const JobsResponse = z.object({ jobs: z.array(JobSummary) });
export type JobsResponse = z.infer<typeof JobsResponse>;

/** Path parameters of a route on one job. */
export const JobIdParams = z.strictObject({ id: z.string().min(1).max(256) });

/** Path parameters of a route on one served model. */
export const ModelNameParams = z.strictObject({ name: z.string().min(1).max(256) });
