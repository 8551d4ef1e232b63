/**
 * A debug probe of the coordinator's memory, stage by stage (issue 14 §4: where the peak resident set of a
 * 1,000-client secure round comes from). Off unless TESSERA_DEBUG_MEMORY=1: then it samples
 * `process.memoryUsage()` every 100 ms and, when a secure-aggregation exchange ends, logs the peak of each
 * figure per stage (rss, heapUsed, external, arrayBuffers, in MB) at info level. It logs sizes only, never a
 * message or a key.
 */
import type { Logger } from 'pino';

export interface MemoryPeaks {
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  samples: number;
}

const MB = 1024 * 1024;
const round1 = (x: number): number => Math.round((x / MB) * 10) / 10;

export interface MemoryProbe {
  /** Marks the stage the following samples belong to (also taking a sample now). */
  mark(stage: string): void;
  /** Stops sampling and logs the per-stage peaks. */
  stop(): void;
}

const NOOP: MemoryProbe = { mark: () => undefined, stop: () => undefined };

export function memoryProbe(logger: Logger, label: string): MemoryProbe {
  if (process.env.TESSERA_DEBUG_MEMORY !== '1') return NOOP;
  const peaks = new Map<string, MemoryPeaks>();
  let stage = 'start';
  const started = performance.now();
  const sample = (): void => {
    const m = process.memoryUsage();
    const p = peaks.get(stage) ?? { rssMb: 0, heapUsedMb: 0, externalMb: 0, arrayBuffersMb: 0, samples: 0 };
    p.rssMb = Math.max(p.rssMb, round1(m.rss));
    p.heapUsedMb = Math.max(p.heapUsedMb, round1(m.heapUsed));
    p.externalMb = Math.max(p.externalMb, round1(m.external));
    p.arrayBuffersMb = Math.max(p.arrayBuffersMb, round1(m.arrayBuffers));
    p.samples++;
    peaks.set(stage, p);
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  sample();
  return {
    mark(next: string): void {
      sample();
      if (next === stage) return;
      logger.info({ memoryProbe: label, from: stage, to: next, atMs: Math.round(performance.now() - started), ...peaks.get(stage) }, 'memory probe: stage change');
      stage = next;
      sample();
    },
    stop(): void {
      sample();
      clearInterval(timer);
      logger.info({ memoryProbe: label, stages: Object.fromEntries(peaks) }, 'memory probe: peaks per stage');
    },
  };
}
