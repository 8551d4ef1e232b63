import { describe, expect, it } from 'vitest';
import { ceiling } from './cli-runs.ts';

describe('bench simulate: the speedup ceiling', () => {
  it('is cores × sequential wall time over CPU time: a sequential run that already used 1.31 cores leaves 2 cores at most 1.53×', () => {
    // The Adult-100 pair of 5 December 2026: 4,979 ms wall and 6,515 ms CPU sequentially, 7,998 ms CPU in parallel.
    expect(ceiling(2, 4979, 6515, 7998)).toEqual({ cores: 2, fromSequentialCpu: 1.53, fromParallelCpu: 1.25 });
  });

  it('never exceeds the core count (a run that waited more than it computed)', () => {
    expect(ceiling(2, 1000, 300, 400)).toEqual({ cores: 2, fromSequentialCpu: 2, fromParallelCpu: 2 });
  });
});
