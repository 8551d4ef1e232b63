/**
 * `tessera privacy plan --mechanism ddgauss`: the distributed discrete Gaussian's numbers for a job
 * (privacy/dp/ddgauss/planner.ts) and why they are what they are — the bits against the chance of a modular wrap,
 * the grid step and what conditional rounding adds to the sensitivity, and the noise against the continuous
 * Gaussian's for the same budget (RDP, and the PLD accountant, which the continuous mechanism may use).
 */
import { planNoiseMultiplier } from '../privacy/accountant/index.ts';
import { planDdgauss, type DdgaussPlan, type DdgaussPlanInput } from '../privacy/dp/ddgauss/planner.ts';
import { TesseraError } from '../protocol/errors.ts';
import { printJson, printLine } from './run.ts';

export interface DdgaussCliOptions {
  epsilon: number;
  delta: number;
  accountedDelta: number;
  samplingRate: number;
  steps: number;
  dimension?: number;
  minSurvivors?: number;
  clients?: number;
  bits?: number;
  clipNorm: number;
  overflowProbability: number;
  json?: boolean;
}

/** The bit widths shown next to the chosen one, to show the trade-off. */
const COMPARE_BITS = [16, 20, 24, 32] as const;

export function runDdgaussPlan(o: DdgaussCliOptions): void {
  if (o.dimension === undefined || o.minSurvivors === undefined) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--mechanism ddgauss needs --dimension (the model’s parameter count) and --min-survivors (max(minClients, secure-aggregation threshold))');
  }
  const input: DdgaussPlanInput = {
    epsilon: o.epsilon,
    delta: o.accountedDelta,
    samplingRate: o.samplingRate,
    rounds: o.steps,
    clipNorm: o.clipNorm,
    dimension: o.dimension,
    minSurvivors: o.minSurvivors,
    clients: o.clients ?? o.minSurvivors,
    overflowProbability: o.overflowProbability,
    ...(o.bits === undefined ? {} : { bits: o.bits }),
  };
  const chosen = planDdgauss(input);
  const alternatives: DdgaussPlan[] = [];
  for (const bits of COMPARE_BITS) {
    if (bits === chosen.bits) continue;
    try {
      alternatives.push(planDdgauss({ ...input, bits, beta: chosen.beta }));
    } catch {
      // Too few bits for this many clients at this overflow target: left out of the comparison.
    }
  }
  const gaussian = planNoiseMultiplier({ epsilon: o.epsilon, delta: o.accountedDelta, samplingRate: o.samplingRate, steps: o.steps });
  const pld = planNoiseMultiplier({ epsilon: o.epsilon, delta: o.accountedDelta, samplingRate: o.samplingRate, steps: o.steps, accountant: 'pld' });
  const dp = { mechanism: 'ddgauss', noiseMultiplier: chosen.noiseMultiplier, clipNorm: o.clipNorm, ddgauss: { bits: chosen.bits, granularity: chosen.granularity, beta: chosen.beta } };
  if (o.json) {
    printJson({ dp, plan: chosen, alternatives, continuousGaussian: { rdp: gaussian.noiseMultiplier, pld: pld.noiseMultiplier }, delta: o.delta, accountedDelta: o.accountedDelta });
    return;
  }
  const n = o.clients ?? o.minSurvivors;
  printLine(`dp section: ${JSON.stringify(dp)}`);
  printLine(`gives epsilon = ${chosen.epsilon} ≤ ${o.epsilon} at delta = ${o.delta} after ${o.steps} rounds with sampling rate ${o.samplingRate}, with ${o.minSurvivors} clients' noise in each sum (more survivors are charged less)`);
  printLine(`noise: each client adds N_Z(0, (${sig(chosen.localStd / chosen.granularity)})²) grid steps = std ${sig(chosen.localStd)} in model units; the sum of ${o.minSurvivors} has std σ·C = ${sig(chosen.noiseMultiplier * o.clipNorm)}`);
  printLine(`grid: γ = ${chosen.granularity} (scale 1/γ = ${sig(1 / chosen.granularity)}), rotation to D = ${chosen.paddedDimension} coordinates; conditional rounding with β = ${sig(chosen.beta)} raises the sensitivity to ${sig(chosen.sensitivityInflation)}·C; τ = ${chosen.tau.toExponential(2)}`);
  printLine(`bits: ${chosen.bits} per coordinate keep the sum of ${n} clients within ±2^${chosen.bits - 1} to ${sig(chosen.kStddevs)} standard deviations: a coordinate wraps with probability ≤ ${chosen.overflowProbability.toExponential(2)} per round (a wrap costs accuracy, never privacy)`);
  for (const a of alternatives) printLine(`  with ${a.bits} bits: γ = ${a.granularity}, σ = ${a.noiseMultiplier} (sensitivity ${sig(a.sensitivityInflation)}·C, τ = ${a.tau.toExponential(2)})`);
  printLine(`the continuous Gaussian needs σ = ${sig(gaussian.noiseMultiplier)} (RDP) or ${sig(pld.noiseMultiplier)} (PLD accountant) for the same budget; DDGauss costs ${sig(chosen.noiseMultiplier / gaussian.noiseMultiplier)}× the RDP σ`);
}

function sig(x: number): string {
  return Number(x.toPrecision(5)).toString();
}
