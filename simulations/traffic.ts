/**
 * Bytes on the wire per round in a simulation (issue 18 §5, "cost per round"): every message a simulated client
 * sends or receives is measured as socket.io encodes it — one text frame, or one binary frame holding the text and
 * the binary fields (socket.io-parser 4 with protocol/socketio-parser.ts, the parser both transports use) — whichever transport the
 * simulation runs on, so the in-memory transport reports what the same federation would send over sockets. The
 * engine.io and WebSocket framing (a few bytes per frame) is not counted. Counted on the client side, where
 * both directions pass, so the coordinator's code is untouched.
 */
import { PacketType } from 'socket.io-parser';
import { socketIoParser } from '../protocol/socketio-parser.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import type { ClientTransport } from '../protocol/transport.ts';

/** The event name the socket.io transports use for protocol messages (client/transport/socketio-client.ts). */
const MESSAGE_EVENT = 'tessera';

const encoder = new socketIoParser.Encoder();

/** The size of `message` as one socket.io EVENT packet, by running the parser itself (the reference for wireBytes). */
export function encodedBytes(message: unknown): number {
  const parts = encoder.encode({ type: PacketType.EVENT, nsp: '/', data: [MESSAGE_EVENT, message] }) as unknown[];
  let bytes = 0;
  for (const p of parts) {
    if (typeof p === 'string') bytes += Buffer.byteLength(p, 'utf8');
    else if (ArrayBuffer.isView(p)) bytes += p.byteLength;
    else if (p instanceof ArrayBuffer) bytes += p.byteLength;
  }
  return bytes;
}

/** Thrown inside `placeholders` when the value holds something only the parser itself sizes exactly. */
const UNUSUAL = Symbol('unusual value');

/**
 * `value` as socket.io-parser's deconstructPacket leaves it — every binary replaced by `{ _placeholder: true,
 * num }` in traversal order, its length pushed to `lengths` — but sharing every subtree that holds no binary
 * instead of copying it, so JSON.stringify then runs without a replacer. Objects with a toJSON method (which
 * socket.io's hasBinary calls) and Blobs throw UNUSUAL: the caller asks the parser.
 */
function placeholders(value: unknown, lengths: number[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    lengths.push(value.byteLength);
    return { _placeholder: true, num: lengths.length - 1 };
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const p = placeholders(v, lengths);
      if (p !== v && copy === undefined) copy = value.slice(0, i);
      if (copy !== undefined) copy.push(p);
    }
    return copy ?? value;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function' || value instanceof Blob) throw UNUSUAL;
  let copy: Record<string, unknown> | undefined;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    const p = placeholders(v, lengths);
    if (p !== v && copy === undefined) {
      copy = {};
      for (const k in value) {
        if (k === key) break;
        if (Object.prototype.hasOwnProperty.call(value, k)) copy[k] = (value as Record<string, unknown>)[k];
      }
    }
    if (copy !== undefined) copy[key] = p;
  }
  return copy ?? value;
}

/**
 * The size of `message` as one socket.io EVENT packet (what encodedBytes returns, by arithmetic): without binary,
 * the text frame `2` + JSON of ["tessera", message]; with n binary fields, the one binary frame of
 * protocol/socketio-parser.ts — a u32 text length, the text `5<n>-` + that JSON with n placeholders, a u32 count,
 * n u32 lengths and the n attachments. Counting every message
 * of a simulation by running the encoder cost ~11 ms of a 200-client Adult round (issue 16); this walks the message
 * once, copies only what leads to a binary, and lets JSON.stringify run on its fast path.
 */
export function wireBytes(message: unknown): number {
  const lengths: number[] = [];
  let packed: unknown;
  try {
    packed = placeholders(message, lengths);
  } catch (e) {
    if (e === UNUSUAL) return encodedBytes(message);
    throw e;
  }
  const text = Buffer.byteLength(JSON.stringify([MESSAGE_EVENT, packed]), 'utf8');
  if (lengths.length === 0) return 1 + text;
  // One binary frame: the text's length, the text, the attachment count, their lengths, the attachments.
  let binary = 4 + 4 * lengths.length;
  for (const l of lengths) binary += l;
  return 4 + `${PacketType.BINARY_EVENT}${lengths.length}-`.length + text + binary;
}

export interface TrafficTotals {
  /** Bytes the clients sent to the coordinator (updates, secure-aggregation stages, declines, evaluations). */
  fromClients: number;
  /** Bytes the coordinator sent to the clients (tasks with the global weights, stage messages). */
  toClients: number;
}

/** Running totals over every wrapped client, read at each committed round. */
export class TrafficMeter {
  private readonly totals: TrafficTotals = { fromClients: 0, toClients: 0 };
  private last: TrafficTotals = { fromClients: 0, toClients: 0 };

  /** The same transport, with both directions counted. */
  wrap(t: ClientTransport): ClientTransport {
    return {
      send: (message: ClientMessage) => {
        this.totals.fromClients += wireBytes(message);
        t.send(message);
      },
      onMessage: (handler) =>
        t.onMessage((raw) => {
          this.totals.toClients += wireBytes(raw);
          handler(raw);
        }),
      onConnect: (h) => t.onConnect(h),
      onDisconnect: (h) => t.onDisconnect(h),
      onRefused: (h) => t.onRefused(h),
      close: () => t.close(),
      ...(t.coordinatorIdentity ? { coordinatorIdentity: () => t.coordinatorIdentity?.() } : {}),
    };
  }

  /** Bytes since the previous call (the round just committed: its tasks, replies and evaluation). */
  sinceLast(): TrafficTotals {
    const now = { ...this.totals };
    const delta = { fromClients: now.fromClients - this.last.fromClients, toClients: now.toClients - this.last.toClients };
    this.last = now;
    return delta;
  }
}
