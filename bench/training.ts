/**
 * `npm run -s bench -- training`: local training speed on the wasm backend against the machine's own matMul
 * peak, and the quick start end to end — each with Tessera's wasm kernels (ml/kernels) and, as the same-run
 * baseline, with the kernels as they were before (bench/baseline-kernels.ts: tfjs-backend-wasm's transposed
 * matMul and the sliced Conv2DBackpropFilter).
 *
 * The MLP also runs through tfjs's autodiff tape with Tessera's kernels, so the dense step's share
 * (ml/dense-step.ts) shows apart from the kernels'.
 *
 * Output: one JSON document {peakGflops, peak, runs: [{model, batch, backend, path, samplesPerSec, gflops,
 * percentOfPeak, perCpuSecond}], profile, kernels, quickStart, loadAverage…}. The peak is re-measured before
 * every workload (bench/matmul-peak.ts) and every share is against the run's maximum. Training inputs are
 * synthetic (throughput depends on shapes, not values); the quick start loads MNIST from TESSERA_DATA_DIR /
 * ../shared/data. About 3–4 minutes on 2 idle cores.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { overrideTrainingPath, trainLocal } from '../ml/train.ts';
import type { TrainingPath, TrainOptions } from '../ml/train.ts';
import { ModelSpec } from '../protocol/job/model.ts';
import type { Examples } from '../datasets/types.ts';
import { seededRandom } from '../privacy/random.ts';
import { silentLogger } from '../lib/logger.ts';
import { TesseraError } from '../protocol/errors.ts';
import { BACKEND_LABEL, useKernels } from './baseline-kernels.ts';
import type { KernelSet } from './baseline-kernels.ts';
import { trainingFlopsPerSample } from './flops.ts';
import { measurePeak, PEAK_METHOD, runPeak } from './matmul-peak.ts';
import type { PeakMeasurement } from './matmul-peak.ts';
import { profileStep } from './training-profile.ts';
import { kernelTimes } from './training-kernels.ts';
import { stepMinimum, stepShares } from './training-steps.ts';

/** A way of training one workload: a kernel set and a training path (ml/train.ts's trainingPath). */
interface Variant {
  readonly kernels: KernelSet;
  readonly path: TrainingPath;
}
const BEFORE: Variant = { kernels: 'baseline', path: 'autodiff' };
const AUTODIFF: Variant = { kernels: 'tessera', path: 'autodiff' };
const DENSE: Variant = { kernels: 'tessera', path: 'dense' };
const variantKey = (v: Variant): string => `${v.kernels}/${v.path}`;

/** Registers the variant's kernels and makes trainLocal take its path (DENSE: what trainLocal does by itself). */
function use(v: Variant): void {
  useKernels(v.kernels);
  overrideTrainingPath(v.path === 'autodiff' ? 'autodiff' : undefined);
}

interface Workload {
  readonly model: string;
  readonly spec: ModelSpec;
  readonly featureShape: number[];
  readonly classes: number;
  /** Examples per timed trainLocal call. */
  readonly chunk: number;
  readonly train: Omit<TrainOptions, 'epochs'>;
  /** The first is the same-run baseline (before issue 16); the last is what trainLocal does today. */
  readonly variants: readonly Variant[];
}

const MLP = ModelSpec.parse({ kind: 'mlp', inputs: 784, hidden: [128], classes: 10 });
// The CNN of the docs and tests (two conv/pool blocks, one dense layer).
const CNN = ModelSpec.parse({ kind: 'cnn', inputShape: [28, 28, 1], filters: [8, 16], dense: [64], classes: 10 });
const sgd = (batchSize: number): Omit<TrainOptions, 'epochs'> => ({ batchSize, learningRate: 0.05, optimizer: 'sgd', shuffleSeed: 'bench' });

const WORKLOADS: readonly Workload[] = [
  // MLP 784-128-10 at batch 32 is also the quick start's model and batch (simulations/defaults.ts, mnist).
  { model: 'mlp 784-128-10 (quick start)', spec: MLP, featureShape: [784], classes: 10, chunk: 1024, train: sgd(32), variants: [BEFORE, AUTODIFF, DENSE] },
  { model: 'mlp 784-128-10', spec: MLP, featureShape: [784], classes: 10, chunk: 2048, train: sgd(256), variants: [BEFORE, AUTODIFF, DENSE] },
  { model: 'cnn 28×28×1 conv8-conv16-dense64-10', spec: CNN, featureShape: [28, 28, 1], classes: 10, chunk: 256, train: sgd(32), variants: [BEFORE, AUTODIFF] },
];

function syntheticExamples(n: number, featureShape: number[], classes: number, seed: string): Examples {
  const rng = seededRandom(seed);
  const d = featureShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * d }, () => rng.nextFloat());
  const y = Int32Array.from({ length: n }, () => rng.nextUint32() % classes);
  return { x, y, n, featureShape, classes, classNames: Array.from({ length: classes }, (_, i) => String(i)), sensitive: {} };
}

/**
 * CPU milliseconds this process used since `since` (user + system). The machine is shared: wall time includes
 * waiting for a core, CPU time does not, so figures per CPU-second vary far less with the load. The process
 * also runs GC helper threads, so this slightly over-counts the one compute thread (conservative).
 */
function cpuMillis(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

interface Tally {
  samples: number;
  millis: number;
  cpuMillis: number;
  /** The fastest chunk (wall and CPU milliseconds): the statistic the peak uses, best of repetitions. */
  bestChunkMillis: number;
  bestChunkCpuMillis: number;
}

/**
 * Samples/s of one workload under each of its variants. The variants take turns (one chunk each per turn) until
 * each has trained `targetMs`, so a change in the machine's load hits all alike and the ratios stay meaningful.
 */
async function measure(w: Workload, targetMs: number): Promise<Map<string, Tally>> {
  const data = syntheticExamples(w.chunk, w.featureShape, w.classes, `bench-${w.model}`);
  const models = new Map<string, tf.LayersModel>();
  const tally = new Map<string, Tally>();
  for (const v of w.variants) {
    use(v);
    const model = buildModel(w.spec, { seed: 1 });
    await trainLocal(model, syntheticExamples(w.train.batchSize, w.featureShape, w.classes, 'warm-up'), { ...w.train, epochs: 1 });
    models.set(variantKey(v), model);
    tally.set(variantKey(v), { samples: 0, millis: 0, cpuMillis: 0, bestChunkMillis: Number.POSITIVE_INFINITY, bestChunkCpuMillis: Number.POSITIVE_INFINITY });
  }
  const wallStart = performance.now();
  const behind = (): boolean => [...tally.values()].some((t) => t.millis < targetMs);
  while (behind() && performance.now() - wallStart < 6 * targetMs * w.variants.length) {
    for (const v of w.variants) {
      use(v);
      const t = tally.get(variantKey(v)) as Tally;
      const cpu0 = process.cpuUsage();
      const res = await trainLocal(models.get(variantKey(v)) as tf.LayersModel, data, { ...w.train, epochs: 1 });
      const cpu = cpuMillis(cpu0);
      t.cpuMillis += cpu;
      t.samples += res.examples;
      t.millis += res.millis;
      t.bestChunkMillis = Math.min(t.bestChunkMillis, res.millis);
      t.bestChunkCpuMillis = Math.min(t.bestChunkCpuMillis, cpu);
    }
  }
  for (const m of models.values()) m.dispose();
  use(DENSE);
  return tally;
}

/** `npx tessera simulate` (MNIST defaults, seed 42, in-memory transport) in this process, timed. */
interface QuickStartRun {
  backend: string;
  path: TrainingPath;
  wallMs: number;
  cpuMs: number;
  accuracy: number | null;
  loss: number | null;
  /** Updates aggregated over all rounds, and clients dropped (e.g. past the round deadline under heavy load). */
  participants: number;
  dropped: number;
}

async function quickStart(v: Variant): Promise<QuickStartRun> {
  const { runSimulation } = await import('../simulations/simulate.ts');
  use(v);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sim = await runSimulation({ dataset: 'mnist', seed: 42 }, { logger: silentLogger() });
  const cpuMs = Math.round(cpuMillis(cpu0));
  const wallMs = Math.round(performance.now() - t0);
  use(DENSE);
  const rounds = sim.result.rounds;
  const last = rounds[rounds.length - 1];
  return {
    backend: BACKEND_LABEL[v.kernels],
    path: v.path,
    wallMs,
    cpuMs,
    accuracy: last?.accuracy ?? null,
    loss: last?.loss ?? null,
    participants: rounds.reduce((a, r) => a + r.participants, 0),
    dropped: rounds.reduce((a, r) => a + r.dropped.length, 0),
  };
}

function bestChunkFigures(chunk: number, t: Tally, flops: number, peak: { gflops: number; gflopsPerCpuSecond: number }): object {
  const gflops = (chunk * flops) / (t.bestChunkMillis * 1e6);
  const cpuGflops = (chunk * flops) / (t.bestChunkCpuMillis * 1e6);
  return {
    examples: chunk,
    samplesPerSec: round((chunk / t.bestChunkMillis) * 1000, 1),
    gflops: round(gflops, 2),
    percentOfPeak: round((100 * gflops) / peak.gflops, 1),
    perCpuSecond: { gflops: round(cpuGflops, 2), percentOfPeak: round((100 * cpuGflops) / peak.gflopsPerCpuSecond, 1) },
  };
}

export interface TrainingBenchOptions {
  /** Milliseconds of training per variant and workload (default 4000). */
  readonly targetMs?: number;
  /** Run the quick start before/after pair (default true). */
  readonly quickStart?: boolean;
  /** Only the workloads whose model name starts with one of these ('mlp', 'cnn'); default all. */
  readonly models?: readonly string[];
}

/** The options from `npm run bench -- training [--models=mlp,cnn] [--no-quick-start]`. */
export function trainingOptionsFromArgs(args: readonly string[]): TrainingBenchOptions {
  const models = args.find((a) => a.startsWith('--models='))?.slice('--models='.length).split(',').filter((m) => m !== '');
  return { ...(models !== undefined ? { models } : {}), ...(args.includes('--no-quick-start') ? { quickStart: false } : {}) };
}

export async function benchTraining(options: TrainingBenchOptions = {}): Promise<object> {
  const started = performance.now();
  const loadAtStart = round(loadavg()[0] ?? Number.NaN, 2);
  const targetMs = options.targetMs ?? 4000;
  const backend = await initBackend('wasm');
  const peaks: PeakMeasurement[] = [measurePeak('start')];
  const measured: { w: Workload; tally: Map<string, Tally> }[] = [];
  const workloads = WORKLOADS.filter((w) => options.models === undefined || options.models.some((m) => w.model.startsWith(m)));
  if (workloads.length === 0) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--models=${options.models?.join(',') ?? ''} names no workload; choose from mlp, cnn`);
  for (const w of workloads) {
    peaks.push(measurePeak(w.model));
    measured.push({ w, tally: await measure(w, targetMs) });
  }
  // The fastest single steps, the peak measured between them (bench/training-steps.ts); their peaks join the run's.
  const stepMinima = workloads.includes(WORKLOADS[0] as Workload) ? [32, 256].map((batch) => stepMinimum(MLP, syntheticExamples(4096, [784], 10, 'steps'), batch)) : [];
  const peak = runPeak(peaks);
  for (const m of stepMinima) {
    peak.gflops = Math.max(peak.gflops, m.peak.gflops);
    peak.gflopsPerCpuSecond = Math.max(peak.gflopsPerCpuSecond, m.peak.gflopsPerCpuSecond);
  }
  const runs = [];
  for (const { w, tally } of measured) {
    const flops = trainingFlopsPerSample(w.spec);
    for (const v of w.variants) {
      const t = tally.get(variantKey(v)) as Tally;
      const samplesPerSec = (t.samples / t.millis) * 1000;
      const gflops = (samplesPerSec * flops) / 1e9;
      const samplesPerCpuSec = (t.samples / t.cpuMillis) * 1000;
      const cpuGflops = (samplesPerCpuSec * flops) / 1e9;
      runs.push({
        model: w.model,
        batch: w.train.batchSize,
        backend: BACKEND_LABEL[v.kernels],
        path: v.path,
        samplesPerSec: round(samplesPerSec, 1),
        gflops: round(gflops, 2),
        percentOfPeak: round((100 * gflops) / peak.gflops, 1),
        // The same per CPU-second of this process, against the peak per CPU-second: what the code does with the
        // core when it has it, whatever the machine's load.
        perCpuSecond: { samples: round(samplesPerCpuSec, 1), gflops: round(cpuGflops, 2), percentOfPeak: round((100 * cpuGflops) / peak.gflopsPerCpuSecond, 1) },
        // The fastest chunk of w.chunk examples, against the same peak: best of repetitions, as the peak itself is
        // (samplesPerSec above is the mean over all chunks; on a loaded machine a 50 ms chunk is interrupted far more
        // often than a 1–80 ms peak product, so mean-against-best understates training by the load).
        bestChunk: bestChunkFigures(w.chunk, t, flops, peak),
        flopsPerSample: flops,
        samples: t.samples,
      });
    }
  }
  const mlp = WORKLOADS[0] as Workload;
  const profileData = syntheticExamples(4096, mlp.featureShape, mlp.classes, 'profile');
  const profile = [];
  for (const batch of workloads.includes(mlp) ? [32, 256] : []) {
    for (const path of ['dense', 'autodiff'] as const) {
      // Operands transposed per step: dW = xᵀ·dy for both layers, dx = dy·Wᵀ for the output layer.
      profile.push(await profileStep(MLP, profileData, sgd(batch), batch, path, [[batch, 784], [batch, 128], [128, 10]]));
    }
  }
  const kernels = kernelTimes();
  let quick: object | null = null;
  if (options.quickStart ?? true) {
    // Tessera's kernels first: the first simulation in the process also pays the one-off costs (data parsing, JIT).
    const ours = await quickStart(DENSE);
    const before = await quickStart(BEFORE);
    quick = {
      command: 'npx tessera simulate (seed 42), in process',
      runs: [before, ours],
      wallRatio: round(ours.wallMs / before.wallMs, 3),
      cpuRatio: round(ours.cpuMs / before.cpuMs, 3),
      sameAccuracy: ours.accuracy === before.accuracy,
      lossDifference: ours.loss !== null && before.loss !== null ? Math.abs(ours.loss - before.loss) : null,
    };
  }
  return {
    benchmark: 'training',
    node: process.version,
    tfjs: tf.version.tfjs,
    backendInfo: backend,
    // The machine is shared: a high load average lowers every figure, but both kernel sets alike (they take turns).
    loadAverage1m: { start: loadAtStart, end: round(loadavg()[0] ?? Number.NaN, 2) },
    peakGflops: peak.gflops,
    peakGflopsPerCpuSecond: peak.gflopsPerCpuSecond,
    peak: { method: PEAK_METHOD, measurements: peaks },
    flopsCounted: 'multiply-adds of every matrix product and convolution, 2 FLOPs each: the forward pass, the weight gradients, and the input gradients of every layer but the first (tfjs does not differentiate the input); activations, pooling, softmax and the optimizer update are not counted',
    runs,
    stepMinima: { model: mlp.model, note: 'the fastest Dense step (wall and CPU) over 300 steps, the matMul peak measured before every 10; shares against the best peak of the whole run', steps: stepMinima.map((m) => stepShares(m, MLP, peak)) },
    profile: { model: mlp.model, note: 'per training step of the MLP (sgd), 16 steps: the profiled step in wall time split into kernels (tf.profile; products incl. their operand transposes, which are also timed apart), gatherBatch and the rest (engine bookkeeping, JavaScript, the profiler); cpuMsPerStep from unprofiled runs', steps: profile },
    kernels,
    quickStart: quick,
    totalMillis: Math.round(performance.now() - started),
  };
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.stdout.write(`${JSON.stringify(await benchTraining(trainingOptionsFromArgs(process.argv.slice(2))), null, 2)}\n`);
}
