/**
 * The job spec in task messages is validated once per distinct spec: a repeated spec gives exactly what a
 * fresh JobSpec parse gives, as its own copy, and a spec that differs in anything — including values JSON
 * text would blur (NaN, Infinity, undefined) — is validated in full.
 */
import { describe, expect, it } from 'vitest';
import { JobSpec } from './spec.ts';
import { JobSpecOnWire } from './spec-on-wire.ts';
import { TrainTask } from '../messages.ts';
import { encodeFloat32 } from '../tensor.ts';
import { logisticJob } from '../../test/support/federation-fixtures.ts';

function task(job: unknown): unknown {
  return { type: 'train', jobId: 'j', round: 1, taskId: 't1', job, weights: encodeFloat32(new Float32Array(2)), deadlineMs: 1000 };
}

describe('JobSpecOnWire', () => {
  it('returns what JobSpec returns, as a fresh copy on every hit', () => {
    const raw: unknown = JSON.parse(JSON.stringify(logisticJob({ name: 'wire-copy' })));
    const first = JobSpecOnWire.parse(raw);
    const second = JobSpecOnWire.parse(JSON.parse(JSON.stringify(raw)));
    expect(first).toEqual(JobSpec.parse(raw));
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    second.training.learningRate = 99;
    expect(JobSpecOnWire.parse(raw).training.learningRate).toBe(0.1);
  });

  it('refuses an invalid spec inside a task with the field path, also after a valid one was seen', () => {
    const good = JSON.parse(JSON.stringify(logisticJob({ name: 'wire-refuse' }))) as Record<string, Record<string, unknown>>;
    expect(TrainTask.safeParse(task(good)).success).toBe(true);
    const bad = { ...good, training: { ...good['training'], learningRate: -1 } };
    const r = TrainTask.safeParse(task(bad));
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain('job.training.learningRate');
    expect(JobSpec.safeParse(bad).success).toBe(false);
  });

  it('does not confuse values that share their JSON text', () => {
    const good = JSON.parse(JSON.stringify(logisticJob({ name: 'wire-blur' }))) as Record<string, Record<string, unknown>>;
    // learningRate null and NaN both print as null; neither is valid, and neither may hit the other's entry.
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, null]) {
      const raw = { ...good, training: { ...good['training'], learningRate: v } };
      expect(JobSpecOnWire.safeParse(raw).success).toBe(false);
    }
    // An optional field present as undefined parses like JobSpec does (it is simply not cached).
    const withUndefined = { ...good, description: undefined };
    expect(JobSpecOnWire.parse(withUndefined)).toEqual(JobSpec.parse(withUndefined));
    // A valid number that prints like another is still itself: 0.1 + 0.2 is not 0.3.
    const a = { ...good, training: { ...good['training'], learningRate: 0.1 + 0.2 } };
    const b = { ...good, training: { ...good['training'], learningRate: 0.3 } };
    expect(JobSpecOnWire.parse(a).training.learningRate).toBe(0.1 + 0.2);
    expect(JobSpecOnWire.parse(b).training.learningRate).toBe(0.3);
  });
});
