/**
 * The socket.io implementation of the coordinator's transport. The handshake (`auth`) is parsed with zod and
 * the protocol version checked in middleware, so a mismatched or malformed client is refused before any
 * message flows; the refusal reaches the client as a connect_error carrying `{code, message}`.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { describeZodIssues } from '../../protocol/errors.ts';
import { Handshake, type ServerMessage } from '../../protocol/messages.ts';
import type { ClientConnection, ServerTransport } from '../../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { socketIoParser } from '../../protocol/socketio-parser.ts';

/** socket.io event name carrying every message in both directions. */
export const MESSAGE_EVENT = 'tessera';

export interface SocketServerOptions {
  /** Largest message in bytes; updates of d float32 coordinates need 4d plus a little. Default 256 MiB. */
  maxMessageBytes?: number;
}

class RefusedError extends Error {
  readonly data: { code: string; message: string };
  constructor(code: string, message: string) {
    super(message);
    this.data = { code, message };
  }
}

export function socketIoServerTransport(http: HttpServer, options: SocketServerOptions = {}): ServerTransport {
  const io = new Server(http, {
    maxHttpBufferSize: options.maxMessageBytes ?? 256 * 1024 * 1024,
    // Long local training must not look like a dead connection.
    pingTimeout: 60_000,
    serveClient: false,
    // Secure-aggregation messages carry more binary attachments than socket.io's default limit of 10.
    parser: socketIoParser,
  });
  io.use((socket, next) => {
    const parsed = Handshake.safeParse(socket.handshake.auth);
    if (!parsed.success) {
      next(new RefusedError('TESSERA_ERR_MESSAGE_INVALID', `Invalid handshake: ${describeZodIssues(parsed.error.issues)}`));
      return;
    }
    if (parsed.data.protocolVersion !== PROTOCOL_VERSION) {
      next(
        new RefusedError(
          'TESSERA_ERR_PROTOCOL_VERSION',
          `Protocol version mismatch: client speaks ${parsed.data.protocolVersion}, coordinator speaks ${PROTOCOL_VERSION}. Upgrade the older side.`,
        ),
      );
      return;
    }
    next();
  });
  const handlers: Array<(c: ClientConnection) => void> = [];
  io.on('connection', (socket: Socket) => {
    const connection = wrapSocket(socket, Handshake.parse(socket.handshake.auth));
    for (const h of handlers) h(connection);
  });
  return {
    onConnection(handler) {
      handlers.push(handler);
    },
    async close() {
      // No explicit disconnect packet: clients then see a transport close, which socket.io-client answers by
      // reconnecting with back-off — what a client node should do when its coordinator restarts.
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
    },
  };
}

function wrapSocket(socket: Socket, handshake: Handshake): ClientConnection {
  return {
    handshake,
    send(message: ServerMessage) {
      socket.emit(MESSAGE_EVENT, message);
    },
    onMessage(handler) {
      socket.on(MESSAGE_EVENT, (raw: unknown) => handler(raw));
    },
    onDisconnect(handler) {
      socket.on('disconnect', (reason) => handler(String(reason)));
    },
    disconnect() {
      socket.disconnect(true);
    },
  };
}
