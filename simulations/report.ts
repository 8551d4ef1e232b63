/** What a simulation prints with --json and writes under --out. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulationResult } from './simulate.ts';
import type { RoundSlots } from '../coordinator/round-records.ts';
import { compactRoundFairness, fairnessSummary, writeFairnessMarkdown, writeSimulationCharts, type CompactRoundFairness } from './fairness-report.ts';

/** A round's slots in the summary: as recorded, but the fairness report in compact form (results.json keeps it whole). */
export type SummaryRoundSlots = Omit<RoundSlots, 'fairness'> & { readonly fairness?: CompactRoundFairness };

export interface SimulationSummary {
  readonly config: Record<string, unknown>;
  readonly backend: string;
  readonly private: boolean;
  readonly status: string;
  readonly message: string;
  readonly rounds: ReadonlyArray<{ round: number; accuracy: number | null; loss: number | null; participants: number; durationMs: number; extra: SummaryRoundSlots }>;
  readonly final: { accuracy: number | null; loss: number | null };
  /** The last fairness report (round, RFC 8785 hash, policy verdict, report), when the job evaluates fairness. */
  readonly fairness?: ReturnType<typeof fairnessSummary>;
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
    rounds: sim.result.rounds.map((r) => ({ round: r.round, accuracy: r.accuracy, loss: r.loss, participants: r.participants, durationMs: r.durationMs, extra: summaryExtra(r.extra) })),
    final: sim.result.final,
    ...(sim.job.fairness.enabled ? { fairness: fairnessSummary(sim.result.rounds) } : {}),
  };
}

export async function writeSimulationOutputs(dir: string, sim: SimulationResult): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const summary = simulationSummary(sim);
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify({ ...summary, job: sim.job, roundRecords: sim.result.rounds }, null, 2)}\n`);
  const header = 'round,accuracy,loss,participants,dropped,declined,duration_ms';
  const rows = sim.result.rounds.map((r) => [r.round, r.accuracy ?? '', r.loss ?? '', r.participants, r.dropped.length, r.declined.length, r.durationMs].join(','));
  writeFileSync(join(dir, 'rounds.csv'), `${[header, ...rows].join('\n')}\n`);
  // Per-group metrics over rounds (fairness.md) and charts (accuracy.svg, fairness-<attr>-*.svg).
  writeFairnessMarkdown(dir, sim.result.rounds, sim.job);
  await writeSimulationCharts(dir, sim.result.rounds);
}
