import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../protocol/errors.ts';
import { DpSection } from '../../protocol/job/dp.ts';
import { resolveDpPlan } from './config.ts';

const dp = (over: Record<string, unknown>) => DpSection.parse({ enabled: true, epsilon: 3, ...over });
const poisson = { mode: 'poisson' as const, rate: 0.1 };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isTesseraError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('DpSection', () => {
  it('requires a budget and a positive σ when enabled, and a trusted coordinator for central placement', () => {
    expect(DpSection.safeParse({ enabled: true }).success).toBe(false);
    expect(DpSection.safeParse({ enabled: true, epsilon: 1, noiseMultiplier: 0 }).success).toBe(false);
    expect(DpSection.safeParse({ enabled: true, epsilon: 1, placement: 'central' }).success).toBe(false);
    expect(DpSection.safeParse({ enabled: true, epsilon: 1, placement: 'central', trustedCoordinator: true }).success).toBe(true);
    expect(DpSection.parse({}).enabled).toBe(false);
  });
});

describe('resolveDpPlan', () => {
  it('distributed: m = max(minClients, threshold), σ unchanged', () => {
    const plan = resolveDpPlan({ dp: dp({ noiseMultiplier: 1.1, clipNorm: 0.7 }), sampling: poisson, minClients: 5, secaggThreshold: 8 });
    expect(plan).toMatchObject({ placement: 'distributed', samplingRate: 0.1, minSurvivors: 8, accountedNoiseMultiplier: 1.1, updateNoiseMultiplier: 1.1, clipNorm: 0.7, epsilon: 3, delta: 1e-5, adaptiveClipping: null });
  });
  it('refuses fixed-size sampling, untrusted central placement (even if the schema was bypassed), and analytic with q < 1', () => {
    expect(code(() => resolveDpPlan({ dp: dp({}), sampling: { mode: 'fixed', clientsPerRound: 10 }, minClients: 1 }))).toBe('TESSERA_ERR_DP_CONFIG');
    const central = { ...dp({}), placement: 'central' as const, trustedCoordinator: false };
    expect(code(() => resolveDpPlan({ dp: central, sampling: poisson, minClients: 1 }))).toBe('TESSERA_ERR_DP_CONFIG');
    expect(code(() => resolveDpPlan({ dp: dp({ accountant: 'analytic_gaussian' }), sampling: poisson, minClients: 1 }))).toBe('TESSERA_ERR_DP_CONFIG');
    expect(resolveDpPlan({ dp: dp({ accountant: 'analytic_gaussian' }), sampling: { mode: 'poisson', rate: 1 }, minClients: 1 }).accountant).toBe('analytic_gaussian');
  });
  it('adaptive clipping raises the update σ and keeps the accounted σ', () => {
    const plan = resolveDpPlan({ dp: dp({ noiseMultiplier: 1, adaptiveClipping: { enabled: true } }), sampling: poisson, minClients: 1, population: 1000 });
    expect(plan.accountedNoiseMultiplier).toBe(1);
    expect(plan.adaptiveClipping?.countNoiseStd).toBeCloseTo(5, 12); // 0.05 × q·N = 0.05 × 100
    expect(plan.updateNoiseMultiplier).toBeCloseTo((1 - 1 / 100) ** -0.5, 12);
    expect(code(() => resolveDpPlan({ dp: dp({ adaptiveClipping: { enabled: true } }), sampling: poisson, minClients: 1 }))).toBe('TESSERA_ERR_DP_CONFIG');
  });
});
