import { describe, expect, it } from 'vitest';
import {
  SECAGG_CLIENT_STAGES,
  SECAGG_CLIENT_TRANSITIONS,
  SECAGG_SERVER_TRANSITIONS,
  SecAggClientMessage,
  SecAggServerMessage,
  approximateWireBytes,
  type SecAggServerStage,
} from './secagg.ts';

const masked = (vector: unknown) => ({ type: 'secagg.masked-input', roundId: 'job/1', index: 3, vector, signature: new Uint8Array(64) });

describe('SecAgg wire messages', () => {
  it('accept binary fields as Uint8Array or Buffer, and refuse JSON number arrays', () => {
    expect(SecAggClientMessage.safeParse(masked(new Uint8Array(8))).success).toBe(true);
    expect(SecAggClientMessage.safeParse(masked(Buffer.alloc(8))).success).toBe(true);
    const r = SecAggClientMessage.safeParse(masked([1, 2, 3, 4]));
    expect(r.success).toBe(false);
    expect(SecAggClientMessage.safeParse({ ...masked(new Uint8Array(8)), signature: new Uint8Array(63) }).success).toBe(false);
  });

  it('refuse round ids and client ids outside the allowed alphabet', () => {
    expect(SecAggServerMessage.safeParse({ type: 'secagg.abort', roundId: 'bad id', code: 'X', reason: '' }).success).toBe(false);
    expect(SecAggServerMessage.safeParse({ type: 'secagg.abort', roundId: 'job-1/round-2', code: 'X', reason: '' }).success).toBe(true);
  });

  it('count binary fields at their byte length on the wire (Buffer too, despite Buffer.toJSON)', () => {
    const small = approximateWireBytes(masked(Buffer.alloc(0)));
    expect(approximateWireBytes(masked(Buffer.alloc(4000))) - small).toBe(4000);
    expect(approximateWireBytes(masked(new Uint8Array(4000))) - small).toBe(4000);
  });
});

describe('SecAgg stage tables', () => {
  it('every non-final client stage accepts exactly the next coordinator message; final stages accept none', () => {
    for (const stage of SECAGG_CLIENT_STAGES) {
      const row = SECAGG_CLIENT_TRANSITIONS[stage];
      expect(Object.keys(row).length > 0).toBe(stage !== 'done' && stage !== 'aborted');
      for (const next of Object.values(row)) expect(SECAGG_CLIENT_STAGES).toContain(next);
    }
  });

  it('the server stages form one chain from advertise to done', () => {
    const seen: string[] = [];
    let s: SecAggServerStage | undefined = 'advertise';
    while (s !== undefined && s !== 'done') {
      seen.push(s);
      s = SECAGG_SERVER_TRANSITIONS[s]?.next;
    }
    expect(seen).toEqual(['advertise', 'share-keys', 'masked-input', 'consistency', 'unmask']);
    expect(SECAGG_SERVER_TRANSITIONS.done).toBeUndefined();
    expect(SECAGG_SERVER_TRANSITIONS.aborted).toBeUndefined();
  });
});
