/**
 * Which strategies a job's other settings allow, decided in one place for preflight (`tessera jobs check`, job
 * submission) and for job assembly (the coordinator and `tessera simulate`), so both refuse the same jobs with
 * the same code, TESSERA_ERR_STRATEGY_INCOMPATIBLE.
 *
 * - A robust aggregator (median, trimmed mean, Krum) is a function of the INDIVIDUAL updates. Under secure
 *   aggregation the coordinator learns only their sum (Bonawitz et al. 2017; Bell et al. 2020) — there is nothing
 *   to take a median of — so the combination is refused, not weakened.
 * - With DP, the ledger charges the (subsampled) Gaussian mechanism on the SUM of updates clipped to C, whose
 *   L2 sensitivity is C (dp-strategy.ts). A robust aggregator releases another function of the updates: its
 *   sensitivity is not C (one client moves a coordinate-wise median by up to the gap between neighbouring order
 *   statistics in every coordinate at once), and under distributed placement each individual update carries only
 *   a 1/m share of the noise. What the combination would require: every update noised to the full σC on its own
 *   (local placement), the robust aggregate then being post-processing of individually private updates, accounted
 *   WITHOUT amplification by sampling (the coordinator sees who contributed, so q = 1). The ledger does not
 *   account that, so every placement is refused. Server optimisers (FedAdam …) and FedProx are fine under DP: the
 *   former post-process the released noised mean, the latter only changes the local objective before clipping.
 * - Krum is defined for n ≥ 2f + 3 (Blanchard et al. 2017, Proposition 1: 2f + 2 < n); minClients must allow it.
 */
import type { JobSpec } from '../protocol/job/spec.ts';
import { TesseraError } from '../protocol/errors.ts';

export interface StrategyConflict {
  readonly code: 'TESSERA_ERR_STRATEGY_INCOMPATIBLE';
  /** The spec path at fault. */
  readonly where: string;
  readonly message: string;
  readonly fix: string;
}

export function strategyConflicts(spec: Pick<JobSpec, 'strategy' | 'secagg' | 'dp' | 'minClients'>): StrategyConflict[] {
  const agg = spec.strategy.aggregator;
  if (agg === undefined || agg.kind === 'mean') return [];
  const out: StrategyConflict[] = [];
  const code = 'TESSERA_ERR_STRATEGY_INCOMPATIBLE' as const;
  if (spec.secagg.enabled) {
    out.push({ code, where: 'strategy.aggregator', message: `the ${agg.kind} aggregator needs each client's update, but under secure aggregation the coordinator learns only their sum`, fix: 'remove strategy.aggregator (the mean is what secure aggregation computes), or turn secagg off where every organisation accepts plain updates' });
  }
  if (spec.dp.enabled) {
    out.push({ code, where: 'strategy.aggregator', message: `the ${agg.kind} aggregator releases a function of the individual updates whose sensitivity is not the clip norm C, so the ledger's ε (the Gaussian mechanism on the clipped SUM, amplified by sampling) would not hold for any DP placement`, fix: 'remove strategy.aggregator, or dp (it would need each update noised to σC on its own — local placement — accounted without amplification by sampling, which the ledger does not do)' });
  }
  if (agg.kind === 'krum' && spec.minClients < 2 * agg.byzantine + 3) {
    out.push({ code, where: 'minClients', message: `Krum with f = ${agg.byzantine} needs n ≥ 2f + 3 = ${2 * agg.byzantine + 3} participants per round (Blanchard et al. 2017), but minClients = ${spec.minClients} lets a round complete with fewer`, fix: `raise minClients to ${2 * agg.byzantine + 3}, or lower strategy.aggregator.byzantine` });
  }
  return out;
}

/** Throws the first conflict (assembly: a job that cannot run as written never starts). */
export function assertStrategyCompatible(spec: Pick<JobSpec, 'strategy' | 'secagg' | 'dp' | 'minClients'>): void {
  const c = strategyConflicts(spec)[0];
  if (c) throw new TesseraError(c.code, `${c.where}: ${c.message}. Fix: ${c.fix}.`, { details: { where: c.where } });
}
