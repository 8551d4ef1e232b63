/**
 * The socket.io implementation of the coordinator's transport. In order, before a connection reaches the
 * federation: the connection caps (connection-limits.ts), the handshake's shape and protocol version
 * (middleware; refused as a connect_error carrying `{code, message}`), then the key handshake
 * (socket-auth.ts) under a small message limit and a deadline. Only a proven connection is handed on, with the
 * organisation the roster names; its message limit is then raised as its tasks require (setMessageLimit).
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import { AUTH_EVENT, type AuthServerMessage } from '../../protocol/auth.ts';
import { describeZodIssues } from '../../protocol/errors.ts';
import { Handshake, type ServerMessage } from '../../protocol/messages.ts';
import type { ClientConnection, ServerTransport } from '../../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { socketIoParser } from '../../protocol/socketio-parser.ts';
import type { Ed25519KeyPair } from '../../governance/identity/ed25519.ts';
import type { ClientRoster } from '../../governance/identity/client-roster.ts';
import { connectionGate, setWebSocketMaxPayload, type ConnectionCaps } from './connection-limits.ts';
import type { FailureLimiter } from '../api/failure-limiter.ts';
import { authenticateSocket } from './socket-auth.ts';

/** socket.io event name carrying every message in both directions. */
export const MESSAGE_EVENT = 'tessera';

/** Before the key handshake a peer may send only the handshake and one proof: both fit in a few hundred bytes. */
export const DEFAULT_PREAUTH_MESSAGE_BYTES = 16 * 1024;
/** A proven client's limit until a task sizes it (evaluation results, declines, small secure-aggregation stages). */
export const DEFAULT_AUTHENTICATED_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface SocketServerOptions extends ConnectionCaps {
  /** Who may connect: client id → (public key, organisation). */
  roster: ClientRoster;
  /** The coordinator's own key (`<state>/keys/coordinator.key`), proven to every client in the handshake. */
  coordinatorKey: Ed25519KeyPair;
  logger: Logger;
  /** Largest message before authentication (default 16 KiB). */
  preAuthMessageBytes?: number;
  /** Largest message of a proven client until its tasks ask for more (default 1 MiB). */
  authenticatedMessageBytes?: number;
  /** Upper bound of any per-connection limit a task may ask for (default 512 MiB). */
  maxMessageBytes?: number;
  handshakeTimeoutMs?: number;
  /** Called with the code of every refused connection (connection caps, failed handshakes): for metrics. */
  onRefusal?: (code: string) => void;
  /** Failed key handshakes per address: counted here, and an address past its limit is refused at the upgrade. */
  handshakeFailures?: FailureLimiter;
}

export interface SocketServerTransport extends ServerTransport {
  /** Connections refused by the caps so far (for metrics and tests). */
  readonly refusedConnections: () => number;
  readonly openConnections: () => number;
}

class RefusedError extends Error {
  readonly data: { code: string; message: string };
  constructor(code: string, message: string) {
    super(message);
    this.data = { code, message };
  }
}

export function socketIoServerTransport(http: HttpServer | HttpsServer, options: SocketServerOptions): SocketServerTransport {
  const log = options.logger.child({ component: 'transport' });
  const preAuth = options.preAuthMessageBytes ?? DEFAULT_PREAUTH_MESSAGE_BYTES;
  const afterAuth = options.authenticatedMessageBytes ?? DEFAULT_AUTHENTICATED_MESSAGE_BYTES;
  const ceiling = options.maxMessageBytes ?? 512 * 1024 * 1024;
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const gate = connectionGate(
    options,
    (address, why, code) => {
      log.warn({ code, address }, `connection refused: ${why}`);
      options.onRefusal?.(code);
    },
    options.handshakeFailures,
  );
  const io = new Server(http, {
    maxHttpBufferSize: preAuth,
    // Websocket only: engine.io's long-polling transport would buffer request bodies by its own rules.
    transports: ['websocket'],
    allowRequest: gate.allowRequest,
    // An engine connection that never sends socket.io's CONNECT packet is closed at the handshake deadline.
    connectTimeout: handshakeTimeoutMs,
    // Long local training must not look like a dead connection.
    pingTimeout: 60_000,
    serveClient: false,
    // One websocket frame per message, its binary fields (secure-aggregation messages carry hundreds) included.
    parser: socketIoParser,
  });
  gate.attach(io);
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
  /** Proven sockets by client id: a failed proof for one of these ids is a duplicate, and never evicts it. */
  const proven = new Map<string, Socket>();
  const handlers: Array<(c: ClientConnection) => void> = [];
  io.on('connection', (socket: Socket) => {
    const handshake = Handshake.parse(socket.handshake.auth);
    const address = socket.handshake.address;
    const refuse = (code: string, message: string): void => {
      const notice: AuthServerMessage = { type: 'refused', code, message };
      socket.emit(AUTH_EVENT, notice);
      socket.disconnect(true);
    };
    // Job messages before the proof are a protocol violation: the connection is closed.
    const early = (): void => refuse('TESSERA_ERR_AUTH_REQUIRED', 'job messages are accepted only after the key handshake');
    socket.on(MESSAGE_EVENT, early);
    void authenticateSocket(socket, handshake, {
      roster: options.roster,
      coordinatorKey: options.coordinatorKey,
      handshakeTimeoutMs,
      isConnected: (id) => proven.get(id)?.connected === true,
    }).then((outcome) => {
      socket.off(MESSAGE_EVENT, early);
      if (!socket.connected) return;
      if (!outcome.ok) {
        log.warn({ code: outcome.code, claimedClient: handshake.clientId, address }, `connection refused: ${outcome.message}`);
        // Only a proof that was checked and failed is a guess; a peer that proves nothing in time is held by the
        // handshake deadline and the connection caps, and counting it would let slow honest clients lock an address.
        if (outcome.proofFailed) options.handshakeFailures?.fail(address);
        options.onRefusal?.(outcome.code);
        refuse(outcome.code, outcome.message);
        return;
      }
      const { identity } = outcome;
      if (!setWebSocketMaxPayload(socket, afterAuth)) log.warn('cannot raise the per-connection message limit (ws internals changed); the pre-authentication limit stays');
      proven.set(identity.clientId, socket);
      socket.once('disconnect', () => {
        if (proven.get(identity.clientId) === socket) proven.delete(identity.clientId);
      });
      socket.emit(AUTH_EVENT, { type: 'accepted', clientId: identity.clientId, orgId: identity.orgId } satisfies AuthServerMessage);
      const connection = wrapSocket(socket, { ...handshake, orgId: identity.orgId }, identity, (bytes) => {
        setWebSocketMaxPayload(socket, Math.min(ceiling, Math.max(afterAuth, bytes)));
      });
      for (const h of handlers) h(connection);
    });
  });
  return {
    refusedConnections: () => gate.refused.total,
    openConnections: () => gate.open(),
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

function wrapSocket(socket: Socket, handshake: Handshake, identity: ClientConnection['identity'], setLimit: (bytes: number) => void): ClientConnection {
  return {
    handshake,
    identity,
    send(message: ServerMessage) {
      socket.emit(MESSAGE_EVENT, message);
    },
    onMessage(handler) {
      socket.on(MESSAGE_EVENT, (raw: unknown) => handler(raw));
    },
    onDisconnect(handler) {
      socket.on('disconnect', (reason) => handler(String(reason)));
    },
    disconnect(reason, final) {
      if (final) socket.emit(AUTH_EVENT, { type: 'refused', code: final.code, message: `${final.message} (${reason})` } satisfies AuthServerMessage);
      socket.disconnect(true);
    },
    setMessageLimit: setLimit,
  };
}
