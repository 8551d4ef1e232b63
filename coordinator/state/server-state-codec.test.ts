/** The stored server-optimiser state round-trips to the bit, and a truncated or foreign blob is refused with its code. */
import { describe, expect, it } from 'vitest';
import { decodeServerState, encodeServerState } from './server-state-codec.ts';

describe('server-state codec', () => {
  it('round-trips float64 moments exactly and refuses damaged blobs', () => {
    const s = { kind: 'fedyogi' as const, m: Float64Array.from([0.1, -1e-300, Math.PI]), v: Float64Array.from([1e-6, 2 ** -1074, 7]) };
    const bytes = encodeServerState(s);
    const back = decodeServerState(new Uint8Array(bytes));
    expect(back.kind).toBe('fedyogi');
    expect(Array.from(back.m)).toEqual(Array.from(s.m));
    expect(Array.from(back.v)).toEqual(Array.from(s.v));
    const code = (b: Uint8Array): string => {
      try {
        decodeServerState(b);
        return 'accepted';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(bytes.subarray(0, bytes.length - 8))).toBe('TESSERA_ERR_STRATEGY_STATE');
    expect(code(new Uint8Array(16))).toBe('TESSERA_ERR_STRATEGY_STATE');
    const foreign = Buffer.from(bytes);
    foreign.writeUInt32LE(9, 8);
    expect(code(foreign)).toBe('TESSERA_ERR_STRATEGY_STATE');
  });
});
