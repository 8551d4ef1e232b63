/** What a simulation prints with --json and writes under --out. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulationResult } from './simulate.ts';
import type { RoundSlots } from '../coordinator/round-records.ts';
import type { Baselines } from './baselines.ts';
import { buildManifest } from './manifest.ts';
import { roundsCsv } from './rounds-csv.ts';
import { runReportHtml } from './report-html.ts';
import { compactRoundFairness, fairnessSummary, writeFairnessMarkdown, writeSimulationCharts, type CompactRoundFairness } from './fairness-report.ts';

/** A round's slots in the summary: as recorded, but the fairness report in compact form (results.json keeps it whole). */
export type SummaryRoundSlots = Omit<RoundSlots, 'fairness'> & { readonly fairness?: CompactRoundFairness };

export interface SimulationSummary {
  readonly config: Record<string, unknown>;
  readonly backend: string;
  readonly private: boolean;
  readonly status: string;
  readonly message: string;
  readonly rounds: ReadonlyArray<SummaryRound>;
  readonly final: { accuracy: number | null; loss: number | null };
  /** The last fairness report (round, RFC 8785 hash, policy verdict, report), when the job evaluates fairness. */
  readonly fairness?: ReturnType<typeof fairnessSummary>;
  /** With --baselines: pooled, local-only and (DP) non-private figures on the same split and seed. */
  readonly baselines?: Baselines;
}

/**
 * The cost of a round (issue 18 §5): client compute (sum over participants and the slowest one), bytes on the wire
 * as socket.io encodes them (simulations/traffic.ts) and the coordinator's share of the wall time — the round's
 * duration minus its slowest participant's training (sampling, waiting, aggregation, evaluation, commit).
 */
export interface RoundCost {
  readonly clientTrainMs: number;
  readonly slowestTrainMs: number;
  readonly coordinatorMs: number;
  readonly bytesFromClients: number | null;
  readonly bytesToClients: number | null;
}

export interface SummaryRound {
  readonly round: number;
  readonly attempt: number;
  readonly eligible: number;
  readonly selected: number;
  readonly expectedParticipants: number;
  readonly participants: number;
  /** Counts (results.json's roundRecords name the clients). */
  readonly participantOrgs: number;
  readonly dropped: number;
  readonly declined: number;
  readonly trainLoss: number | null;
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly durationMs: number;
  readonly cost: RoundCost;
  readonly extra: SummaryRoundSlots;
}

function summaryExtra(extra: RoundSlots): SummaryRoundSlots {
  const { fairness, ...rest } = extra;
  return fairness === undefined ? rest : { ...rest, fairness: compactRoundFairness(fairness) };
}

export function simulationSummary(sim: SimulationResult): SimulationSummary {
  return {
    config: sim.config,
    backend: sim.backend.name,
    private: sim.private,
    status: sim.result.status,
    message: sim.result.message,
    rounds: sim.result.rounds.map((r) => {
      const bytes = sim.traffic.find((t) => t.round === r.round);
      return {
        round: r.round,
        attempt: r.attempt,
        eligible: r.eligible,
        selected: r.selected,
        expectedParticipants: r.expectedParticipants,
        participants: r.participants,
        participantOrgs: r.participantOrgs.length,
        dropped: r.dropped.length,
        declined: r.declined.length,
        trainLoss: r.trainLoss,
        accuracy: r.accuracy,
        loss: r.loss,
        durationMs: r.durationMs,
        cost: { clientTrainMs: r.totalTrainMs, slowestTrainMs: r.slowestTrainMs, coordinatorMs: Math.max(0, r.durationMs - r.slowestTrainMs), bytesFromClients: bytes?.fromClients ?? null, bytesToClients: bytes?.toClients ?? null },
        extra: summaryExtra(r.extra),
      };
    }),
    final: sim.result.final,
    ...(sim.job.fairness.enabled ? { fairness: fairnessSummary(sim.result.rounds) } : {}),
    ...(sim.baselines ? { baselines: sim.baselines } : {}),
  };
}

export async function writeSimulationOutputs(dir: string, sim: SimulationResult): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const summary = simulationSummary(sim);
  const manifest = buildManifest(sim);
  const results = { ...summary, job: sim.job, roundRecords: sim.result.rounds, manifest };
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'rounds.csv'), roundsCsv(summary.rounds));
  // Per-group metrics over rounds (fairness.md) and charts (accuracy.svg, fairness-<attr>-*.svg).
  writeFairnessMarkdown(dir, sim.result.rounds, sim.job);
  await writeSimulationCharts(dir, sim.result.rounds);
  // One self-contained HTML report (inline SVG, no script, no network).
  writeFileSync(join(dir, 'report.html'), await runReportHtml(results));
}
