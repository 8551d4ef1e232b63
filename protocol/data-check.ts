/**
 * What a client may tell the coordinator about its data-contract check (house rule 1: every wire payload is
 * defined in protocol/): codes and counts, and per-column drift statistics — numbers only, never raw values,
 * messages or row numbers. The checks themselves live in governance/contract.
 */
import { z } from 'zod';

export const VIOLATION_KINDS = ['missing-column', 'extra-column', 'column-count', 'type', 'range', 'category', 'missing-rate', 'outliers', 'label-unknown', 'label-balance'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** The reason code a client gives when its data fails the contract. */
export const CONTRACT_DECLINE_CODE = 'TESSERA_ERR_CONTRACT_VIOLATION';

export const ContractCheckSummary = z.strictObject({
  contractHash: z.string().regex(/^[0-9a-f]{64}$/),
  passed: z.boolean(),
  /** Present when the check failed. */
  reason: z.literal(CONTRACT_DECLINE_CODE).optional(),
  /**
   * The checked row count, and each violation's count: absent from a decline unless the client's policy discloses
   * them (client/policy/schema.ts `disclose.declineDetail`) — a decline is sent in the clear, outside any sum.
   */
  rows: z.number().int().min(0).optional(),
  violations: z.array(z.strictObject({ code: z.enum(VIOLATION_KINDS), column: z.string().nullable(), count: z.number().int().min(0).optional() })),
  drift: z.array(
    z.strictObject({
      column: z.string(),
      statistic: z.enum(['psi', 'ks']),
      value: z.number().finite(),
      threshold: z.number().finite(),
      drifted: z.boolean(),
      n: z.number().int().min(0),
    }),
  ),
});
export type ContractCheckSummary = z.infer<typeof ContractCheckSummary>;
