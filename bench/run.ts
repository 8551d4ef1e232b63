/**
 * `npm run bench [-- NAME...]`: runs the named benchmarks (default: training and rounds; the others only when
 * named, because they take minutes or need Chromium) and prints one JSON document with every figure and its
 * same-run baseline.
 */
import { benchRounds } from './rounds.ts';
import { benchTraining, trainingOptionsFromArgs } from './training.ts';

const SUITES: Record<string, () => Promise<object>> = {
  training: () => benchTraining(trainingOptionsFromArgs(process.argv.slice(2))),
  rounds: benchRounds,
  secagg: async () => (await import('./secagg.ts')).benchSecagg(),
  load: async () => (await import('./load.ts')).benchLoad(),
  churn: async () => (await import('./churn.ts')).benchChurn(),
  console: async () => (await import('./console.ts')).benchConsole(),
  serving: async () => (await import('./serving.ts')).benchServing(),
  simulate: async () => (await import('./simulate.ts')).benchSimulate(),
  sweep: async () => (await import('./sweep.ts')).benchSweep(),
};

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = names.length > 0 ? names : ['training', 'rounds'];
const unknown = chosen.filter((n) => !(n in SUITES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(SUITES).join(', ')}\n`);
  process.exit(2);
}
if (chosen.length === 1) {
  const only = SUITES[chosen[0] as string] as () => Promise<object>;
  process.stdout.write(`${JSON.stringify(await only(), null, 2)}\n`);
} else {
  const out: Record<string, object> = {};
  for (const n of chosen) {
    process.stderr.write(`running ${n} benchmark…\n`);
    out[n] = await (SUITES[n] as () => Promise<object>)();
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
