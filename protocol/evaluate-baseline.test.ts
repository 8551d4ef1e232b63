/**
 * The evaluate task's previous-production baseline on the wire (protocol/messages.ts): one more weight vector of
 * exactly the evaluated model's size — a coordinator cannot make the message arbitrarily large through it — in a
 * strict section; the result's baseline sums are strict too.
 */
import { describe, expect, it } from 'vitest';
import { ClientMessage, ServerMessage } from './messages.ts';
import { encodeFloat32 } from './tensor.ts';
import { parseJobSpec } from './job/spec.ts';
import { canonicalHash } from '../lib/canonical-json.ts';

const VERSION = 'a'.repeat(64);
const job = parseJobSpec({ model: { kind: 'logistic', inputs: 784, classes: 10 }, data: { dataset: 'mnist' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 3 } });
const task = (baseline: unknown): unknown => ({ type: 'evaluate', jobId: 'j', round: 1, taskId: 't', specHash: canonicalHash(job), job, weights: encodeFloat32(new Float32Array(7850)), deadlineMs: 1000, baseline });

describe('EvaluateTask.baseline', () => {
  it('accepts the production weights of the evaluated model’s size', () => {
    expect(ServerMessage.safeParse(task({ version: VERSION, weights: encodeFloat32(new Float32Array(7850)) })).success).toBe(true);
    expect(ServerMessage.safeParse(task(undefined)).success).toBe(true);
  });

  it('refuses a baseline of another size, an unknown key, or a version that is not a registry hash', () => {
    const bigger = ServerMessage.safeParse(task({ version: VERSION, weights: encodeFloat32(new Float32Array(7851)) }));
    expect(bigger.success).toBe(false);
    expect(JSON.stringify(bigger.error?.issues)).toContain('same architecture');
    expect(ServerMessage.safeParse(task({ version: VERSION, weights: encodeFloat32(new Float32Array(7850)), extra: 1 })).success).toBe(false);
    expect(ServerMessage.safeParse(task({ version: 'prod', weights: encodeFloat32(new Float32Array(7850)) })).success).toBe(false);
  });

  it('the result’s baseline sums are strict, non-negative, with an integer correct count', () => {
    const result = (baseline: unknown): unknown => ({ type: 'evaluate-result', jobId: 'j', round: 1, taskId: 't', examples: 10, lossSum: 3, correct: 7, baseline });
    expect(ClientMessage.safeParse(result({ correct: 8, lossSum: 2.5, brierSum: 1 })).success).toBe(true);
    expect(ClientMessage.safeParse(result({ correct: 8.5, lossSum: 2.5, brierSum: 1 })).success).toBe(false);
    expect(ClientMessage.safeParse(result({ correct: 8, lossSum: -1, brierSum: 1 })).success).toBe(false);
    expect(ClientMessage.safeParse(result({ correct: 8, lossSum: 2.5, brierSum: 1, examples: 10 })).success).toBe(false);
  });
});
