/**
 * The packing parser (protocol/socketio-parser.ts): a message's binary fields travel as ONE frame and come
 * back byte-identical, and a packed frame that does not match what its text packet announced is refused
 * (a peer cannot smuggle, drop or stretch attachments).
 */
import { PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { packAttachments, socketIoParser, unpackAttachments } from './socketio-parser.ts';

const decodeAll = (parts: unknown[]): unknown => {
  const d = new socketIoParser.Decoder();
  let out: unknown;
  d.on('decoded', (p: { data?: unknown }) => {
    out = p.data;
  });
  for (const p of parts) d.add(p);
  return out;
};

describe('packed binary frames', () => {
  it('sends a message with 390 binary fields as one text and one binary frame, and restores every byte', () => {
    const keys = Array.from({ length: 78 }, (_, i) => ({
      index: i,
      cPk: Buffer.alloc(32, i),
      sPk: Buffer.alloc(32, i + 1),
      commitment: Buffer.alloc(32, i + 2),
      setupHash: Buffer.alloc(32, 7),
      signature: Buffer.alloc(64, i + 3),
    }));
    const message = { type: 'secagg.keys', roundId: 'r', keys, empty: new Uint8Array(0) };
    const parts = new socketIoParser.Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['tessera', message] }) as unknown[];
    expect(parts).toHaveLength(2);
    expect(typeof parts[0]).toBe('string');
    expect(String(parts[0]).startsWith('5391-')).toBe(true);
    const [, got] = decodeAll(parts) as [string, typeof message];
    expect(got.keys).toHaveLength(78);
    got.keys.forEach((k, i) => {
      expect(Buffer.compare(k.cPk, keys[i]?.cPk as Buffer)).toBe(0);
      expect(Buffer.compare(k.signature, keys[i]?.signature as Buffer)).toBe(0);
      expect(k.signature).toBeInstanceOf(Buffer);
    });
    expect(got.empty.byteLength).toBe(0);
  });

  it('leaves a message without binary as one text frame', () => {
    const parts = new socketIoParser.Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['tessera', { type: 'hello' }] }) as unknown[];
    expect(parts).toHaveLength(1);
    expect(decodeAll(parts)).toEqual(['tessera', { type: 'hello' }]);
  });

  it('round-trips ArrayBuffer frames as ArrayBuffers', () => {
    const frame = packAttachments([new Uint8Array([1, 2, 3]), new Uint8Array([4])]);
    const ab = new Uint8Array(frame).buffer; // a copy: an ArrayBuffer of exactly the frame
    const parts = unpackAttachments(ab, 2);
    expect(parts.map((p) => [...new Uint8Array(p)])).toEqual([[1, 2, 3], [4]]);
  });

  describe('ATTACK: a peer sends a packed frame that disagrees with its text packet', () => {
    const header = (n: number): string => `5${n}-["tessera",{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}]`;
    const frame = (): Buffer => packAttachments([Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6])]);
    const refused = (text: string, bin: Buffer): string => {
      const d = new socketIoParser.Decoder();
      let decoded = false;
      d.on('decoded', () => (decoded = true));
      d.add(text);
      try {
        d.add(bin);
      } catch (e) {
        expect(decoded).toBe(false);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    it('refuses a frame holding fewer or more attachments than announced', () => {
      expect(refused(header(3), frame())).toMatch(/holds 2 attachments, the packet announced 3/);
      expect(refused(`51-["tessera",{"_placeholder":true,"num":0}]`, frame())).toMatch(/announced 1/);
    });
    it('refuses a length that runs past the frame, a truncated table and trailing bytes', () => {
      const long = frame();
      long.writeUInt32LE(0xffffffff, 4);
      expect(refused(header(2), long)).toMatch(/runs past the frame/);
      expect(refused(header(2), frame().subarray(0, 6))).toMatch(/length table/);
      expect(refused(header(2), Buffer.concat([frame(), Buffer.from([0])]))).toMatch(/1 trailing bytes/);
      expect(refused(header(2), Buffer.from([2, 0]))).toMatch(/shorter than its count/);
    });
    it('still refuses binary data when no packet announced any', () => {
      const d = new socketIoParser.Decoder();
      expect(() => d.add(frame())).toThrow(/not reconstructing/);
    });
  });
});
