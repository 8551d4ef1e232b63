/**
 * The exact bytes each SecAgg signature, commitment, encryption key and associated-data string covers. Every
 * signed transcript starts with a distinct label and names the round, the setup hash and the sender, so a
 * signature from one round, stage, client or SETUP is worthless in any other: a coordinator that gives two
 * clients different parameters, rosters or graph seeds gets advertisements that do not verify for each other
 * (issue 10, "bound setup"), and the replay tests rely on the round id.
 */
import { createHash } from 'node:crypto';
import { Transcript } from './crypto/bytes.ts';
import { hkdfSha256 } from './crypto/hkdf.ts';

const V = 'tessera-secagg/v1';

export function sha256(...parts: ReadonlyArray<Uint8Array>): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** What a signature is bound to: the round id and the hash of the full setup both sides computed. */
export interface RoundBinding {
  readonly roundId: string;
  readonly setupHash: Uint8Array;
}

/** Every field of a round's setup that changes what the protocol does or what a client's input means. */
export interface SetupFields {
  /** SHA-256 of the RFC 8785 canonical job spec the task carries (32 zero bytes when there is no job). */
  readonly jobHash: Uint8Array;
  /** Derived from (job id, round, task id): it names the job and the round (round-id.ts). */
  readonly roundId: string;
  readonly clients: ReadonlyArray<string>;
  readonly k: number;
  readonly t: number;
  readonly dim: number;
  readonly modulusBits: number;
  readonly graphSeed: Uint8Array;
  readonly consistencyCheck: boolean;
}

/** The setup hash (issue 10 item 3): job-spec hash, round id (job id, round, nonce), roster, n, k, t, dim, seed, flags. */
export function setupHash(s: SetupFields): Uint8Array {
  const tr = new Transcript(`${V}/setup`).bytes(s.jobHash).string(s.roundId).u32(s.clients.length);
  for (const c of s.clients) tr.string(c);
  tr.u32(s.k).u32(s.t).u32(s.dim).u32(s.modulusBits).bytes(s.graphSeed).u32(s.consistencyCheck ? 1 : 0);
  return sha256(tr.finish());
}

const bound = (label: string, b: RoundBinding): Transcript => new Transcript(`${V}/${label}`).string(b.roundId).bytes(b.setupHash);

export function advertiseTranscript(b: RoundBinding, index: number, cPk: Uint8Array, sPk: Uint8Array, commitment: Uint8Array): Uint8Array {
  return bound('advertise', b).u32(index).bytes(cPk).bytes(sPk).bytes(commitment).finish();
}

/** Commitment to the self-mask seed b_u (published in the advertisement; checked after reconstruction). */
export function seedCommitment(roundId: string, index: number, seed: Uint8Array): Uint8Array {
  return sha256(new Transcript(`${V}/self-mask-commitment`).string(roundId).u32(index).bytes(seed).finish());
}

export function shareKeysTranscript(b: RoundBinding, index: number, shares: ReadonlyArray<{ to: number; nonce: Uint8Array; ciphertext: Uint8Array }>): Uint8Array {
  const t = bound('share-keys', b).u32(index).u32(shares.length);
  for (const s of shares) t.u32(s.to).bytes(s.nonce).bytes(s.ciphertext);
  return t.finish();
}

/** The masked vector is signed through its SHA-256 (one pass over 4d bytes). */
export function maskedInputTranscript(b: RoundBinding, index: number, vector: Uint8Array): Uint8Array {
  return bound('masked-input', b).u32(index).u32(vector.length).bytes(sha256(vector)).finish();
}

export function survivorsTranscript(b: RoundBinding, signer: number, survivors: ReadonlyArray<number>): Uint8Array {
  return bound('survivors', b).u32(signer).u32List(survivors).finish();
}

export function unmaskTranscript(
  b: RoundBinding,
  index: number,
  selfMaskShares: ReadonlyArray<{ of: number; share: Uint8Array }>,
  maskKeyShares: ReadonlyArray<{ of: number; share: Uint8Array }>,
): Uint8Array {
  const t = bound('unmask', b).u32(index).u32(selfMaskShares.length);
  for (const s of selfMaskShares) t.u32(s.of).bytes(s.share);
  t.u32(maskKeyShares.length);
  for (const s of maskKeyShares) t.u32(s.of).bytes(s.share);
  return t.finish();
}

/** Associated data of the sealed shares from `from` to `to` (bound to the setup too). */
export function sharesAad(b: RoundBinding, from: number, to: number): Uint8Array {
  return bound('sealed-shares', b).u32(from).u32(to).finish();
}

/** ChaCha20-Poly1305 key for the pair, from their X25519 secret on the c keys (RFC 5869 HKDF). */
export function sharesKey(agreed: Uint8Array, roundId: string, a: number, b: number): Uint8Array {
  const info = new Transcript(`${V}/share-encryption-key`).string(roundId).u32(Math.min(a, b)).u32(Math.max(a, b)).finish();
  return hkdfSha256(agreed, new Uint8Array(0), info, 32);
}
