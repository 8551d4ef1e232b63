/**
 * The socket.io implementation of the client node's transport. socket.io-client reconnects by itself with
 * exponential back-off when the coordinator restarts; the handshake (`auth`) is re-sent on every attempt,
 * so the coordinator re-registers the client without any extra message.
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientMessage, Handshake } from '../../protocol/messages.ts';
import type { ClientTransport } from '../../protocol/transport.ts';
import { socketIoParser } from '../../protocol/socketio-parser.ts';

const MESSAGE_EVENT = 'tessera';

export interface SocketClientOptions {
  url: string;
  handshake: Handshake;
  /** Reconnection back-off bounds in milliseconds. */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
}

export function socketIoClientTransport(options: SocketClientOptions): ClientTransport {
  const socket: Socket = io(options.url, {
    auth: options.handshake,
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: options.reconnectDelayMs ?? 500,
    reconnectionDelayMax: options.reconnectDelayMaxMs ?? 5000,
    // Secure-aggregation messages carry more binary attachments than socket.io's default limit of 10.
    parser: socketIoParser,
  });
  const refusedHandlers: Array<(code: string, message: string) => void> = [];
  socket.on('connect_error', (err: Error & { data?: unknown }) => {
    const data = err.data;
    if (typeof data === 'object' && data !== null && 'code' in data && 'message' in data) {
      const { code, message } = data as { code: unknown; message: unknown };
      // A refusal from the coordinator's middleware is final: retrying would be refused the same way.
      socket.io.reconnection(false);
      for (const h of refusedHandlers) h(String(code), String(message));
    }
  });
  return {
    send(message: ClientMessage) {
      socket.emit(MESSAGE_EVENT, message);
    },
    onMessage(handler) {
      socket.on(MESSAGE_EVENT, (raw: unknown) => handler(raw));
    },
    onConnect(handler) {
      socket.on('connect', handler);
    },
    onDisconnect(handler) {
      socket.on('disconnect', (reason) => handler(String(reason)));
    },
    onRefused(handler) {
      refusedHandlers.push(handler);
    },
    close() {
      socket.io.reconnection(false);
      socket.disconnect();
    },
  };
}
