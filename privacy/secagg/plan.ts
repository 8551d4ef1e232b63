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
import { decodeDdgaussSum, encodeDdgauss, type DdgaussCodec } from '../dp/ddgauss/codec.ts';
import { checkExtensions, decodeExtensionSums, encodeExtensions, extensionsLength, type ExtensionSums, type ExtensionValues, type UpdateExtension } from './extension.ts';

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
  /** The features' extensions appended after the update (extension.ts), in their canonical order. */
  readonly extensions: readonly UpdateExtension[];
  /**
   * The distributed discrete Gaussian (privacy/dp/ddgauss/codec.ts): the update part of the masked vector is then
   * the D = padded-dimension integers the codec makes (noise included), not a quantised update.
   */
  readonly ddgauss?: DdgaussCodec;
  /** Length of the vector that is masked: the update length (D under DDGauss), plus one under example weighting, plus the extensions. */
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
export function planSecAggRound(options: { section: SecAggSection; clients: number; updateLength: number; dp?: { clipNorm: number; clientNoiseStd: number } | undefined; extensions?: readonly UpdateExtension[]; ddgauss?: DdgaussCodec }): SecAggPlan {
  const { section: s, clients, updateLength, dp } = options;
  const extensions = options.extensions ?? [];
  checkExtensions(extensions, clients);
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
    extensions,
    ...(options.ddgauss === undefined ? {} : { ddgauss: options.ddgauss }),
    dim: (options.ddgauss?.rotation.padded ?? updateLength) + (weighted === undefined ? 0 : 1) + extensionsLength(extensions),
    updateLength,
  };
}

/**
 * The client's input to secure aggregation: its (already clipped and noised) update, quantised per the plan,
 * followed by its extension values (encoded per extension.ts) — one vector, masked once.
 */
export function encodeForSecAgg(plan: SecAggPlan, update: ArrayLike<number>, examples: number, rng: RandomSource, extensions: ExtensionValues = {}): Uint32Array {
  if (update.length !== plan.updateLength) throw new RangeError(`update has ${update.length} coordinates, the plan expects ${plan.updateLength}`);
  const head = plan.ddgauss !== undefined ? encodeDdgauss(plan.ddgauss, update, rng) : plan.weighted === undefined ? quantize(update, plan.quant, rng) : encodeWeightedUpdate({ update, examples, params: plan.weighted, rng });
  if (plan.extensions.length === 0) return head;
  const out = new Uint32Array(plan.dim);
  out.set(head);
  out.set(encodeExtensions(plan.extensions, extensions, plan.clients, rng), head.length);
  return out;
}

/** The update part of an unmasked sum (the update, and the count coordinate under example weighting). */
function updatePart(plan: SecAggPlan, sum: Uint32Array): Uint32Array {
  return sum.subarray(0, (plan.ddgauss?.rotation.padded ?? plan.updateLength) + (plan.weighted === undefined ? 0 : 1));
}

/** The survivors' summed update in model units (uniform weighting): DDGauss decoded, or the dequantised sum. */
export function decodeUniformSum(plan: SecAggPlan, full: Uint32Array, survivors: number): Float64Array {
  const sum = updatePart(plan, full);
  return plan.ddgauss !== undefined ? decodeDdgaussSum(plan.ddgauss, sum) : dequantizeSum(sum, plan.quant, survivors);
}

/** The extensions' sums from an unmasked sum of `survivors` inputs: the coordinator's only view of them. */
export function decodeSecAggExtensions(plan: SecAggPlan, sum: Uint32Array, survivors: number): ExtensionSums {
  return decodeExtensionSums(plan.extensions, sum.subarray(updatePart(plan, sum).length), plan.clients, survivors);
}

/**
 * The coordinator's view after unmasking: the aggregate update (the example-weighted mean, or the plain mean
 * under uniform weighting) and, under example weighting, the total capped example count.
 */
export function decodeSecAggSum(plan: SecAggPlan, full: Uint32Array, survivors: number): { mean: Float64Array; totalExamples: number | undefined } {
  const sum = updatePart(plan, full);
  if (plan.weighted !== undefined) return decodeWeightedMean(sum, plan.weighted, survivors);
  const total = decodeUniformSum(plan, full, survivors);
  if (survivors > 0) for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) / survivors;
  return { mean: total, totalExamples: undefined };
}
