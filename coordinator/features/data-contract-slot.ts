/**
 * The data-contract feature's slot in the round record (`extra.dataContract`): how many participants' checks
 * reached the coordinator, how many failed, and the drift alerts of the round's aggregate (DriftAggregate,
 * governance/contract/summary.ts). Written by coordinator/features/data-contract.ts.
 */
import { z } from 'zod';
import { defineSlot, type SlotValue } from './slot.ts';

const count = z.number().int().min(0);

export const DriftAlertSchema = z.object({
  column: z.string(),
  statistic: z.enum(['psi', 'ks']),
  meanValue: z.number(),
  threshold: z.number(),
  driftedClients: count,
  clients: count,
});

export const DATA_CONTRACT_SLOT = defineSlot('dataContract', 'data-contract', z.object({ checked: count, failed: count, driftAlerts: z.array(DriftAlertSchema) }));

export type RoundDataContract = SlotValue<typeof DATA_CONTRACT_SLOT>;
