/**
 * The canary verdict (issue 20 §4): the deployment policy's canary criteria (protocol/job/governance.ts
 * CanaryCriteria, combined with every policy layer and raised to the floor by governance/deploy/policy.ts) judged
 * on the counters of the canary's current stay and of production's. Pure: counters and criteria in, verdict out.
 *
 * - error rate = requests the canary failed to answer / requests routed to it (answered or failed);
 * - p99 latency from the canary's latency histogram (latency.ts, Prometheus's interpolation);
 * - accuracy gap = production's online accuracy − the canary's, both from feedback (calibration.ts), once each
 *   has `minLabels` labels;
 * - prediction drift = PSI (governance/contract/stats.ts) between the canary's and production's predicted-class
 *   shares: both versions see the same random share of callers (coordinator/serving/canary-split.ts), so a shift
 *   between them is the canary's doing, not the population's.
 * No verdict before `minRequests` canary requests; a breach after that rolls the canary back; meeting every
 * stated limit from the canary's start for `windowMinutes` (with labels enough for a stated gap) is "ready".
 * This judges one sample; canary-evidence.ts decides which samples (per token: distinct tokens, a share cap, and
 * the verdict holding with any one token left out) — the serving coordinator acts on that, not on this alone.
 */
import type { CanaryCriteria } from '../../protocol/job/governance.ts';
import { psi, roundTo } from '../contract/stats.ts';
import { onlineQuality } from './calibration.ts';
import { histogramQuantile } from './latency.ts';
import type { CounterRow } from './store.ts';

export type CanaryStatus = 'collecting' | 'watching' | 'breached' | 'ready';

export interface CanaryFigures {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number | null;
  readonly p99LatencyMs: number | null;
  readonly canaryAccuracy: number | null;
  readonly productionAccuracy: number | null;
  readonly canaryLabelled: number;
  readonly productionLabelled: number;
  readonly accuracyGap: number | null;
  readonly predictionPsi: number | null;
  readonly minutesLive: number;
}

export interface CanaryVerdict {
  readonly status: CanaryStatus;
  readonly figures: CanaryFigures;
  /** Each stated limit the canary breaks, with the figure and the limit. */
  readonly breaches: readonly string[];
  /** What a 'collecting' or 'watching' canary still waits for. */
  readonly waitingFor: readonly string[];
}

function shares(counts: readonly number[], classes: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  return Array.from({ length: classes }, (_, i) => (n > 0 ? (counts[i] ?? 0) / n : 0));
}

/** The counts a verdict reads: a stay's counters (store.ts), or a counted sample of per-token evidence (canary-evidence.ts). */
export type SampleCounts = Pick<CounterRow, 'requests' | 'errors' | 'instances' | 'latency' | 'predicted' | 'calibration'>;

export function canaryFigures(canary: SampleCounts | undefined, production: SampleCounts | undefined, since: string, now: Date): CanaryFigures {
  const requests = (canary?.requests ?? 0) + (canary?.errors ?? 0);
  const errors = canary?.errors ?? 0;
  const p99 = canary === undefined ? null : histogramQuantile(canary.latency, 0.99);
  const cq = canary === undefined ? null : onlineQuality(canary.calibration);
  const pq = production === undefined ? null : onlineQuality(production.calibration);
  const classes = Math.max(canary?.predicted.length ?? 0, production?.predicted.length ?? 0);
  const bothPredicted = (canary?.instances ?? 0) > 0 && (production?.instances ?? 0) > 0 && classes > 1;
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    p99LatencyMs: p99 === null ? null : roundTo(p99 * 1000, 3),
    canaryAccuracy: cq?.accuracy ?? null,
    productionAccuracy: pq?.accuracy ?? null,
    canaryLabelled: cq?.labelled ?? 0,
    productionLabelled: pq?.labelled ?? 0,
    accuracyGap: cq?.accuracy != null && pq?.accuracy != null ? roundTo(pq.accuracy - cq.accuracy) : null,
    predictionPsi: bothPredicted ? roundTo(psi({ actual: shares(canary?.predicted ?? [], classes), expected: shares(production?.predicted ?? [], classes) })) : null,
    minutesLive: Math.max(0, (now.getTime() - Date.parse(since)) / 60_000),
  };
}

export function judgeCanary(criteria: CanaryCriteria, figures: CanaryFigures): CanaryVerdict {
  const f = figures;
  if (f.requests < criteria.minRequests) return { status: 'collecting', figures: f, breaches: [], waitingFor: [`${criteria.minRequests - f.requests} more canary request(s) (of ${criteria.minRequests})`] };
  const breaches: string[] = [];
  const waitingFor: string[] = [];
  if (criteria.maxErrorRate !== undefined && f.errorRate !== null && f.errorRate > criteria.maxErrorRate) breaches.push(`error rate ${roundTo(f.errorRate)} (${f.errors} of ${f.requests}) above ${criteria.maxErrorRate}`);
  if (criteria.maxP99LatencyMs !== undefined && f.p99LatencyMs !== null && f.p99LatencyMs > criteria.maxP99LatencyMs) breaches.push(`p99 latency ${f.p99LatencyMs} ms above ${criteria.maxP99LatencyMs} ms`);
  if (criteria.maxPredictionPsi !== undefined && f.predictionPsi !== null && f.predictionPsi > criteria.maxPredictionPsi) breaches.push(`prediction drift PSI ${f.predictionPsi} against production above ${criteria.maxPredictionPsi}`);
  if (criteria.maxAccuracyGap !== undefined) {
    if (f.canaryLabelled < criteria.minLabels || f.productionLabelled < criteria.minLabels) {
      waitingFor.push(`feedback labels: canary ${f.canaryLabelled}, production ${f.productionLabelled} of ${criteria.minLabels} each`);
    } else if (f.accuracyGap !== null && f.accuracyGap > criteria.maxAccuracyGap) {
      breaches.push(`online accuracy ${f.canaryAccuracy} is ${f.accuracyGap} below production's ${f.productionAccuracy} (limit ${criteria.maxAccuracyGap}; ${f.canaryLabelled} and ${f.productionLabelled} labels)`);
    }
  }
  if (breaches.length > 0) return { status: 'breached', figures: f, breaches, waitingFor: [] };
  if (f.minutesLive < criteria.windowMinutes) waitingFor.push(`${roundTo(criteria.windowMinutes - f.minutesLive, 2)} more minute(s) of the ${criteria.windowMinutes}-minute window`);
  return { status: waitingFor.length > 0 ? 'watching' : 'ready', figures: f, breaches, waitingFor };
}
