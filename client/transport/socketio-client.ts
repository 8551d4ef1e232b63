/**
 * The socket.io implementation of the client node's transport, with the client's side of the key handshake
 * (protocol/auth.ts): every connection attempt carries a fresh nonce; the coordinator must answer with a valid
 * signature over it (and, when the organisation pins one, with the expected coordinator key) before this client
 * proves its own roster key. Job messages are passed on, and `onConnect` fires, only after the coordinator
 * accepted the proof.
 *
 * Reconnection: socket.io-client retries by itself after a transport close (coordinator restart, network), but
 * not after the server closed the socket; this transport reconnects then too, with exponential back-off, unless
 * the coordinator said the refusal is final (wrong key, replaced by a newer proven connection).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { AUTH_EVENT, AuthServerMessage, NONCE_BYTES, clientTranscript, coordinatorTranscript, fromBase64, type AuthProof } from '../../protocol/auth.ts';
import type { ClientMessage, Handshake } from '../../protocol/messages.ts';
import type { ClientTransport } from '../../protocol/transport.ts';
import { socketIoParser } from '../../protocol/socketio-parser.ts';
import { signDetached, toBase64, verifyDetached, type Ed25519KeyPair } from '../../governance/identity/ed25519.ts';

const MESSAGE_EVENT = 'tessera';

export interface SocketClientOptions {
  url: string;
  /** The handshake without its nonce: a fresh one is drawn for every connection attempt. */
  handshake: Omit<Handshake, 'clientNonce'>;
  /** This client's roster key (the consortium roster lists its public key under `handshake.clientId`). */
  identity: Ed25519KeyPair;
  /** When given, a coordinator proving any other key is refused (TESSERA_ERR_COORDINATOR_IDENTITY). */
  expectedCoordinatorKey?: Uint8Array;
  /** Reconnection back-off bounds in milliseconds. */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  /** TLS: the CA certificate(s) to verify the coordinator with, and an optional client certificate. */
  tls?: { ca?: string; cert?: string; key?: string };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** The socket.io transport, with a way for simulations to cut its connection the way a network failure does. */
export interface SocketClientTransport extends ClientTransport {
  /**
   * Closes the underlying connection without telling socket.io it was meant (`tessera simulate --churn`): the
   * coordinator sees a transport close, this client reconnects by itself and proves its key again.
   */
  dropConnection(): void;
}

export function socketIoClientTransport(options: SocketClientOptions): SocketClientTransport {
  const baseDelay = options.reconnectDelayMs ?? 500;
  const maxDelay = options.reconnectDelayMaxMs ?? 5000;
  let clientNonce = new Uint8Array(randomBytes(NONCE_BYTES));
  const socket: Socket = io(options.url, {
    // A function: socket.io calls it on every (re)connection attempt, so each attempt has a fresh nonce.
    auth: (cb) => {
      clientNonce = new Uint8Array(randomBytes(NONCE_BYTES));
      cb({ ...options.handshake, clientNonce: toBase64(clientNonce) });
    },
    transports: ['websocket'],
    reconnection: true,
    reconnectionDelay: baseDelay,
    reconnectionDelayMax: maxDelay,
    // Packs a message's binary fields into one frame (secure-aggregation messages carry hundreds).
    parser: socketIoParser,
    ...(options.tls ? { ...options.tls, rejectUnauthorized: true } : {}),
  });
  const connectHandlers: Array<() => void> = [];
  const messageHandlers: Array<(raw: unknown) => void> = [];
  const refusedHandlers: Array<(code: string, message: string) => void> = [];
  let final = false;
  let authenticated = false;
  let coordinatorKey: Uint8Array | undefined;
  let attempts = 0;
  let retry: NodeJS.Timeout | undefined;

  const refuse = (code: string, message: string): void => {
    if (final) return;
    final = true;
    socket.io.reconnection(false);
    socket.disconnect();
    for (const h of refusedHandlers) h(code, message);
  };

  socket.on('connect_error', (err: Error & { data?: unknown }) => {
    const data = err.data;
    if (typeof data === 'object' && data !== null && 'code' in data && 'message' in data) {
      const { code, message } = data as { code: unknown; message: unknown };
      // A refusal from the coordinator's middleware is final: retrying would be refused the same way.
      refuse(String(code), String(message));
    }
  });
  socket.on('connect', () => {
    authenticated = false;
  });
  socket.on(AUTH_EVENT, (raw: unknown) => {
    const parsed = AuthServerMessage.safeParse(raw);
    if (!parsed.success) return refuse('TESSERA_ERR_COORDINATOR_IDENTITY', 'the coordinator sent a malformed handshake message');
    const m = parsed.data;
    if (m.type === 'refused') return refuse(m.code, m.message);
    if (m.type === 'accepted') {
      if (authenticated || coordinatorKey === undefined) return;
      authenticated = true;
      attempts = 0;
      for (const h of connectHandlers) h();
      return;
    }
    const socketId = socket.id;
    if (socketId === undefined) return;
    const fields = {
      socketId,
      clientId: options.handshake.clientId,
      clientNonce,
      serverNonce: fromBase64(m.serverNonce),
      coordinatorKey: fromBase64(m.coordinatorKey),
    };
    if (!verifyDetached(coordinatorTranscript(fields), fromBase64(m.coordinatorSignature), fields.coordinatorKey)) {
      return refuse('TESSERA_ERR_COORDINATOR_IDENTITY', "the coordinator's signature over this connection's nonce does not verify");
    }
    if (options.expectedCoordinatorKey !== undefined && !equalBytes(options.expectedCoordinatorKey, fields.coordinatorKey)) {
      return refuse('TESSERA_ERR_COORDINATOR_IDENTITY', 'the coordinator proved a key other than the one this organisation expects');
    }
    coordinatorKey = fields.coordinatorKey;
    const proof: AuthProof = { type: 'proof', signature: toBase64(signDetached(clientTranscript(fields), options.identity.seed)) };
    socket.emit(AUTH_EVENT, proof);
  });
  socket.on(MESSAGE_EVENT, (raw: unknown) => {
    if (!authenticated) return;
    for (const h of messageHandlers) h(raw);
  });
  socket.on('disconnect', (reason) => {
    authenticated = false;
    coordinatorKey = undefined;
    if (final || reason !== 'io server disconnect') return;
    // socket.io-client leaves a server-side disconnect alone; a client node must come back (issue 12).
    // Exponential back-off with jitter from the OS CSPRNG (house rule 5: randomness here comes from a CSPRNG).
    const delay = Math.min(maxDelay, baseDelay * 2 ** Math.min(attempts, 16));
    attempts++;
    retry = setTimeout(() => {
      if (!final) socket.connect();
    }, delay / 2 + randomInt(Math.max(1, Math.floor(delay / 2))));
  });
  return {
    send(message: ClientMessage) {
      if (authenticated) socket.emit(MESSAGE_EVENT, message);
    },
    onMessage(handler) {
      messageHandlers.push(handler);
    },
    onConnect(handler) {
      connectHandlers.push(handler);
    },
    onDisconnect(handler) {
      socket.on('disconnect', (reason) => handler(String(reason)));
    },
    onRefused(handler) {
      refusedHandlers.push(handler);
    },
    coordinatorIdentity() {
      return authenticated && coordinatorKey !== undefined ? new Uint8Array(coordinatorKey) : undefined;
    },
    dropConnection() {
      if (!final && socket.connected) socket.io.engine.close();
    },
    close() {
      final = true;
      if (retry) clearTimeout(retry);
      socket.io.reconnection(false);
      socket.disconnect();
    },
  };
}
