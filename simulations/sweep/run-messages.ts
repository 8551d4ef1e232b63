/**
 * The messages between a sweep and its run threads (simulations/sweep/run-pool.ts, run-worker.ts): one
 * definition, parsed on arrival on both sides like any other boundary. A request is one run of the sweep — the
 * simulation settings (plain JSON, as the grid file gave them) and the directory its outputs go to; the reply is
 * the figures the sweep's table is computed from (run.ts RunFigures), or the coded error the run failed with.
 */
import { z } from 'zod';
import { RunFigures } from './run-figures.ts';

export const RunThreadSetup = z.strictObject({
  /** The operator log level of the sweep (pino's), so a run thread logs as the sweep does. */
  logLevel: z.string(),
  /**
   * The backend the sweep's own thread chose (ml/backend.ts's order, or TESSERA_BACKEND): every run thread takes
   * that one or fails, so no run silently trains on another backend than a sequential sweep would (tfjs-node, a
   * native addon, need not load in a worker thread where it loads in the main one).
   */
  backend: z.enum(['tensorflow', 'wasm', 'cpu']),
});
export type RunThreadSetup = z.infer<typeof RunThreadSetup>;

export const RunRequest = z.strictObject({
  type: z.literal('run'),
  id: z.number().int().min(0),
  /** simulations/simulate.ts SimulationConfigInput, parsed there (its schema is the authority); its seed is `seed`. */
  input: z.record(z.string(), z.unknown()),
  seed: z.union([z.number(), z.string()]),
  /** Where the run's results.json, rounds.csv and report.html go. */
  dir: z.string().min(1),
});
export type RunRequest = z.infer<typeof RunRequest>;

/** A TesseraError's structured details (non-sensitive JSON data, as `--json` prints them). */
export const RunErrorDetails = z.record(z.string(), z.unknown());

export const RunReply = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('finished'), id: z.number().int().min(0), figures: RunFigures }),
  /**
   * The run failed: the code, message and structured details of its TesseraError (TESSERA_ERR_INTERNAL for anything
   * else), so the sweep fails with the same error a sequential sweep would (`--json` prints the details too).
   */
  z.strictObject({ type: z.literal('failed'), id: z.number().int().min(0), code: z.string(), message: z.string(), details: RunErrorDetails.optional() }),
]);
export type RunReply = z.infer<typeof RunReply>;
