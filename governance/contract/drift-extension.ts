/**
 * The data-contract check as sums (issue 21 §3, issue 13 §5): what one client's check adds to the round is a
 * fixed-length vector (a secure extension, privacy/secagg/extension.ts), and the coordinator computes the
 * round's drift alerts from the SUM of those vectors alone — under secure aggregation it never sees one
 * client's drift statistics. The alert rule needs only sums:
 *     meanValue = Σ nᵢ·vᵢ / Σ nᵢ,  threshold = Σ nᵢ·τᵢ / Σ nᵢ  (the n-weighted means of the clients' statistics
 *     and thresholds; KS thresholds depend on sample size),  alert = meanValue > threshold  or
 *     Σ driftedᵢ > alertFraction · Σ reportedᵢ.
 * The weighted mean of per-client statistics is not the statistic of the pooled data (that would need the
 * clients' histograms); it answers "is drift typical across the federation", `driftedClients` "how often".
 *
 * Layout, from the contract the job names (both sides hold it: the clients to check, the coordinator to name the
 * columns): `checks` = [checked, passed], then per drift key (column, statistic) in contract order: reported,
 * drifted, n (counts; n ≤ W = secagg.maxExamplesPerClient, clipped to it), and n·v, n·τ (reals clamped to
 * [0, W·DRIFT_VALUE_CAP]; a statistic above the cap counts as the cap — far past every alert threshold).
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { ContractCheckSummary } from '../../protocol/data-check.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { UpdateExtension } from '../../privacy/secagg/extension.ts';
import type { Contract } from './schema.ts';
import { roundTo } from './stats.ts';

export interface DriftKey {
  readonly column: string;
  readonly statistic: 'psi' | 'ks';
}

/** Largest drift statistic (PSI or KS) or threshold a client contributes; KS ≤ 1, PSI ≥ 10 is total shift. */
export const DRIFT_VALUE_CAP = 10;
/** "More than half of the reporting clients drifted" raises an alert even when the mean stays below threshold. */
export const DRIFT_ALERT_FRACTION = 0.5;
const CHECKS = 2;
const PER_KEY = 5;

const keyOf = (k: DriftKey): string => `${k.statistic}\u0000${k.column}`;

/**
 * The (column, statistic) pairs a check against `contract` can report, in contract order — the same rule as
 * governance/contract/check.ts: numeric columns with a numeric reference give PSI and KS, categorical references
 * PSI, the label PSI against the reference label frequencies; columns with `drift.enabled: false` none.
 */
export function driftLayout(contract: Contract): DriftKey[] {
  const out = new Map<string, DriftKey>();
  const add = (k: DriftKey): void => void out.set(keyOf(k), k);
  const refs = contract.reference?.columns ?? {};
  for (const col of contract.columns) {
    if (col.drift?.enabled === false) continue;
    const ref = refs[col.name];
    const isLabel = contract.label?.column === col.name;
    const numeric = (col.type === 'number' || col.type === 'integer') && col.categories === undefined && !isLabel;
    if (ref?.kind === 'numeric' && numeric) {
      add({ column: col.name, statistic: 'psi' });
      add({ column: col.name, statistic: 'ks' });
    }
    if (ref?.kind === 'categorical') add({ column: col.name, statistic: 'psi' });
    if (isLabel && contract.reference?.label !== undefined) add({ column: col.name, statistic: 'psi' });
  }
  return [...out.values()];
}

/** The extension's definition for `keys` drift pairs: its length and ranges come from the job spec (W). */
export function dataContractExtension(job: Pick<JobSpec, 'secagg'>, keys: number): UpdateExtension {
  const W = job.secagg.maxExamplesPerClient;
  return {
    key: 'dataContract',
    segments: [
      { name: 'checks', kind: 'count', length: CHECKS, bound: 1 },
      { name: 'reported', kind: 'count', length: keys, bound: 1 },
      { name: 'drifted', kind: 'count', length: keys, bound: 1 },
      { name: 'n', kind: 'count', length: keys, bound: W },
      { name: 'nValue', kind: 'real', length: keys, range: W * DRIFT_VALUE_CAP, mode: 'clamp' },
      { name: 'nThreshold', kind: 'real', length: keys, range: W * DRIFT_VALUE_CAP, mode: 'clamp' },
    ],
  };
}

/** The number of drift keys a dataContract vector of `length` holds (the client's side of the layout). */
export function driftKeysInVector(length: number): number {
  const k = (length - CHECKS) / PER_KEY;
  if (!Number.isInteger(k) || k < 0) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `a dataContract extension of ${length} values fits no drift layout`);
  return k;
}

/** One client's vector from its check summary (a passing client's, or a decliner's), clipped to the public ranges. */
export function dataContractContribution(summary: ContractCheckSummary, keys: readonly DriftKey[], job: Pick<JobSpec, 'secagg'>): number[] {
  const W = job.secagg.maxExamplesPerClient;
  const K = keys.length;
  const at = new Map(keys.map((k, i) => [keyOf(k), i]));
  const v = new Array<number>(CHECKS + PER_KEY * K).fill(0);
  v[0] = 1;
  v[1] = summary.passed ? 1 : 0;
  for (const d of summary.drift) {
    const i = at.get(keyOf(d));
    if (i === undefined) throw new TesseraError('TESSERA_ERR_CONTRACT_MISMATCH', `the check reported ${d.statistic} drift on ${d.column}, which the contract's drift layout does not have`);
    const n = Math.min(d.n, W);
    const cap = (x: number): number => Math.min(Math.max(x, 0), DRIFT_VALUE_CAP);
    // Two reports for one key (a label column with its own reference) merge as their n-weighted mean does.
    v[CHECKS + i] = 1;
    v[CHECKS + K + i] = Math.max(v[CHECKS + K + i] as number, d.drifted ? 1 : 0);
    const prevN = v[CHECKS + 2 * K + i] as number;
    v[CHECKS + 2 * K + i] = Math.min(W, prevN + n);
    v[CHECKS + 3 * K + i] = Math.min(W * DRIFT_VALUE_CAP, (v[CHECKS + 3 * K + i] as number) + n * cap(d.value));
    v[CHECKS + 4 * K + i] = Math.min(W * DRIFT_VALUE_CAP, (v[CHECKS + 4 * K + i] as number) + n * cap(d.threshold));
  }
  return v;
}

export interface DriftAggregate {
  readonly column: string;
  readonly statistic: 'psi' | 'ks';
  /** Clients that reported this statistic. */
  readonly clients: number;
  /** Clients whose own check found drift. */
  readonly driftedClients: number;
  /** Values the statistic was computed on, over all clients. */
  readonly n: number;
  /** Mean of the clients' statistics weighted by their n (4 decimals). */
  readonly meanValue: number;
  /** Mean of the clients' thresholds weighted by their n (4 decimals). */
  readonly threshold: number;
  readonly alert: boolean;
}

export interface DataContractSums {
  readonly checked: number;
  readonly passed: number;
  readonly drift: readonly DriftAggregate[];
}

/** The round's figures from the SUM of the clients' vectors (nothing per client is needed or available). */
export function decodeDataContractSum(sum: ArrayLike<number>, keys: readonly DriftKey[]): DataContractSums {
  const K = keys.length;
  if (sum.length !== CHECKS + PER_KEY * K) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `a dataContract sum of ${sum.length} values does not fit ${K} drift keys`);
  const at = (i: number): number => sum[i] as number;
  const drift: DriftAggregate[] = [];
  keys.forEach((k, i) => {
    const clients = Math.round(at(CHECKS + i));
    if (clients === 0) return;
    const driftedClients = Math.round(at(CHECKS + K + i));
    const n = Math.round(at(CHECKS + 2 * K + i));
    const meanValue = n === 0 ? 0 : at(CHECKS + 3 * K + i) / n;
    const threshold = n === 0 ? 0 : at(CHECKS + 4 * K + i) / n;
    drift.push({ ...k, clients, driftedClients, n, meanValue: roundTo(meanValue, 4), threshold: roundTo(threshold, 4), alert: meanValue > threshold || driftedClients > DRIFT_ALERT_FRACTION * clients });
  });
  // By column, then statistic: the order reports and round records have always listed them in.
  drift.sort((a, b) => (a.column === b.column ? (a.statistic < b.statistic ? -1 : 1) : a.column < b.column ? -1 : 1));
  return { checked: Math.round(at(0)), passed: Math.round(at(1)), drift };
}
