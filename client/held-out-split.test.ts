import { describe, expect, it } from 'vitest';
import { loadDataset } from '../datasets/index.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { SHARED_DATA_DIR } from '../test/paths.ts';
import { heldOutSplitForJob } from './held-out-split.ts';

const job = (seed: number) =>
  parseJobSpec({ seed, model: { kind: 'logistic', inputs: 15, classes: 2 }, data: { dataset: 'heart' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 4 }, fairness: { enabled: true, sensitive: ['sex'], heldOutFraction: 0.25, groupValues: { sex: ['female', 'male'] } } });

describe('held-out split per job', () => {
  const cleveland = loadDataset('heart', { dataDir: SHARED_DATA_DIR }).natural?.[0]?.examples;
  it('takes the job’s fraction, stratified, and is a function of the job seed and the client id only', () => {
    if (!cleveland) throw new Error('no Cleveland data');
    const a = heldOutSplitForJob(cleveland, job(1), 'c1');
    expect(a.heldOut?.n).toBe(Math.round(0.25 * cleveland.n));
    expect((a.heldOut?.n ?? 0) + a.train.n).toBe(cleveland.n);
    // Same job and client: the same rows, bit for bit.
    expect(Array.from(heldOutSplitForJob(cleveland, job(1), 'c1').heldOut?.x ?? [])).toEqual(Array.from(a.heldOut?.x ?? []));
    // Another seed or another client: other rows.
    expect(Array.from(heldOutSplitForJob(cleveland, job(2), 'c1').heldOut?.x ?? [])).not.toEqual(Array.from(a.heldOut?.x ?? []));
    expect(Array.from(heldOutSplitForJob(cleveland, job(1), 'c2').heldOut?.x ?? [])).not.toEqual(Array.from(a.heldOut?.x ?? []));
    // Stratified by label: the held-out positive share is within one row of the whole split's.
    const positives = (y: Int32Array | undefined): number => (y ?? new Int32Array()).reduce((s, v) => s + v, 0);
    const expected = (positives(cleveland.y) / cleveland.n) * (a.heldOut?.n ?? 0);
    expect(Math.abs(positives(a.heldOut?.y) - expected)).toBeLessThanOrEqual(2);
  });
});
