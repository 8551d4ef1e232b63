/**
 * Local training throughput (samples per second) on every TensorFlow.js backend that loads here, for
 * (a) an MLP on 100 features (Adult-sized tabular data) and (b) the default CNN on 28×28×1 images, with the
 * ratio against the `cpu` backend measured in the same run; plus the wasm Conv2DBackpropFilter kernel
 * (ml/kernels, im2col + matMul) against cpu's at the CNN's two layer shapes.
 *
 * Run: `npx tsx bench/training.ts` prints one JSON document (about 30 s on 2 idle cores; longer under load).
 * Inputs are synthetic: throughput depends on shapes, not on values.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo, BackendName, BackendPreference } from '../ml/backend.ts';
import { activeBackend, initBackend, listAvailableBackends } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { trainLocal } from '../ml/train.ts';
import type { TrainOptions } from '../ml/train.ts';
import { ModelSpec } from '../protocol/job/model.ts';
import type { Examples } from '../datasets/types.ts';
import { seededRandom } from '../privacy/random.ts';

const PREFERENCE: Record<BackendName, BackendPreference> = { tensorflow: 'node', wasm: 'wasm', cpu: 'cpu' };

interface Workload {
  readonly name: string;
  readonly spec: ModelSpec;
  readonly featureShape: number[];
  readonly classes: number;
  /** Examples per timed trainLocal call. */
  readonly chunk: number;
  readonly train: Omit<TrainOptions, 'epochs'>;
}

const MLP = ModelSpec.parse({ kind: 'mlp', inputs: 100, hidden: [64, 32], classes: 2 });
const CNN = ModelSpec.parse({ kind: 'cnn', inputShape: [28, 28, 1], filters: [8, 16], dense: [64], classes: 10 });

const WORKLOADS: readonly Workload[] = [
  { name: 'mlp-batch32', spec: MLP, featureShape: [100], classes: 2, chunk: 256, train: { batchSize: 32, learningRate: 0.05, optimizer: 'sgd', shuffleSeed: 'bench' } },
  { name: 'mlp-batch256', spec: MLP, featureShape: [100], classes: 2, chunk: 1024, train: { batchSize: 256, learningRate: 0.05, optimizer: 'sgd', shuffleSeed: 'bench' } },
  // One batch per chunk: a cpu CNN batch alone takes seconds.
  { name: 'cnn-batch32', spec: CNN, featureShape: [28, 28, 1], classes: 10, chunk: 32, train: { batchSize: 32, learningRate: 0.05, optimizer: 'sgd', shuffleSeed: 'bench' } },
];

export interface Throughput {
  readonly samplesPerSecond: number;
  readonly samples: number;
  readonly steps: number;
  readonly millis: number;
}

function syntheticExamples(n: number, featureShape: number[], classes: number, seed: string): Examples {
  const rng = seededRandom(seed);
  const d = featureShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * d }, () => rng.nextFloat());
  const y = Int32Array.from({ length: n }, () => rng.nextUint32() % classes);
  return { x, y, n, featureShape, classes, classNames: Array.from({ length: classes }, (_, i) => String(i)), sensitive: {} };
}

/**
 * Throughput of one workload on every backend. The machine is shared, so its load drifts during a run: the
 * backends take turns (one chunk of one-epoch training each per round) until every one has trained for
 * `targetMs`, so that a drift in load hits all of them alike and the ratio stays meaningful.
 */
async function measure(w: Workload, backends: readonly BackendName[], targetMs: number): Promise<Record<string, Throughput>> {
  const data = syntheticExamples(w.chunk, w.featureShape, w.classes, `bench-${w.name}`);
  // Warm-up on a few rows: it only has to pay first-call costs (kernel setup, JIT), and a cpu CNN batch is slow.
  const warm = syntheticExamples(Math.min(w.train.batchSize, 8), w.featureShape, w.classes, 'warm-up');
  const runners: Array<{ name: BackendName; model: tf.LayersModel; samples: number; steps: number; millis: number }> = [];
  for (const name of backends) {
    await initBackend(PREFERENCE[name]);
    const model = buildModel(w.spec, { seed: 1 });
    await trainLocal(model, warm, { ...w.train, epochs: 1 }); // first-call costs: kernel setup, JIT
    runners.push({ name, model, samples: 0, steps: 0, millis: 0 });
  }
  // Under heavy load a slow backend could hold the loop for minutes; after one full round, a wall-clock cap
  // of 4 × targetMs ends it (every backend has then trained at least one chunk).
  const wallStart = performance.now();
  while (runners.some((r) => r.millis < targetMs) && (runners[0]?.steps === 0 || performance.now() - wallStart < 4 * targetMs)) {
    for (const r of runners) {
      await initBackend(PREFERENCE[r.name]);
      const res = await trainLocal(r.model, data, { ...w.train, epochs: 1 });
      r.samples += res.examples;
      r.steps += res.steps;
      r.millis += res.millis;
    }
  }
  const out: Record<string, Throughput> = {};
  for (const r of runners) {
    r.model.dispose();
    out[r.name] = { samplesPerSecond: (r.samples / r.millis) * 1000, samples: r.samples, steps: r.steps, millis: r.millis };
  }
  return out;
}

/** Milliseconds per Conv2DBackpropFilter call (NHWC, stride 1, 'same'), median of `reps` after one warm-up. */
function timeFilterGradient(xShape: [number, number, number, number], filterShape: [number, number, number, number], reps: number): number {
  const times: number[] = [];
  tf.tidy(() => {
    const rng = seededRandom('kernel');
    const x = tf.tensor4d(Float32Array.from({ length: xShape.reduce((a, b) => a * b) }, () => rng.nextFloat()), xShape);
    const dy = tf.tensor4d(Float32Array.from({ length: xShape[0] * xShape[1] * xShape[2] * filterShape[3] }, () => rng.nextFloat()), [xShape[0], xShape[1], xShape[2], filterShape[3]]);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape };
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
      out.dataSync();
      if (i > 0) times.push(performance.now() - t0);
      out.dispose();
    }
  });
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

export async function benchTraining(options: { targetMs?: number } = {}): Promise<object> {
  const started = performance.now();
  const targetMs = options.targetMs ?? 2500;
  const before = activeBackend();
  const backends: BackendInfo[] = await listAvailableBackends();
  const results: Record<string, Record<string, Throughput>> = {};
  for (const w of WORKLOADS) results[w.name] = await measure(w, backends.map((b) => b.name), targetMs);
  const workloads = WORKLOADS.map((w) => {
    const byBackend = results[w.name] ?? {};
    const cpu = byBackend['cpu']?.samplesPerSecond;
    const ratioVsCpu = Object.fromEntries(Object.entries(byBackend).map(([name, t]) => [name, cpu ? Number((t.samplesPerSecond / cpu).toFixed(2)) : null]));
    return { name: w.name, spec: w.spec, batchSize: w.train.batchSize, optimizer: w.train.optimizer, samplesPerSecond: Object.fromEntries(Object.entries(byBackend).map(([n, t]) => [n, Number(t.samplesPerSecond.toFixed(1))])), ratioVsCpu, detail: byBackend };
  });

  const kernelShapes: Array<{ layer: string; x: [number, number, number, number]; filter: [number, number, number, number] }> = [
    { layer: 'conv1 (batch 32, 28×28×1 → 8)', x: [32, 28, 28, 1], filter: [3, 3, 1, 8] },
    { layer: 'conv2 (batch 32, 14×14×8 → 16)', x: [32, 14, 14, 8], filter: [3, 3, 8, 16] },
  ];
  const names = backends.map((b) => b.name).filter((n) => n === 'wasm' || n === 'cpu');
  const conv2dBackpropFilter = [];
  for (const k of kernelShapes) {
    const ms: Record<string, number> = {};
    for (const name of names) {
      await initBackend(PREFERENCE[name]);
      ms[name] = Number(timeFilterGradient(k.x, k.filter, name === 'cpu' ? 1 : 3).toFixed(2)); // cpu's JS loop takes ~1 s per call
    }
    conv2dBackpropFilter.push({ layer: k.layer, millis: ms, cpuOverWasm: ms['cpu'] && ms['wasm'] ? Number((ms['cpu'] / ms['wasm']).toFixed(1)) : null });
  }

  if (before) await initBackend(PREFERENCE[before.name]);
  return {
    benchmark: 'training',
    node: process.version,
    // The machine is shared by several processes; a high load average lowers every figure below.
    loadAverage1m: Number(loadavg()[0]?.toFixed(2)),
    tfjs: tf.version.tfjs,
    backends,
    targetMillisPerMeasurement: targetMs,
    workloads,
    kernels: { conv2dBackpropFilter },
    totalMillis: Math.round(performance.now() - started),
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const report = await benchTraining();
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
