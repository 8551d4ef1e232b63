/**
 * The coordinator's half of adaptive clipping (Andrew, Thakkar, McMahan & Ramaswamy 2021, "Differentially
 * Private Learning with Adaptive Clipping", NeurIPS, Algorithm 1): it keeps the current clip norm C_t, writes it
 * into the spec each round's training tasks carry (`dp.clipNorm`, with the count noise σ_b made explicit so the
 * clients derive the same σ_Δ), and after the round releases the noised unclipped fraction
 *     b̄ = (Σ(b_i − 1/2) + N(0, σ_b²)) / (qN) + 1/2
 * and C_{t+1} = C_t·exp(−η_C(b̄ − γ)) (privacy/dp/adaptive-clipping.ts `nextClipNorm`). The count noise is split
 * by placement like the update noise: clients add theirs (distributed σ_b²/m each, local σ_b²), the
 * coordinator adds N(0, σ_b²) under central placement. The pair of releases is accounted as ONE Gaussian of
 * multiplier σ (their Theorem 1): the ledger keeps charging σ, the update noise uses σ_Δ ≥ σ.
 *
 * C_{t+1} takes effect only when round t commits, so a retried or failed round never moves it.
 */
import type { Logger } from 'pino';
import { nextClipNorm } from '../../privacy/dp/adaptive-clipping.ts';
import { gaussianNoise } from '../../privacy/dp/gaussian.ts';
import { splitNoise } from '../../privacy/dp/placement.ts';
import type { RandomSource } from '../../privacy/random.ts';
import type { DpPlacement } from '../../protocol/job/dp.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { TrainingOutcome } from '../plain-round.ts';

/** What one round released about the clip norm (recorded in `extra.privacy.adaptiveClipping`). */
export interface AdaptiveClipRelease {
  /** C_t: the clip norm the round's clients were sent. */
  readonly clipNorm: number;
  readonly targetQuantile: number;
  readonly countNoiseStd: number;
  /** b̄, the noised fraction of unclipped updates; null when the count could not be released (C held). */
  readonly unclippedFraction: number | null;
  /** C_{t+1}. */
  readonly nextClipNorm: number;
  /** Participants that reported an indicator. */
  readonly reports: number;
}

export interface AdaptiveReleaseOptions {
  readonly round: number;
  readonly outcome: TrainingOutcome;
  /** q·N of the round: the same fixed denominator as the update estimate. */
  readonly expectedParticipants: number;
  readonly placement: DpPlacement;
  readonly minSurvivors: number;
  readonly rng: RandomSource;
  readonly logger: Logger;
}

/** Keeps the record of C_t across rounds; the maths is in privacy/dp/adaptive-clipping.ts. */
export class AdaptiveClipTracker {
  private clipNorm: number;
  private countNoiseStd: number | undefined;
  private pending: { round: number; clipNorm: number } | null = null;
  private readonly section: NonNullable<JobSpec['dp']['adaptiveClipping']>;

  constructor(spec: JobSpec) {
    const section = spec.dp.adaptiveClipping;
    if (section?.enabled !== true) throw new Error('AdaptiveClipTracker for a job without adaptive clipping');
    this.section = section;
    this.clipNorm = spec.dp.clipNorm;
    this.countNoiseStd = section.countNoiseStd;
  }

  get currentClipNorm(): number {
    return this.clipNorm;
  }

  /**
   * σ_b: the job's, or 0.05·q·N (TensorFlow Federated's default) with N the first round's eligible
   * organisations, then kept for the whole job so σ_Δ does not drift with the population.
   */
  resolveCountNoise(samplingRate: number, population: number): number {
    this.countNoiseStd ??= 0.05 * samplingRate * population;
    return this.countNoiseStd;
  }

  /** `spec` with this round's C_t and the resolved σ_b: what the clients (and the coordinator's plan) derive from. */
  specForRound(spec: JobSpec): JobSpec {
    const countNoiseStd = this.countNoiseStd;
    const section = spec.dp.adaptiveClipping ?? this.section;
    return {
      ...spec,
      dp: { ...spec.dp, clipNorm: this.clipNorm, adaptiveClipping: { ...section, ...(countNoiseStd === undefined ? {} : { countNoiseStd }) } },
    };
  }

  /**
   * Releases b̄ and C_{t+1} from the round's indicators (pending until `commit`). The count is released only
   * when every participant reported one and, under distributed placement, at least m noise shares are in the
   * sum; otherwise C is held (nothing about the count is released).
   */
  release(o: AdaptiveReleaseOptions): AdaptiveClipRelease {
    const sigmaB = this.countNoiseStd ?? 0;
    // The adaptiveClipping extension's sum (plain: added up; secure: unmasked with the update, never one client's).
    const ext = o.outcome.extensions.adaptiveClipping;
    const reported = ext === undefined ? undefined : { sum: ext.values[0] ?? 0, reports: ext.reports };
    const participants = o.outcome.participants.length;
    const base = { clipNorm: this.clipNorm, targetQuantile: this.section.targetQuantile, countNoiseStd: sigmaB, reports: reported?.reports ?? 0 };
    const enough = reported !== undefined && reported.reports === participants && (o.placement !== 'distributed' || reported.reports >= o.minSurvivors);
    if (!enough) {
      o.logger.warn({ reports: reported?.reports ?? 0, participants, minSurvivors: o.minSurvivors }, 'adaptive clipping: not every participant reported its indicator; the clip norm is held');
      this.pending = { round: o.round, clipNorm: this.clipNorm };
      return { ...base, unclippedFraction: null, nextClipNorm: this.clipNorm };
    }
    const serverStd = splitNoise({ placement: o.placement, sumStd: sigmaB, minSurvivors: o.minSurvivors }).serverStd;
    const noised = reported.sum + (serverStd > 0 ? (gaussianNoise(1, serverStd, o.rng)[0] as number) : 0);
    const next = nextClipNorm({
      clipNorm: this.clipNorm,
      noisedIndicatorSum: noised,
      expectedParticipants: o.expectedParticipants,
      targetQuantile: this.section.targetQuantile,
      learningRate: this.section.learningRate,
      minClipNorm: this.section.minClipNorm,
      maxClipNorm: this.section.maxClipNorm,
    });
    this.pending = { round: o.round, clipNorm: next.clipNorm };
    return { ...base, unclippedFraction: next.unclippedFraction, nextClipNorm: next.clipNorm };
  }

  /**
   * Resuming after a restart (issue 14 §1): the last committed round's release holds C_{t+1} and the σ_b the job
   * resolved, which is all the tracker carries between rounds. A round charged but never committed moved nothing.
   */
  restore(last: Pick<AdaptiveClipRelease, 'nextClipNorm' | 'countNoiseStd'>): void {
    this.clipNorm = last.nextClipNorm;
    this.countNoiseStd = last.countNoiseStd;
    this.pending = null;
  }

  /** Round `round` committed: its C_{t+1} becomes the clip norm of the next round. */
  commit(round: number): void {
    if (this.pending?.round === round) this.clipNorm = this.pending.clipNorm;
    this.pending = null;
  }
}
