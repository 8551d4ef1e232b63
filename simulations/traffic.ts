/**
 * Bytes on the wire per round in a simulation (issue 18 §5, "cost per round"): every message a simulated client
 * sends or receives is measured as socket.io encodes it — the packet's text part plus its one packed binary frame
 * (socket.io-parser 4 with the packing of protocol/socketio-parser.ts, the parser both transports use) — whichever transport the
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

/** The size of `message` as one socket.io EVENT packet: UTF-8 text plus the binary attachments. */
export function wireBytes(message: unknown): number {
  const parts = encoder.encode({ type: PacketType.EVENT, nsp: '/', data: [MESSAGE_EVENT, message] }) as unknown[];
  let bytes = 0;
  for (const p of parts) {
    if (typeof p === 'string') bytes += Buffer.byteLength(p, 'utf8');
    else if (ArrayBuffer.isView(p)) bytes += p.byteLength;
    else if (p instanceof ArrayBuffer) bytes += p.byteLength;
  }
  return bytes;
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
