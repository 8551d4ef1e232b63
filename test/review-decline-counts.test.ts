/**
 * Review attack (issue 10 §5, "nothing exact in the clear"): a client node under the DEFAULT policy
 * (`disclose.exampleCount: false`: its exact number of rows is kept out of the handshake and the update) still
 * tells the coordinator its exact row count, in the clear, whenever its data fails the job's data contract: the
 * contract-check decline carries `counts.rows` and a `dataCheck` summary with `rows`, exact per-column
 * non-missing counts `n`, exact violation counts (e.g. how many patients have an out-of-range cholesterol) and
 * the drift statistics of its local data. The decline is sent before and regardless of secure aggregation and
 * DP. docs/client-policy.md mentions "violation counts and drift statistics", not the row count.
 *
 * Real mods (standardClientMods with the default policy and the built-in Heart contract), the real admission
 * path the ClientNode sends verbatim as its decline (client/node.ts), real UCI Heart data (Switzerland, whose
 * rows fail the contract: Janosi et al. 1988, via ../shared/data).
 * Fixed: the client policy's `disclose.declineDetail` (default off) decides. Off, the decline names only the failed
 * rule kinds and their columns — no row count, no violation counts, no drift statistics; the node's own log keeps
 * the details. The control turns it on and finds them all.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { admit } from '../client/mods/mod.ts';
import { standardClientMods } from '../client/mods/index.ts';
import { memoryParticipationRecord } from '../client/policy/participation.ts';
import { DEFAULT_CLIENT_POLICY, type ClientPolicy } from '../client/policy/schema.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { readContractTable } from '../governance/contract/load.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { logger, logisticJob } from './support/federation-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';

async function switzerlandDecline(policy: ClientPolicy) {
  const contract = loadBuiltinContract('heart');
  const table = readContractTable(contract, join(SHARED_DATA_DIR, 'heart', 'processed.switzerland.data'));
  const mods = standardClientMods({ policy, record: memoryParticipationRecord(), contract, table });
  const job = logisticJob({
    data: { dataset: 'heart', contractHash: contractHash(contract) },
    minClients: 3,
    sampling: { mode: 'poisson', rate: 0.5 },
    secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
    dp: { enabled: true, epsilon: 8, noiseMultiplier: 1, clipNorm: 1, placement: 'distributed' },
  });
  const task = { type: 'train' as const, jobId: 'review-decline', round: 1, taskId: randomUUID(), job, weights: encodeFloat32(new Float32Array(1)), deadlineMs: 30_000 };
  const a = await admit(mods, { task, clientId: 'switzerland', orgId: 'org-switzerland', logger });
  // The policy admitted the job; the contract check declined it.
  if (a.accept) throw new Error('expected the contract check to decline Switzerland');
  return { reason: a.reason, rows: table.rows.length };
}

describe('a contract decline under the default policy and DP', () => {
  it('names the failed rules and columns only: no row count, violation counts or drift statistics', async () => {
    const { reason, rows } = await switzerlandDecline(DEFAULT_CLIENT_POLICY);
    expect(reason.code).toBe('TESSERA_ERR_CONTRACT_VIOLATION');
    // What the node sends: its decline reason, verbatim.
    const wire = JSON.stringify(reason);
    expect(rows).toBeGreaterThan(100);
    expect([reason.counts?.rows, reason.dataCheck?.rows]).toEqual([undefined, undefined]);
    expect(wire).not.toContain(`${rows}`);
    expect(reason.dataCheck?.violations.length).toBeGreaterThan(0);
    expect(reason.dataCheck?.violations.every((v) => v.count === undefined && v.code.length > 0)).toBe(true);
    expect(reason.dataCheck?.drift).toEqual([]);
    expect(wire).not.toMatch(/"(n|value|count)":/);
  });

  it('control: with disclose.declineDetail the same decline carries the row count, counts and drift', async () => {
    const { reason, rows } = await switzerlandDecline({ ...DEFAULT_CLIENT_POLICY, disclose: { ...DEFAULT_CLIENT_POLICY.disclose, declineDetail: true } });
    expect(reason.dataCheck?.rows).toBe(rows);
    expect(reason.counts?.rows).toBe(rows);
    expect(reason.dataCheck?.violations.some((v) => (v.count ?? 0) > 0)).toBe(true);
    expect(reason.dataCheck?.drift.length).toBeGreaterThan(0);
  });
});
