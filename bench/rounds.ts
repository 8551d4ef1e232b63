/**
 * `npm run -s bench -- rounds`: what an Adult round costs beyond local training, for N = 10, 50 and 200
 * clients — `tessera simulate --dataset adult` in process (logistic regression, iid, the built-in data
 * contract checked by every client), over real loopback sockets (authenticated like a deployment) and, as the
 * baseline measured in the same run, over the in-memory transport.
 *
 * The clients share this process's one backend thread, so they train one after another: the non-training
 * share of a round is (round time − Σ participants' training times) / round time. Round 1 pays first-call
 * costs (kernel setup, connections) and is left out of the means. `gcMsPerRound` is the garbage collector's time
 * per measured round (perf_hooks 'gc' entries): most of the garbage is training's (TensorFlow.js allocates objects
 * per op), but a collection runs wherever an allocation finds the young generation full, often just after a
 * client's training — inside the non-training time.
 */
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { runSimulation } from '../simulations/simulate.ts';

interface RoundsBench {
  readonly clients: number;
  readonly transport: 'socket' | 'memory';
  readonly roundsMeasured: number;
  readonly meanRoundMs: number;
  readonly meanTotalTrainMs: number;
  readonly nonTrainingMs: number;
  readonly nonTrainingMsPerClient: number;
  /** (round − Σ training) / round. */
  readonly nonTrainingShare: number;
  /** Garbage collection per measured round (all of it, wherever it ran). */
  readonly gcMsPerRound: number;
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));

async function measure(clients: number, transport: 'socket' | 'memory', rounds: number): Promise<RoundsBench> {
  let counting = false;
  let gcMs = 0;
  const gc = new PerformanceObserver((list) => {
    if (counting) for (const e of list.getEntries()) gcMs += e.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const sim = await runSimulation({ dataset: 'adult', clients, rounds, seed: 1, transport }, { logger: silentLogger(), onRound: () => void (counting = true) });
  await new Promise((r) => setImmediate(r)); // the observer reports asynchronously
  gc.disconnect();
  const measured = sim.result.rounds.slice(1);
  const mean = (f: (r: (typeof measured)[number]) => number): number => measured.reduce((a, r) => a + f(r), 0) / Math.max(measured.length, 1);
  const meanRoundMs = mean((r) => r.durationMs);
  const meanTotalTrainMs = mean((r) => r.totalTrainMs);
  const nonTrainingMs = meanRoundMs - meanTotalTrainMs;
  return {
    clients,
    transport,
    roundsMeasured: measured.length,
    meanRoundMs: round(meanRoundMs, 1),
    meanTotalTrainMs: round(meanTotalTrainMs, 1),
    nonTrainingMs: round(nonTrainingMs, 1),
    nonTrainingMsPerClient: round(nonTrainingMs / clients, 2),
    nonTrainingShare: round(nonTrainingMs / meanRoundMs, 3),
    gcMsPerRound: round(gcMs / Math.max(measured.length, 1), 1),
  };
}

export async function benchRounds(options: { clients?: readonly number[]; rounds?: number } = {}): Promise<object> {
  const started = performance.now();
  const loadAtStart = round(loadavg()[0] ?? Number.NaN, 2);
  const backend = await initBackend();
  const runs: RoundsBench[] = [];
  for (const clients of options.clients ?? [10, 50, 200]) {
    for (const transport of ['memory', 'socket'] as const) runs.push(await measure(clients, transport, options.rounds ?? 8));
  }
  return {
    benchmark: 'rounds',
    workload: 'tessera simulate --dataset adult --clients N --seed 1 (logistic regression, iid, data contract on), rounds 2–8',
    backend,
    loadAverage1m: { start: loadAtStart, end: round(loadavg()[0] ?? Number.NaN, 2) },
    note: 'nonTrainingShare = (round time − Σ training times) / round time; clients share one process and train in turn',
    runs,
    totalMillis: Math.round(performance.now() - started),
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.stdout.write(`${JSON.stringify(await benchRounds(), null, 2)}\n`);
}
