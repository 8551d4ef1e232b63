/**
 * The coordinator's side of data contracts: it records how many clients' checks reached the round and how many
 * failed, and raises drift alerts — a warning log line and the `tessera_drift_alerts_total` metric — when a
 * feature's aggregate crosses its threshold. Everything comes from SUMS (governance/contract/drift-extension.ts):
 * the participants' dataContract extension vectors, added up on the plain path and unmasked only as a sum under
 * secure aggregation, plus the vectors of the contract declines (a decline travels in the clear on both paths),
 * so the alerts are the same with and without secure aggregation.
 *
 * The drift layout (which column/statistic is where) comes from the contract the job names: the one the
 * coordinator was given (`FeatureContext.contract`) or a built-in contract with that hash.
 */
import { contractByHash, isBuiltinContract, loadBuiltinContract } from '../../datasets/contracts/index.ts';
import { dataContractContribution, dataContractExtension, decodeDataContractSum, driftLayout, type DriftKey } from '../../governance/contract/drift-extension.ts';
import { contractHash, type Contract } from '../../governance/contract/schema.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { FeatureFactory } from './assemble.ts';

/** The contract `spec` names, when the coordinator holds it (given, or built in); else undefined. */
export function jobContract(spec: JobSpec, contract?: Contract): Contract | undefined {
  const hash = spec.data.contractHash;
  return hash === undefined ? undefined : contractByHash(hash, contract !== undefined ? [contract] : []);
}

/**
 * The contract the clients computed the model's inputs with: the one the job names, else — a job on a built-in
 * data set without a contract hash — the built-in contract its loader reads the data with (datasets/index.ts).
 * Undefined for MNIST, `csv` without a hash, or a named contract the coordinator does not hold.
 */
export function jobInputContract(spec: JobSpec, contract?: Contract): Contract | undefined {
  if (spec.data.contractHash !== undefined) return jobContract(spec, contract);
  return isBuiltinContract(spec.data.dataset) ? loadBuiltinContract(spec.data.dataset) : undefined;
}

/** The drift layout of the contract `spec` names, when the coordinator holds that contract; else undefined. */
export function jobDriftLayout(spec: JobSpec, contract?: Contract): readonly DriftKey[] | undefined {
  const found = jobContract(spec, contract);
  return found === undefined ? undefined : driftLayout(found);
}

export const dataContractFeature: FeatureFactory = (ctx) => {
  const metrics = ctx.metrics;
  const hash = ctx.spec.data.contractHash;
  if (hash === undefined) return null;
  if (ctx.contract !== undefined && contractHash(ctx.contract) !== hash) {
    throw new TesseraError('TESSERA_ERR_CONTRACT_MISMATCH', `the coordinator was given contract ${ctx.contract.name} ${ctx.contract.version} (${contractHash(ctx.contract).slice(0, 12)}…); the job names ${hash.slice(0, 12)}…`);
  }
  const layout = jobDriftLayout(ctx.spec, ctx.contract);
  if (layout === undefined) {
    // Under secure aggregation the clients append the contract-check sums to their masked input: without the
    // layout the coordinator's vector length would differ from theirs and every round would be refused.
    if (ctx.spec.secagg.enabled) throw new TesseraError('TESSERA_ERR_CONTRACT_UNAVAILABLE', `the job names data contract ${hash.slice(0, 12)}…, which this coordinator does not hold; it cannot decode the clients' contract-check sums under secure aggregation`);
    ctx.logger.warn({ contractHash: hash }, 'the coordinator does not hold the job\'s data contract: it counts contract declines but raises no drift alerts');
  }
  const width = layout === undefined ? 0 : dataContractExtension(ctx.spec, layout.length).segments.reduce((s, g) => s + g.length, 0);
  return {
    name: 'data-contract',
    provides: ['drift-report'],
    hooks: {
      roundExtra(round, outcome) {
        const declines = outcome.declinedChecks.filter((s) => s.contractHash === hash);
        const passedSum = outcome.extensions.dataContract;
        if (layout === undefined) {
          if (declines.length === 0) return {};
          return { dataContract: { checked: declines.length, failed: declines.filter((d) => !d.passed).length, driftAlerts: [] } };
        }
        if (passedSum === undefined && declines.length === 0) return {};
        // The participants' sum (never one participant's vector), plus each decline's vector by the same definition.
        const total = Float64Array.from(passedSum?.values ?? new Float64Array(width));
        for (const d of declines) {
          const v = dataContractContribution(d, layout, ctx.spec);
          for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (v[i] as number);
        }
        const sums = decodeDataContractSum(total, layout);
        const alerts = sums.drift.filter((a) => a.alert);
        for (const a of alerts) {
          ctx.logger.warn({ round, column: a.column, statistic: a.statistic, meanValue: a.meanValue, threshold: a.threshold, driftedClients: a.driftedClients }, `drift alert on ${a.column}`);
          metrics?.inc('tessera_drift_alerts_total', 'Drift alerts raised per feature', { job: ctx.jobId, column: a.column, statistic: a.statistic });
        }
        const failed = sums.checked - sums.passed;
        if (failed > 0) metrics?.inc('tessera_contract_declines_total', 'Clients that declined a round because their data failed the contract', { job: ctx.jobId }, failed);
        return { dataContract: { checked: sums.checked, failed, driftAlerts: alerts.map((a) => ({ column: a.column, statistic: a.statistic, meanValue: a.meanValue, threshold: a.threshold, driftedClients: a.driftedClients, clients: a.clients })) } };
      },
    },
  };
};
