/** What a simulation prints with --json and writes under --out. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulationResult } from './simulate.ts';

export interface SimulationSummary {
  readonly config: Record<string, unknown>;
  readonly backend: string;
  readonly private: boolean;
  readonly status: string;
  readonly message: string;
  readonly rounds: ReadonlyArray<{ round: number; accuracy: number | null; loss: number | null; participants: number; durationMs: number; extra: Record<string, unknown> }>;
  readonly final: { accuracy: number | null; loss: number | null };
}

export function simulationSummary(sim: SimulationResult): SimulationSummary {
  return {
    config: sim.config,
    backend: sim.backend.name,
    private: sim.private,
    status: sim.result.status,
    message: sim.result.message,
    rounds: sim.result.rounds.map((r) => ({ round: r.round, accuracy: r.accuracy, loss: r.loss, participants: r.participants, durationMs: r.durationMs, extra: { ...r.extra } })),
    final: sim.result.final,
  };
}

export async function writeSimulationOutputs(dir: string, sim: SimulationResult): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const summary = simulationSummary(sim);
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify({ ...summary, job: sim.job, roundRecords: sim.result.rounds }, null, 2)}\n`);
  const header = 'round,accuracy,loss,participants,dropped,declined,duration_ms';
  const rows = sim.result.rounds.map((r) => [r.round, r.accuracy ?? '', r.loss ?? '', r.participants, r.dropped.length, r.declined.length, r.durationMs].join(','));
  writeFileSync(join(dir, 'rounds.csv'), `${[header, ...rows].join('\n')}\n`);
}
