/**
 * The socket.io packet parser both transports use: socket.io-parser 4.2 with every packet's binary
 * attachments packed into ONE binary frame (protocol version 4).
 *
 * Why: socket.io sends each Uint8Array of a message as its own websocket frame, and a secure-aggregation stage
 * message carries one per key, share or signature of each neighbour (protocol/secagg.ts): a `secagg.keys`
 * message for k = 78 neighbours is 390 frames. At 1,000 clients a stage's output was ~350,000 frames queued
 * at once, each with its engine.io packet, ws frame header and socket write request on the JS heap — the
 * coordinator's heap grew by ~300 MB in the share-keys stage alone (measured with TESSERA_DEBUG_MEMORY=1,
 * issue 14 §4). Packed, every message is one text frame and at most one binary frame.
 *
 * The packed frame: u32 LE count n, then n u32 LE lengths, then the n attachments back to back. The text
 * part is socket.io's own (`5<n>-…` with its placeholders), so the decoder knows n before the frame arrives
 * and refuses a packed frame whose count or lengths do not match it exactly. Decoded attachments are views
 * into the packed frame (no copy); code that needs aligned words copies as before (bytesToUint32).
 * The byte size of a message stays bounded by the transport's maxHttpBufferSize.
 */
import { Decoder, Encoder, PacketType, protocol } from 'socket.io-parser';

/** Five binary fields per neighbour advertisement × the largest roster, plus a few per envelope. */
export const MAX_ATTACHMENTS = 5 * 65_534 + 16;

type Binary = Buffer | ArrayBuffer | ArrayBufferView;

const asBytes = (b: Binary): Uint8Array => (b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength));

/** Packs the attachments of one packet into one frame (format above). */
export function packAttachments(parts: readonly Binary[]): Buffer {
  const header = Buffer.allocUnsafe(4 + 4 * parts.length);
  header.writeUInt32LE(parts.length, 0);
  const bytes = parts.map(asBytes);
  bytes.forEach((b, i) => header.writeUInt32LE(b.byteLength, 4 + 4 * i));
  return Buffer.concat([header, ...bytes]);
}

/** Splits a packed frame into exactly `expected` attachments, of the same kind as the frame (Buffer views or ArrayBuffers). */
export function unpackAttachments(frame: Binary, expected: number): Array<Buffer | ArrayBuffer> {
  const b = asBytes(frame);
  const fail = (why: string): never => {
    throw new Error(`packed binary frame refused: ${why}`);
  };
  if (b.byteLength < 4) fail('shorter than its count');
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = view.getUint32(0, true);
  if (n !== expected) fail(`holds ${n} attachments, the packet announced ${expected}`);
  let at = 4 + 4 * n;
  if (b.byteLength < at) fail('shorter than its length table');
  const out: Array<Buffer | ArrayBuffer> = [];
  for (let i = 0; i < n; i++) {
    const len = view.getUint32(4 + 4 * i, true);
    if (len > b.byteLength - at) fail(`attachment ${i} runs past the frame`);
    out.push(frame instanceof ArrayBuffer ? frame.slice(at, at + len) : Buffer.from(b.buffer, b.byteOffset + at, len));
    at += len;
  }
  if (at !== b.byteLength) fail(`${b.byteLength - at} trailing bytes`);
  return out;
}

class TesseraEncoder extends Encoder {
  override encode(obj: Parameters<Encoder['encode']>[0]): ReturnType<Encoder['encode']> {
    const parts = super.encode(obj) as unknown[];
    if (parts.length < 2) return parts;
    return [parts[0], packAttachments(parts.slice(1) as Binary[])];
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
  /** Attachments the last text packet announced, still to come in one packed frame. */
  private pending = 0;

  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
  }

  override add(obj: unknown): void {
    if (typeof obj === 'string') {
      super.add(obj); // throws on a malformed packet or too many attachments; then nothing is pending
      this.pending = announcedAttachments(obj);
      return;
    }
    if (this.pending === 0 || !(obj instanceof ArrayBuffer || ArrayBuffer.isView(obj))) {
      super.add(obj); // socket.io's own refusal: binary data when no packet is being reconstructed
      return;
    }
    const parts = unpackAttachments(obj, this.pending);
    this.pending = 0;
    for (const p of parts) super.add(p);
  }

  override destroy(): void {
    this.pending = 0;
    super.destroy();
  }
}

/** Pass as `parser` to socket.io's Server and to socket.io-client's `io()`. */
export const socketIoParser = { protocol, PacketType, Encoder: TesseraEncoder, Decoder: TesseraDecoder };
