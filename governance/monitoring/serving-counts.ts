/**
 * The counts both serving records keep — a stage's counters (store.ts, serving_counters) and each token's evidence
 * (token-evidence.ts, serving_token_evidence) — with their one decoding from a row and the two ways they grow: an
 * answered request and a label. Both records are updated in the same transaction by the same functions, so a
 * token's evidence always adds up to the stage's counters.
 */
import { addToCalibration, emptyCalibration, type CalibrationCounts } from './calibration.ts';
import { emptyLatencyCounts, observeLatency, type LatencyCounts } from './latency.ts';

export interface ServingCounts {
  readonly requests: number;
  readonly instances: number;
  readonly errors: number;
  readonly latency: LatencyCounts;
  readonly latencySum: number;
  /** Predicted-class counts (index = class). */
  readonly predicted: number[];
  /** Labelled predictions by confidence bin. */
  readonly calibration: CalibrationCounts;
}

/** The columns of ServingCounts as SQLite returns them (the arrays stored as JSON). */
export interface RawServingCounts {
  requests: number;
  instances: number;
  errors: number;
  latency: string;
  latency_sum: number;
  predicted: string;
  calibration: string;
}

export function emptyServingCounts(): ServingCounts {
  return { requests: 0, instances: 0, errors: 0, latency: emptyLatencyCounts(), latencySum: 0, predicted: [], calibration: emptyCalibration() };
}

export function servingCountsFromRow(r: RawServingCounts): ServingCounts {
  return {
    requests: r.requests,
    instances: r.instances,
    errors: r.errors,
    latency: JSON.parse(r.latency) as LatencyCounts,
    latencySum: r.latency_sum,
    predicted: JSON.parse(r.predicted) as number[],
    calibration: JSON.parse(r.calibration) as CalibrationCounts,
  };
}

/** `c` after one answered request: its latency and the class of each of its predictions. */
export function withServed<T extends ServingCounts>(c: T, latencySeconds: number, predictions: readonly { readonly predicted: number }[]): T {
  const latency = [...c.latency];
  observeLatency(latency, latencySeconds);
  const predicted = [...c.predicted];
  for (const p of predictions) {
    while (predicted.length <= p.predicted) predicted.push(0);
    predicted[p.predicted] = (predicted[p.predicted] ?? 0) + 1;
  }
  return { ...c, requests: c.requests + 1, instances: c.instances + predictions.length, latency, latencySum: c.latencySum + latencySeconds, predicted };
}

/** `c` after one label: the prediction's confidence bin gains a labelled prediction, correct or not. */
export function withLabel<T extends ServingCounts>(c: T, confidence: number, correct: boolean): T {
  const calibration = c.calibration.map((b) => [...b] as [number, number, number]);
  addToCalibration(calibration, confidence, correct);
  return { ...c, calibration };
}
