/**
 * Where one training step's time goes, for the training bench's JSON: kernels per step and their time
 * (tf.profile times each kernel the engine runs, in wall time), the operand transposes inside the products
 * (timed apart: ml/kernels/transposed-matmul.ts runs them inside BatchMatMul), building the batch
 * (gatherBatch), and the rest — the engine's per-kernel bookkeeping, JavaScript and the profiler's own cost —
 * as the profiled step's wall time minus all of these. All in wall time so that the parts add up; on a loaded
 * machine every part stretches alike, so the shares stay meaningful. The unprofiled step's CPU time is given
 * beside them.
 */
import * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { gatherBatch } from '../ml/batches.ts';
import { buildModel } from '../ml/model.ts';
import { overrideTrainingPath, trainLocal } from '../ml/train.ts';
import type { TrainingPath, TrainOptions } from '../ml/train.ts';
import type { ModelSpec } from '../protocol/job/model.ts';

const PRODUCTS = new Set(['BatchMatMul', '_FusedMatMul']);
const STEPS = 16;

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function cpuMillis(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** Median wall milliseconds of `fn` over `reps` calls after one warm-up. */
function medianMillis(fn: () => void, reps: number): number {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    fn();
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

export interface StepProfile {
  readonly path: TrainingPath;
  readonly batch: number;
  /** CPU time per step of unprofiled runs (best of three). */
  readonly cpuMsPerStep: number;
  /** Wall time per step of the profiled run: the sum of the parts below. */
  readonly profiledMsPerStep: number;
  readonly kernelsPerStep: number;
  readonly kernelMsPerStep: number;
  /** Kernel name → [calls per step, ms per step], largest first. */
  readonly byKernel: Record<string, [number, number]>;
  readonly productsMsPerStep: number;
  /** The Transpose of each transposed product operand, timed apart (included in productsMsPerStep). */
  readonly operandTransposesMsPerStep: number;
  readonly otherKernelsMsPerStep: number;
  readonly gatherBatchMsPerStep: number;
  /** Profiled wall time per step not in any kernel nor in gatherBatch: engine bookkeeping, JavaScript, GC, profiler. */
  readonly overheadMsPerStep: number;
  readonly lossReadBacks: string;
}

/**
 * Profiles `STEPS` steps of `spec` at `batch` on `path`. `transposeShapes` are the [rows, cols] of the operands
 * the step's products transpose (dW = xᵀ·dy per layer, dx = dy·Wᵀ per layer but the first).
 */
export async function profileStep(spec: ModelSpec, data: Examples, train: Omit<TrainOptions, 'epochs' | 'batchSize'>, batch: number, path: TrainingPath, transposeShapes: readonly [number, number][]): Promise<StepProfile> {
  const n = Math.min(data.n, batch * STEPS);
  const examples: Examples = { ...data, n, x: data.x.subarray(0, n * (data.x.length / data.n)), y: data.y.subarray(0, n) };
  const opts: TrainOptions = { ...train, batchSize: batch, epochs: 1 };
  const model = buildModel(spec, { seed: 1 });
  overrideTrainingPath(path === 'autodiff' ? 'autodiff' : undefined);
  await trainLocal(model, examples, opts); // warm-up
  let cpuMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const cpu0 = process.cpuUsage();
    await trainLocal(model, examples, opts);
    cpuMs = Math.min(cpuMs, cpuMillis(cpu0));
  }
  const steps = Math.ceil(n / batch);
  let profiledMs = 0;
  const info = await tf.profile(async () => {
    const t0 = performance.now();
    await trainLocal(model, examples, opts);
    profiledMs = performance.now() - t0;
  });
  overrideTrainingPath(undefined);
  model.dispose();
  const byName = new Map<string, [number, number]>();
  let kernelMs = 0;
  let productsMs = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN;
    const e = byName.get(k.name) ?? [0, 0];
    byName.set(k.name, [e[0] + 1, e[1] + ms]);
    kernelMs += ms;
    if (PRODUCTS.has(k.name)) productsMs += ms;
  }
  const rows = Array.from({ length: batch }, (_, i) => (i * 7919) % n);
  const gatherMs = medianMillis(() => {
    const b = gatherBatch(examples, rows);
    tf.dispose([b.x, b.y, ...(b.w ? [b.w] : [])]);
  }, 20);
  const transposeMs = tf.tidy(() => {
    let sum = 0;
    for (const [r, c] of transposeShapes) {
      const t = tf.zeros([r, c]);
      sum += medianMillis(() => tf.transpose(t).dispose(), 20);
    }
    return sum;
  });
  const perStep = (v: number): number => round(v / steps, 3);
  const byKernel: Record<string, [number, number]> = {};
  for (const [name, [calls, ms]] of [...byName.entries()].sort((a, b) => b[1][1] - a[1][1])) byKernel[name] = [round(calls / steps, 2), perStep(ms)];
  return {
    path,
    batch,
    cpuMsPerStep: perStep(cpuMs),
    profiledMsPerStep: perStep(profiledMs),
    kernelsPerStep: round(info.kernels.length / steps, 2),
    kernelMsPerStep: perStep(kernelMs),
    byKernel,
    productsMsPerStep: perStep(productsMs),
    operandTransposesMsPerStep: round(transposeMs, 3),
    otherKernelsMsPerStep: perStep(kernelMs - productsMs),
    gatherBatchMsPerStep: round(gatherMs, 3),
    overheadMsPerStep: round(profiledMs / steps - kernelMs / steps - gatherMs, 3),
    lossReadBacks: 'one per epoch (the batch losses stay on the backend until the epoch ends)',
  };
}
