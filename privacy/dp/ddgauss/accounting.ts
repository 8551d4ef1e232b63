/**
 * A DDGauss job's rounds as the accountant composes them: the job's plan (privacy/dp/config.ts), the model's
 * dimension and the number of clients whose noise is in the sum give one round's RDP parameters (Kairouz et al.
 * 2021, Theorem 1 and Proposition 14; privacy/accountant/ddgauss.ts). The ledger charges each round with the
 * survivors actually in its sum; the plan, the pre-round check and each client's own policy use m, the fewest a
 * released sum may hold.
 */
import type { RoundGroup } from '../../accountant/index.ts';
import { ddgaussRoundParams } from '../../accountant/ddgauss.ts';
import type { DpPlan } from '../config.ts';
import { paddedDimension } from './rotation.ts';

/** One round of the plan's mechanism with `survivors` clients' noise (no `ddgauss` for the continuous Gaussian). */
export function roundForPlan(plan: DpPlan, dimension: number, survivors: number): Required<Pick<RoundGroup, 'samplingRate' | 'noiseMultiplier'>> & Pick<RoundGroup, 'ddgauss'> {
  const base = { samplingRate: plan.samplingRate, noiseMultiplier: plan.accountedNoiseMultiplier };
  if (plan.ddgauss === null) return base;
  const d = plan.ddgauss;
  return { ...base, ddgauss: ddgaussRoundParams({ clipNorm: plan.clipNorm, granularity: d.granularity, beta: d.beta, localStd: d.localStd, survivors, dim: paddedDimension(dimension) }) };
}
