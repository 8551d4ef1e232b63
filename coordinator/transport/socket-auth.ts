/**
 * The coordinator's side of the key handshake (protocol/auth.ts) on one socket: send a challenge with a fresh
 * nonce and the coordinator's signature over the client's nonce; accept exactly one proof, signed by the
 * roster key of the claimed client id, before the handshake deadline. The organisation comes from the roster.
 * A connection that fails is told why (coded) and closed; it never reaches the federation, so it can neither
 * receive a job nor displace the client whose id it claimed.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io';
import { AUTH_EVENT, AuthProof, NONCE_BYTES, clientTranscript, coordinatorTranscript, fromBase64, type AuthServerMessage, type TranscriptFields } from '../../protocol/auth.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import type { Handshake } from '../../protocol/messages.ts';
import { signDetached, toBase64, verifyDetached, type Ed25519KeyPair } from '../../governance/identity/ed25519.ts';
import type { ClientRoster } from '../../governance/identity/client-roster.ts';

export interface AuthenticatedIdentity {
  readonly clientId: string;
  /** From the roster, never from the client's claim. */
  readonly orgId: string;
  readonly publicKey: Uint8Array;
}

export interface SocketAuthOptions {
  readonly roster: ClientRoster;
  readonly coordinatorKey: Ed25519KeyPair;
  readonly handshakeTimeoutMs: number;
  /** Whether a proven connection of this client id is open now (decides DUPLICATE_CLIENT vs AUTH_FAILED). */
  readonly isConnected: (clientId: string) => boolean;
}

/** A refusal says whether a proof was checked and failed (`proofFailed`): only those count as key guesses. */
export type AuthOutcome = { ok: true; identity: AuthenticatedIdentity } | { ok: false; code: ErrorCode; message: string; proofFailed: boolean };

/** Runs the handshake on a freshly connected socket; resolves once, with the identity or the refusal. */
export function authenticateSocket(socket: Socket, handshake: Handshake, o: SocketAuthOptions): Promise<AuthOutcome> {
  return new Promise<AuthOutcome>((resolve) => {
    let settled = false;
    const failCode = (): ErrorCode => (o.isConnected(handshake.clientId) ? 'TESSERA_ERR_DUPLICATE_CLIENT' : 'TESSERA_ERR_AUTH_FAILED');
    const finish = (outcome: AuthOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off(AUTH_EVENT, onProof);
      resolve(outcome);
    };
    const refuse = (code: ErrorCode, message: string, proofFailed = false): void => finish({ ok: false, code, message, proofFailed });
    const timer = setTimeout(() => {
      const code = o.isConnected(handshake.clientId) ? 'TESSERA_ERR_DUPLICATE_CLIENT' : 'TESSERA_ERR_AUTH_REQUIRED';
      refuse(code, `no proof of the roster key of ${handshake.clientId} within the handshake deadline of ${o.handshakeTimeoutMs} ms`);
    }, o.handshakeTimeoutMs);
    socket.once('disconnect', () => refuse('TESSERA_ERR_AUTH_REQUIRED', 'disconnected during the key handshake'));

    if (handshake.clientNonce === undefined) {
      // Checked before the challenge: without a client nonce the coordinator's proof could be replayed to the client.
      refuse('TESSERA_ERR_AUTH_REQUIRED', 'the handshake carries no clientNonce: this coordinator authenticates every client (upgrade the client)');
      return;
    }
    const fields: TranscriptFields = {
      socketId: socket.id,
      clientId: handshake.clientId,
      clientNonce: fromBase64(handshake.clientNonce),
      serverNonce: new Uint8Array(randomBytes(NONCE_BYTES)),
      coordinatorKey: o.coordinatorKey.publicKey,
    };
    const challenge: AuthServerMessage = {
      type: 'challenge',
      serverNonce: toBase64(fields.serverNonce),
      coordinatorKey: toBase64(o.coordinatorKey.publicKey),
      coordinatorSignature: toBase64(signDetached(coordinatorTranscript(fields), o.coordinatorKey.seed)),
    };
    function onProof(raw: unknown): void {
      // One proof per connection: the nonce is spent whatever the answer, so a second try needs a new connection.
      socket.off(AUTH_EVENT, onProof);
      const proof = AuthProof.safeParse(raw);
      if (!proof.success) return refuse(failCode(), 'the key proof is malformed', true);
      const entry = o.roster.lookup(handshake.clientId);
      if (entry === undefined) return refuse(failCode(), `client ${handshake.clientId} is not in the consortium roster`, true);
      if (!verifyDetached(clientTranscript(fields), fromBase64(proof.data.signature), entry.publicKey)) {
        return refuse(failCode(), `the proof for ${handshake.clientId} does not verify against its roster key (wrong key, or a proof made for another connection)`, true);
      }
      if (entry.orgId === undefined) {
        return refuse('TESSERA_ERR_AUTH_FAILED', `the roster names no organisation for ${handshake.clientId}: rebuild it with tessera keys roster --org ${handshake.clientId}=ORG`, true);
      }
      if (entry.orgId !== handshake.orgId) {
        return refuse('TESSERA_ERR_AUTH_FAILED', `client ${handshake.clientId} claims organisation ${handshake.orgId}, but the roster lists it for ${entry.orgId}`, true);
      }
      finish({ ok: true, identity: { clientId: handshake.clientId, orgId: entry.orgId, publicKey: entry.publicKey } });
    }
    socket.on(AUTH_EVENT, onProof);
    socket.emit(AUTH_EVENT, challenge);
  });
}
