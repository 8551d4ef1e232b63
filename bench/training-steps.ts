/**
 * The training bench's `stepMinima`: the fastest single Dense training step of the MLP (ml/dense-step.ts, sgd, a
 * fresh batch gathered each step, as trainLocal runs it) over many steps, with the matMul peak measured between
 * every group of steps (peak, steps, peak, steps, …) in the same process.
 *
 * Why: on a machine shared with other jobs a mean over seconds of training measures the load as much as the code,
 * while the peak is a best-of figure. The fastest step is the same statistic as the peak, over an interval (1–7 ms)
 * as short as the peak's products, so the two compare like with like; the chunk figures (`runs`) remain the
 * sustained rate, which includes trainLocal's per-call work (shuffling, reading the losses back).
 */
import * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { gatherBatch } from '../ml/batches.ts';
import { denseStep, readDenseStack } from '../ml/dense-step.ts';
import { buildModel } from '../ml/model.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { TesseraError } from '../protocol/errors.ts';
import { trainingFlopsPerSample } from './flops.ts';
import { measurePeak } from './matmul-peak.ts';

export interface StepMinimum {
  readonly batch: number;
  readonly steps: number;
  /** The best peak measured between the steps. */
  readonly peak: { readonly gflops: number; readonly gflopsPerCpuSecond: number };
  readonly minStepMs: number;
  readonly minStepCpuMs: number;
}

/** The step's share of `peak` (the run's best), in wall time and per CPU-second. */
export function stepShares(m: StepMinimum, spec: ModelSpec, peak: { gflops: number; gflopsPerCpuSecond: number }): object {
  const flops = m.batch * trainingFlopsPerSample(spec);
  return {
    batch: m.batch,
    steps: m.steps,
    minStepMs: round(m.minStepMs, 3),
    percentOfPeak: round((100 * flops) / (m.minStepMs * 1e6) / peak.gflops, 1),
    minStepCpuMs: round(m.minStepCpuMs, 3),
    percentOfPeakPerCpuSecond: round((100 * flops) / (m.minStepCpuMs * 1e6) / peak.gflopsPerCpuSecond, 1),
  };
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** `rounds` × (peak, `perRound` steps) at batch size `batch` on `data`, after one warm-up round. */
export function stepMinimum(spec: ModelSpec, data: Examples, batch: number, rounds = 30, perRound = 10): StepMinimum {
  const model = buildModel(spec, { seed: 1 });
  const stack = readDenseStack(model);
  if (stack === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'stepMinimum needs a Dense-only model');
  const variables = stack.flatMap((l) => (l.bias ? [l.kernel, l.bias] : [l.kernel]));
  const optimizer = tf.train.sgd(0.05);
  const step = denseStep(stack, variables, optimizer, undefined);
  let peak = 0;
  let peakCpu = 0;
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  let steps = 0;
  let next = 0;
  for (let r = 0; r <= rounds; r++) {
    const p = measurePeak(`steps at batch ${batch}`, 60);
    peak = Math.max(peak, p.bestGflops);
    peakCpu = Math.max(peakCpu, p.bestGflopsPerCpuSecond);
    for (let s = 0; s < perRound; s++) {
      // Rows spread over the data set (a shuffled epoch's access pattern), a different batch every step.
      const rows = Array.from({ length: batch }, (_, i) => ((next + i) * 7919) % data.n);
      next += batch;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      tf.dispose(tf.tidy(() => step(gatherBatch(data, rows))));
      const ms = performance.now() - t0;
      const used = process.cpuUsage(cpu0);
      if (r === 0) continue; // warm-up round: XNNPACK's first calls for each shape
      wall = Math.min(wall, ms);
      cpu = Math.min(cpu, (used.user + used.system) / 1000);
      steps++;
    }
  }
  optimizer.dispose();
  model.dispose();
  return { batch, steps, peak: { gflops: peak, gflopsPerCpuSecond: peakCpu }, minStepMs: wall, minStepCpuMs: cpu };
}
