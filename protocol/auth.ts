/**
 * The key handshake of a socket connection (issue 12), in both directions, before any job message flows:
 *
 *   client → coordinator  socket.io `auth`: Handshake with clientId and a fresh 32-byte clientNonce
 *   coordinator → client  challenge: a fresh 32-byte serverNonce, the coordinator's Ed25519 public key, and its
 *                         signature over the coordinator transcript (so the client learns which key the
 *                         coordinator proved possession of, freshly, for this connection)
 *   client → coordinator  proof: the client's signature over the client transcript with its roster key
 *   coordinator → client  accepted {clientId, orgId from the roster} | refused {code, message}
 *
 * Both transcripts bind the connection (socket id), both nonces, the client id and the coordinator key, so a
 * proof recorded on one connection is worthless on any other (fresh serverNonce, other socket id). The
 * construction is the classic signed challenge–response of ISO/IEC 9798-3 (two-pass mutual authentication with
 * nonces), with distinct context strings per direction as TLS 1.3 does for CertificateVerify (RFC 8446 §4.4.3)
 * so a signature made for one role can never be presented as the other. Pure: schemas and byte strings only.
 */
import { z } from 'zod';

export const AUTH_EVENT = 'tessera-auth';
export const NONCE_BYTES = 32;

const Base64 = (bytes: number, what: string) =>
  z.string().max(200).refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === bytes, `expected ${what} (${bytes} bytes, base64)`);

export const NonceText = Base64(NONCE_BYTES, 'a nonce');
export const PublicKeyText = Base64(32, 'an Ed25519 public key');
export const SignatureText = Base64(64, 'an Ed25519 signature');

export const AuthChallenge = z.strictObject({
  type: z.literal('challenge'),
  serverNonce: NonceText,
  coordinatorKey: PublicKeyText,
  coordinatorSignature: SignatureText,
});
export type AuthChallenge = z.infer<typeof AuthChallenge>;

export const AuthProof = z.strictObject({ type: z.literal('proof'), signature: SignatureText });
export type AuthProof = z.infer<typeof AuthProof>;

export const AuthAccepted = z.strictObject({ type: z.literal('accepted'), clientId: z.string().max(128), orgId: z.string().max(128) });
/** Final refusal: the client does not retry (a wrong key stays wrong). `replaced`: another proven connection of this client took its place. */
export const AuthRefused = z.strictObject({ type: z.literal('refused'), code: z.string().max(64), message: z.string().max(1000) });
export const AuthServerMessage = z.discriminatedUnion('type', [AuthChallenge, AuthAccepted, AuthRefused]);
export type AuthServerMessage = z.infer<typeof AuthServerMessage>;

export interface TranscriptFields {
  /** socket.io's id for this connection (both sides know it once connected). */
  readonly socketId: string;
  readonly clientId: string;
  readonly clientNonce: Uint8Array;
  readonly serverNonce: Uint8Array;
  readonly coordinatorKey: Uint8Array;
}

const CLIENT_CONTEXT = 'tessera/v1 client proves its roster key';
const COORDINATOR_CONTEXT = 'tessera/v1 coordinator proves its key';

/** Length-prefixed concatenation: no two different field lists give the same bytes. */
function encode(context: string, f: TranscriptFields): Uint8Array {
  const parts = [Buffer.from(context, 'utf8'), Buffer.from(f.socketId, 'utf8'), Buffer.from(f.clientId, 'utf8'), f.clientNonce, f.serverNonce, f.coordinatorKey];
  const out: Buffer[] = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, Buffer.from(p));
  }
  return new Uint8Array(Buffer.concat(out));
}

/** What the client signs with its roster key. */
export function clientTranscript(f: TranscriptFields): Uint8Array {
  return encode(CLIENT_CONTEXT, f);
}

/** What the coordinator signs with `<state>/keys/coordinator.key`. */
export function coordinatorTranscript(f: TranscriptFields): Uint8Array {
  return encode(COORDINATOR_CONTEXT, f);
}

export function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}
