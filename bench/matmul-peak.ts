/**
 * The wasm matMul peak the training bench compares against, measured so that it is not an underestimate.
 *
 * Why not one product: a single square 1024 product, best of 8, taken once at the start of the run, read
 * 14.7 GFLOP/s in one run on a quiet machine and 20–25 GFLOP/s minutes later (the CPU's clock, the other
 * tenants of a shared machine and the first calls' page faults all move it), so the runs' "percent of peak"
 * read high. Here the peak is the best rate of plain square products over several sizes (XNNPACK's speed
 * differs a little between them), re-measured before every workload; the bench reports the maximum over the
 * whole run and computes every run's share against that maximum. Best, not median: the peak is what one core
 * does when the process has it. Per CPU-second as well as per wall second: CPU time does not count waiting for
 * a core on a loaded machine.
 */
import * as tf from '@tensorflow/tfjs';

export const PEAK_SIZES = [256, 512, 1024] as const;

export interface PeakSample {
  /** Square size n of the product (2n³ FLOPs). */
  readonly n: number;
  readonly reps: number;
  readonly bestGflops: number;
  readonly bestGflopsPerCpuSecond: number;
}

export interface PeakMeasurement {
  /** What the measurement was taken before (a workload's name, or 'start'). */
  readonly before: string;
  readonly samples: readonly PeakSample[];
  readonly bestGflops: number;
  readonly bestGflopsPerCpuSecond: number;
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function cpuMillis(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
}

/** Best GFLOP/s of an n×n·n×n product over repetitions filling about `budgetMs`, after two warm-up calls. */
function squareProduct(n: number, budgetMs: number): PeakSample {
  return tf.tidy(() => {
    const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
    const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
    const flops = 2 * n ** 3;
    let best = 0;
    let bestCpu = 0;
    let reps = 0;
    const started = performance.now();
    for (let i = 0; i < 2 || (performance.now() - started < budgetMs && reps < 200) || reps < 3; i++) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const c = tf.matMul(a, b);
      c.dataSync();
      const ms = performance.now() - t0;
      const cpuMs = cpuMillis(cpu0);
      c.dispose();
      if (i < 2) continue; // warm-up: XNNPACK's first call for a shape allocates and packs
      reps++;
      best = Math.max(best, flops / (ms * 1e6));
      if (cpuMs > 0) bestCpu = Math.max(bestCpu, flops / (cpuMs * 1e6));
    }
    return { n, reps, bestGflops: round(best, 2), bestGflopsPerCpuSecond: round(bestCpu, 2) };
  });
}

/** One peak measurement: every size in PEAK_SIZES, about `budgetMs` each. */
export function measurePeak(before: string, budgetMs = 300): PeakMeasurement {
  const samples = PEAK_SIZES.map((n) => squareProduct(n, budgetMs));
  return {
    before,
    samples,
    bestGflops: Math.max(...samples.map((s) => s.bestGflops)),
    bestGflopsPerCpuSecond: Math.max(...samples.map((s) => s.bestGflopsPerCpuSecond)),
  };
}

/** The run's peak: the maximum over every measurement taken in it. */
export function runPeak(measurements: readonly PeakMeasurement[]): { gflops: number; gflopsPerCpuSecond: number } {
  return {
    gflops: Math.max(...measurements.map((m) => m.bestGflops)),
    gflopsPerCpuSecond: Math.max(...measurements.map((m) => m.bestGflopsPerCpuSecond)),
  };
}

export const PEAK_METHOD =
  'best rate of plain square matMuls (n = 256, 512, 1024; 2n³ FLOPs; two warm-up calls, then repetitions for ~0.3 s per size, result read back), measured at the start and again before each workload; peakGflops is the maximum over all of them, and every percentOfPeak is against that maximum (per CPU-second against the maximum per CPU-second)';
