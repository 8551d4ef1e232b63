/**
 * The socket.io packet parser both transports use: socket.io-parser 4.2, with every packet that holds binary data
 * sent as ONE binary frame (protocol version 6; version 4 packed the attachments into one frame after the text).
 *
 * Why: socket.io sends each Uint8Array of a message as its own websocket frame, and a secure-aggregation stage
 * message carries one per key, share or signature of each neighbour (protocol/secagg.ts): a `secagg.keys`
 * message for k = 78 neighbours is 390 frames. At 1,000 clients a stage's output was ~350,000 frames queued
 * at once, each with its engine.io packet, ws frame header and socket write request on the JS heap — the
 * coordinator's heap grew by ~300 MB in the share-keys stage alone (measured with TESSERA_DEBUG_MEMORY=1,
 * issue 14 §4). Packed, every message was one text and one binary frame; now every message is one frame: the
 * text frame of a message without binary, or the binary frame below. Each frame is an engine.io packet, a
 * websocket frame and a socket write on each side: a train task and its update were four of each, now two
 * (issue 16, the fixed cost of a round over sockets).
 *
 * The frame: u32 LE t, then t bytes of UTF-8 text — socket.io's own packet text (`5<n>-…` with its placeholders)
 * — then the n attachments packed as u32 LE count n, n u32 LE lengths, the attachments back to back. The decoder
 * refuses a frame whose text is not valid UTF-8 or not a binary packet, whose count or lengths do not match what
 * the text announced exactly, and a text packet that announces attachments (they would have to come apart).
 * Decoded attachments are views into the frame (no copy); code that needs aligned words copies as before
 * (bytesToUint32). The byte size of a message stays bounded by the transport's maxHttpBufferSize.
 */
import { Decoder, Encoder, PacketType, protocol } from 'socket.io-parser';

/** Five binary fields per neighbour advertisement × the largest roster, plus a few per envelope. */
export const MAX_ATTACHMENTS = 5 * 65_534 + 16;

type Binary = Buffer | ArrayBuffer | ArrayBufferView;

const asBytes = (b: Binary): Uint8Array => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

/**
 * The attachments packed in `frame` from byte `from` to its end: exactly `expected` of them, of the same kind as
 * the frame (Buffer views or ArrayBuffers).
 */
function unpackAttachments(frame: Binary, from: number, expected: number): Array<Buffer | ArrayBuffer> {
  const whole = asBytes(frame);
  const b = whole.subarray(from);
  const fail = (why: string): never => {
    throw new Error(`binary frame refused: ${why}`);
  };
  if (b.byteLength < 4) fail('shorter than its attachment count');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = view.getUint32(0, true);
  if (n !== expected) fail(`holds ${n} attachments, the packet announced ${expected}`);
  let at = 4 + 4 * n;
  if (b.byteLength < at) fail('shorter than its length table');
  const out: Array<Buffer | ArrayBuffer> = [];
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(4 + 4 * i, true);
    if (len > b.byteLength - at) fail(`attachment ${i} runs past the frame`);
    out.push(frame instanceof ArrayBuffer ? frame.slice(from + at, from + at + len) : Buffer.from(b.buffer, b.byteOffset + at, len));
    at += len;
  }
  if (at !== b.byteLength) fail(`${b.byteLength - at} trailing bytes`);
  return out;
}

/** One frame for a packet with binary data: its text and its attachments (format above). */
export function packFrame(text: string, parts: readonly Binary[]): Buffer {
  const textBytes = Buffer.byteLength(text, 'utf8');
  const bytes = parts.map(asBytes);
  const size = 4 + textBytes + 4 + 4 * bytes.length + bytes.reduce((a, b) => a + b.byteLength, 0);
  const frame = Buffer.allocUnsafe(size);
  frame.writeUInt32LE(textBytes, 0);
  frame.write(text, 4, 'utf8');
  let at = 4 + textBytes;
  frame.writeUInt32LE(bytes.length, at);
  bytes.forEach((b, i) => frame.writeUInt32LE(b.byteLength, at + 4 + 4 * i));
  at += 4 + 4 * bytes.length;
  for (const b of bytes) {
    frame.set(b, at);
    at += b.byteLength;
  }
  return frame;
}

/** Strict UTF-8 (the check a websocket text frame gets from ws): invalid bytes are refused, not replaced. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text and the packed attachments of one frame (format above); throws on a malformed frame. */
export function splitFrame(frame: Binary): { text: string; attachments: Array<Buffer | ArrayBuffer> } {
  const b = asBytes(frame);
  if (b.byteLength < 4) throw new Error('binary frame refused: shorter than its text length');
  const textBytes = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
  if (textBytes > b.byteLength - 4) throw new Error('binary frame refused: its text runs past the frame');
  let text: string;
  try {
    text = utf8.decode(b.subarray(4, 4 + textBytes));
  } catch {
    throw new Error('binary frame refused: its text is not valid UTF-8');
  }
  const announced = announcedAttachments(text);
  if (announced === 0) throw new Error('binary frame refused: its text is not a packet with binary data');
  // Before unpacking: each attachment becomes a Buffer view of ~100 bytes of heap, so a frame of 4-byte table
  // entries announcing more than socket.io-parser's maxAttachments (which it checks only when it reads the text)
  // would cost ~25× its size in heap and seconds of the event loop before being refused.
  if (!(announced <= MAX_ATTACHMENTS)) throw new Error(`binary frame refused: its text announces ${announced} attachments, more than ${MAX_ATTACHMENTS}`);
  return { text, attachments: unpackAttachments(frame, 4 + textBytes, announced) };
}

class TesseraEncoder extends Encoder {
  override encode(obj: Parameters<Encoder['encode']>[0]): ReturnType<Encoder['encode']> {
    const parts = super.encode(obj) as unknown[];
    if (parts.length < 2) return parts;
    return [packFrame(parts[0] as string, parts.slice(1) as Binary[])];
  }
}

/** The attachment count a socket.io text packet announces (`5<n>-…` or `6<n>-…`), or 0 for a packet without binary. */
function announcedAttachments(text: string): number {
  const type = Number(text.charAt(0));
  if (type !== PacketType.BINARY_EVENT && type !== PacketType.BINARY_ACK) return 0;
  const dash = text.indexOf('-');
  return dash > 1 ? Number(text.slice(1, dash)) : 0;
}

class TesseraDecoder extends Decoder {
  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
  }

  override add(obj: unknown): void {
    if (typeof obj === 'string') {
      const announced = announcedAttachments(obj);
      if (announced > 0) throw new Error(`text packet refused: it announces ${announced} binary attachment(s), which travel in one binary frame with their packet`);
      super.add(obj); // throws on a malformed packet
      return;
    }
    if (!(obj instanceof ArrayBuffer || ArrayBuffer.isView(obj))) {
      super.add(obj); // socket.io's own refusal of an unknown type
      return;
    }
    const { text, attachments } = splitFrame(obj);
    super.add(text); // throws on a malformed packet or too many attachments
    for (const p of attachments) super.add(p);
  }
}

/** Pass as `parser` to socket.io's Server and to socket.io-client's `io()`. */
export const socketIoParser = { protocol, PacketType, Encoder: TesseraEncoder, Decoder: TesseraDecoder };
