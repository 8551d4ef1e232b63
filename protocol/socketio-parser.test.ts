/**
 * The one-frame parser (protocol/socketio-parser.ts): a message with binary fields travels as ONE binary frame
 * (its text and every attachment) and comes back byte-identical; a message without binary as one text frame; and
 * a frame that does not match what its text announces is refused (a peer cannot smuggle, drop or stretch
 * attachments, nor send invalid text).
 */
import { PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { packFrame, socketIoParser, splitFrame } from './socketio-parser.ts';

const decodeAll = (parts: unknown[]): unknown => {
  const d = new socketIoParser.Decoder();
  let out: unknown;
  d.on('decoded', (p: { data?: unknown }) => {
    out = p.data;
  });
  for (const p of parts) d.add(p);
  return out;
};

describe('one frame per message', () => {
  it('sends a message with 390 binary fields as one binary frame, and restores every byte', () => {
    const keys = Array.from({ length: 78 }, (_, i) => ({
      index: i,
      cPk: Buffer.alloc(32, i),
      sPk: Buffer.alloc(32, i + 1),
      commitment: Buffer.alloc(32, i + 2),
      setupHash: Buffer.alloc(32, 7),
      signature: Buffer.alloc(64, i + 3),
    }));
    const message = { type: 'secagg.keys', roundId: 'r', keys, empty: new Uint8Array(0), text: 'naïve “quotes” 😀' };
    const parts = new socketIoParser.Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['tessera', message] }) as unknown[];
    expect(parts).toHaveLength(1);
    expect(parts[0]).toBeInstanceOf(Buffer);
    expect(splitFrame(parts[0] as Buffer).text.startsWith('5391-')).toBe(true);
    const [, got] = decodeAll(parts) as [string, typeof message];
    expect(got.keys).toHaveLength(78);
    got.keys.forEach((k, i) => {
      expect(Buffer.compare(k.cPk, keys[i]?.cPk as Buffer)).toBe(0);
      expect(Buffer.compare(k.signature, keys[i]?.signature as Buffer)).toBe(0);
      expect(k.signature).toBeInstanceOf(Buffer);
    });
    expect(got.empty.byteLength).toBe(0);
    expect(got.text).toBe(message.text);
  });

  it('leaves a message without binary as one text frame', () => {
    const parts = new socketIoParser.Encoder().encode({ type: PacketType.EVENT, nsp: '/', data: ['tessera', { type: 'hello' }] }) as unknown[];
    expect(parts).toHaveLength(1);
    expect(decodeAll(parts)).toEqual(['tessera', { type: 'hello' }]);
  });

  it('decodes a frame that arrives as an ArrayBuffer into ArrayBuffer attachments', () => {
    const frame = packFrame('52-["tessera",[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]]', [new Uint8Array([1, 2, 3]), new Uint8Array([4])]);
    const ab = new Uint8Array(frame).buffer; // a copy: an ArrayBuffer of exactly the frame
    const [, got] = decodeAll([ab]) as [string, ArrayBuffer[]];
    expect(got.map((p) => (p instanceof ArrayBuffer ? [...new Uint8Array(p)] : 'not an ArrayBuffer'))).toEqual([[1, 2, 3], [4]]);
  });

  describe('ATTACK: a peer sends a frame that disagrees with itself', () => {
    const text = (n: number): string => `5${n}-["tessera",{"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}]`;
    const two = [Buffer.from([1, 2, 3, 4]), Buffer.from([5, 6])];
    const refused = (...frames: unknown[]): string => {
      const d = new socketIoParser.Decoder();
      let decoded = false;
      d.on('decoded', () => (decoded = true));
      try {
        for (const f of frames) d.add(f);
      } catch (e) {
        expect(decoded).toBe(false);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    it('refuses a frame holding fewer or more attachments than its text announces', () => {
      expect(refused(packFrame(text(3), two))).toMatch(/holds 2 attachments, the packet announced 3/);
      expect(refused(packFrame(`51-["tessera",{"_placeholder":true,"num":0}]`, two))).toMatch(/announced 1/);
    });
    it('refuses a length that runs past the frame, a truncated table, trailing bytes and a short frame', () => {
      const t = text(2);
      const at = 4 + Buffer.byteLength(t);
      const long = packFrame(t, two);
      long.writeUInt32LE(0xffffffff, at + 4);
      expect(refused(long)).toMatch(/runs past the frame/);
      expect(refused(packFrame(t, two).subarray(0, at + 6))).toMatch(/length table/);
      expect(refused(Buffer.concat([packFrame(t, two), Buffer.from([0])]))).toMatch(/1 trailing bytes/);
      expect(refused(Buffer.from([2, 0]))).toMatch(/shorter than its text length/);
      const textTooLong = packFrame(t, two);
      textTooLong.writeUInt32LE(textTooLong.byteLength, 0);
      expect(refused(textTooLong)).toMatch(/text runs past the frame/);
    });
    it('refuses invalid UTF-8 and a text that is not a packet with binary data', () => {
      const bad = packFrame(text(2), two);
      bad[10] = 0xff;
      expect(refused(bad)).toMatch(/not valid UTF-8/);
      expect(refused(packFrame('2["tessera",{}]', two))).toMatch(/not a packet with binary data/);
    });
    it('refuses the version-4 form: a text packet announcing attachments that would follow in their own frame', () => {
      expect(refused(text(2))).toMatch(/announces 2 binary attachment/);
    });
  });
});
