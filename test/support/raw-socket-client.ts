/**
 * A hand-driven socket.io client for tests that misbehave on purpose: it speaks the key handshake
 * (protocol/auth.ts) step by step, so a test can sign with the right key, a wrong key, or replay a proof
 * recorded on another connection, and then send whatever it likes.
 */
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { AUTH_EVENT, AuthServerMessage, clientTranscript, fromBase64, type AuthChallenge } from '../../protocol/auth.ts';
import { signDetached, toBase64, type Ed25519KeyPair } from '../../governance/identity/ed25519.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { socketIoParser } from '../../protocol/socketio-parser.ts';

export interface RawClient {
  readonly socket: Socket;
  readonly clientNonce: Uint8Array;
  /** The coordinator's challenge on this connection. */
  challenge(): Promise<AuthChallenge>;
  /** The proof an honest client holding `key` would send on this connection (after the challenge). */
  proofFor(key: Ed25519KeyPair): Promise<string>;
  sendProof(signature: string): void;
  /** Resolves with the coordinator's verdict: accepted, or refused with its code. */
  verdict(): Promise<{ type: 'accepted'; orgId: string } | { type: 'refused'; code: string; message: string }>;
  close(): void;
}

export function rawClient(url: string, clientId: string, o: { orgId?: string; protocolVersion?: number; examples?: number; withoutNonce?: boolean; ca?: string } = {}): RawClient {
  const clientNonce = new Uint8Array(randomBytes(32));
  const auth = {
    protocolVersion: o.protocolVersion ?? PROTOCOL_VERSION,
    clientId,
    orgId: o.orgId ?? `org-${clientId}`,
    examples: o.examples ?? 10,
    ...(o.withoutNonce === true ? {} : { clientNonce: toBase64(clientNonce) }),
  };
  // The protocol's own parser (one frame per message, protocol version 6), as every client speaks it.
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, parser: socketIoParser, ...(o.ca !== undefined ? { ca: o.ca, rejectUnauthorized: true } : {}) });
  const messages: AuthServerMessage[] = [];
  const waiters: Array<() => void> = [];
  socket.on(AUTH_EVENT, (raw: unknown) => {
    const m = AuthServerMessage.safeParse(raw);
    if (!m.success) return;
    messages.push(m.data);
    for (const w of waiters.splice(0)) w();
  });
  const next = <T>(pick: (m: AuthServerMessage) => T | undefined): Promise<T> =>
    new Promise<T>((resolve) => {
      const check = (): void => {
        for (const m of messages) {
          const v = pick(m);
          if (v !== undefined) return resolve(v);
        }
        waiters.push(check);
      };
      check();
    });
  const challenge = (): Promise<AuthChallenge> => next((m) => (m.type === 'challenge' ? m : undefined));
  return {
    socket,
    clientNonce,
    challenge,
    async proofFor(key) {
      const c = await challenge();
      const socketId = socket.id;
      if (socketId === undefined) throw new Error('not connected');
      const transcript = clientTranscript({ socketId, clientId, clientNonce, serverNonce: fromBase64(c.serverNonce), coordinatorKey: fromBase64(c.coordinatorKey) });
      return toBase64(signDetached(transcript, key.seed));
    },
    sendProof(signature) {
      socket.emit(AUTH_EVENT, { type: 'proof', signature });
    },
    verdict: () => next((m) => (m.type === 'accepted' ? { type: 'accepted' as const, orgId: m.orgId } : m.type === 'refused' ? { type: 'refused' as const, code: m.code, message: m.message } : undefined)),
    close: () => socket.disconnect(),
  };
}

/** A raw client that completes the handshake honestly with `key`; resolves once the coordinator accepted it. */
export async function provenRawClient(url: string, clientId: string, key: Ed25519KeyPair, o: { orgId?: string; ca?: string } = {}): Promise<RawClient> {
  const c = rawClient(url, clientId, o);
  c.sendProof(await c.proofFor(key));
  const v = await c.verdict();
  if (v.type !== 'accepted') throw new Error(`handshake refused: ${v.code} ${v.message}`);
  return c;
}
