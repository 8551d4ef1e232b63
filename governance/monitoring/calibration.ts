/**
 * Online accuracy and calibration from ground-truth feedback (issue 20 §3). Pure: accumulators in, figures out.
 *
 * Calibration is the reliability diagram and the expected calibration error of Naeini, Cooper & Hauskrecht,
 * "Obtaining Well Calibrated Probabilities Using Bayesian Binning" (AAAI 2015), in the multi-class form of Guo,
 * Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks" (ICML 2017, §2 eq. 3): predictions are
 * grouped by confidence (the top class probability) into M equal-width bins B_m over [0, 1]; in each bin
 * acc(B_m) is the share whose top class was right and conf(B_m) the mean confidence; then
 *     ECE = Σ_m (|B_m| / n) · |acc(B_m) − conf(B_m)|.
 * M = 10 as in Guo et al. A perfectly calibrated model has acc = conf in every bin (ECE 0).
 */

export const CALIBRATION_BINS = 10;

/** Per bin: [predictions labelled, Σ confidence, correct]. */
export type CalibrationCounts = Array<[number, number, number]>;

export function emptyCalibration(): CalibrationCounts {
  return Array.from({ length: CALIBRATION_BINS }, () => [0, 0, 0] as [number, number, number]);
}

/** The bin of a confidence in [0, 1]: (m/M, (m+1)/M], with 0 in the first bin. */
export function calibrationBin(confidence: number): number {
  return Math.min(CALIBRATION_BINS - 1, Math.max(0, Math.ceil(confidence * CALIBRATION_BINS) - 1));
}

export function addToCalibration(c: CalibrationCounts, confidence: number, correct: boolean): void {
  const bin = c[calibrationBin(confidence)];
  if (bin === undefined) return;
  bin[0] += 1;
  bin[1] += confidence;
  bin[2] += correct ? 1 : 0;
}

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean confidence in the bin (null when empty). */
  readonly confidence: number | null;
  /** Share correct in the bin (null when empty). */
  readonly accuracy: number | null;
}

export interface OnlineQuality {
  readonly labelled: number;
  readonly accuracy: number | null;
  readonly ece: number | null;
  readonly reliability: readonly ReliabilityBin[];
}

export function onlineQuality(c: CalibrationCounts): OnlineQuality {
  const n = c.reduce((s, [k]) => s + k, 0);
  const correct = c.reduce((s, [, , r]) => s + r, 0);
  let ece = 0;
  const reliability = c.map(([k, conf, r], m) => {
    if (k > 0) ece += (k / n) * Math.abs(r / k - conf / k);
    return { lower: m / CALIBRATION_BINS, upper: (m + 1) / CALIBRATION_BINS, count: k, confidence: k > 0 ? conf / k : null, accuracy: k > 0 ? r / k : null };
  });
  return { labelled: n, accuracy: n > 0 ? correct / n : null, ece: n > 0 ? ece : null, reliability };
}
