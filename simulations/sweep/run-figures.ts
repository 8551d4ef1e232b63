/**
 * What a finished sweep run leaves in its done.json (simulations/sweep/run.ts): the figures the sweep's table is
 * computed from, taken from the simulation's result the same way whichever thread ran it.
 */
import { z } from 'zod';
import type { SimulationResult } from '../simulate.ts';

export const RunFigures = z.object({
  seed: z.union([z.number(), z.string()]),
  status: z.string(),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  /** ε spent by the last committed round (null without DP). */
  epsilon: z.number().nullable(),
  rounds: z.number().int(),
  /** Per-round central test accuracy, for the over-rounds chart. */
  accuracyByRound: z.array(z.number().nullable()),
  baselines: z.object({ pooled: z.number().nullable(), local: z.number().nullable() }).nullable(),
  wallMs: z.number(),
});
export type RunFigures = z.infer<typeof RunFigures>;

export function runFigures(sim: SimulationResult, seed: number | string, wallMs: number): RunFigures {
  return {
    seed,
    status: sim.result.status,
    accuracy: sim.result.final.accuracy,
    loss: sim.result.final.loss,
    epsilon: sim.result.rounds.at(-1)?.extra.privacy?.epsilon ?? null,
    rounds: sim.result.rounds.length,
    accuracyByRound: sim.result.rounds.map((r) => r.accuracy),
    baselines: sim.baselines ? { pooled: sim.baselines.pooled.accuracy, local: sim.baselines.local.accuracy } : null,
    wallMs,
  };
}
