/**
 * From the job spec's `secagg` section and a round's size to everything both sides need: the neighbour
 * degree k and threshold t (the finder, or the pinned values), the quantisation scale, and the vector layout
 * (d update coordinates, plus one example-count coordinate under example weighting). The coordinator calls
 * this to set up a round; a client calls it with the same inputs to check the coordinator's (k, t) through
 * SecAggClientOptions.acceptParams.
 */
import type { SecAggSection } from '../../protocol/job/secagg.ts';
import type { RandomSource } from '../random.ts';
import { checkSecAggParams, findSecAggParams, type ThreatModel } from './params.ts';
import { dequantizeSum, dpQuantizationRange, quantizationParams, quantize, type QuantizationParams } from './quantize.ts';
import { decodeWeightedMean, encodeWeightedUpdate, weightedParams, type WeightedParams } from './weighting.ts';

export interface SecAggPlan {
  readonly clients: number;
  readonly k: number;
  readonly t: number;
  readonly complete: boolean;
  readonly threatModel: ThreatModel;
  readonly consistencyCheck: boolean;
  readonly weighting: 'examples' | 'uniform';
  readonly quant: QuantizationParams;
  readonly weighted: WeightedParams | undefined;
  /** Length of the vector that is masked: the update length, plus one under example weighting. */
  readonly dim: number;
  readonly updateLength: number;
}

/**
 * The neighbour degree k and threshold t for `clients` (the pinned values, checked, or the finder's), which
 * every secure round of a job uses whatever its vector holds (training updates or evaluation counts).
 */
export function planSecAggGraph(section: SecAggSection, clients: number): { k: number; t: number; complete: boolean } {
  const s = section;
  if (s.degree !== undefined && s.threshold !== undefined) {
    checkSecAggParams({ clients, k: s.degree, t: s.threshold });
    return { k: s.degree, t: s.threshold, complete: s.degree === clients - 1 };
  }
  const { k, t, complete } = findSecAggParams({ clients, dropoutRate: s.dropoutRate, corruptRate: s.corruptRate, threatModel: s.threatModel });
  return { k, t, complete };
}

/**
 * `dp`: the job's DP clip norm and each client's noise std, when DP is on. The inputs are then already clipped
 * and noised: they are quantised WITHOUT clamping (modular), over a range widened to C + k·σ_client so the sum
 * wraps only with negligible probability (quantize.ts). Both sides pass the same values (job-plan.ts).
 */
export function planSecAggRound(options: { section: SecAggSection; clients: number; updateLength: number; dp?: { clipNorm: number; clientNoiseStd: number } | undefined }): SecAggPlan {
  const { section: s, clients, updateLength, dp } = options;
  const { k, t, complete } = planSecAggGraph(s, clients);
  const weighted = s.weighting === 'examples' ? weightedParams({ clipRange: s.clipRange, clients, bits: s.bitsPerCoordinate, maxExamples: s.maxExamplesPerClient }) : undefined;
  const quant =
    weighted?.quant ??
    (dp === undefined
      ? quantizationParams({ clipRange: s.clipRange, clients, bits: s.bitsPerCoordinate })
      : quantizationParams({ clipRange: dpQuantizationRange({ clipRange: s.clipRange, clipNorm: dp.clipNorm, clientNoiseStd: dp.clientNoiseStd }), clients, bits: s.bitsPerCoordinate, mode: 'modular' }));
  return {
    clients,
    k,
    t,
    complete,
    threatModel: s.threatModel,
    consistencyCheck: s.consistencyCheck,
    weighting: s.weighting,
    quant,
    weighted,
    dim: updateLength + (weighted === undefined ? 0 : 1),
    updateLength,
  };
}

/** The client's input to secure aggregation: its (already clipped and noised) update, quantised per the plan. */
export function encodeForSecAgg(plan: SecAggPlan, update: ArrayLike<number>, examples: number, rng: RandomSource): Uint32Array {
  if (update.length !== plan.updateLength) throw new RangeError(`update has ${update.length} coordinates, the plan expects ${plan.updateLength}`);
  return plan.weighted === undefined ? quantize(update, plan.quant, rng) : encodeWeightedUpdate({ update, examples, params: plan.weighted, rng });
}

/**
 * The coordinator's view after unmasking: the aggregate update (the example-weighted mean, or the plain mean
 * under uniform weighting) and, under example weighting, the total capped example count.
 */
export function decodeSecAggSum(plan: SecAggPlan, sum: Uint32Array, survivors: number): { mean: Float64Array; totalExamples: number | undefined } {
  if (plan.weighted !== undefined) return decodeWeightedMean(sum, plan.weighted, survivors);
  const total = dequantizeSum(sum, plan.quant, survivors);
  if (survivors > 0) for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) / survivors;
  return { mean: total, totalExamples: undefined };
}
