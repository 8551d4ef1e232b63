/**
 * The exact bytes each SecAgg signature, commitment, encryption key and associated-data string covers. Every
 * transcript starts with a distinct label and names the round and the sender, so a signature or ciphertext
 * from one round, stage or client is worthless in any other (the replay tests rely on this).
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

export function advertiseTranscript(roundId: string, index: number, cPk: Uint8Array, sPk: Uint8Array, commitment: Uint8Array): Uint8Array {
  return new Transcript(`${V}/advertise`).string(roundId).u32(index).bytes(cPk).bytes(sPk).bytes(commitment).finish();
}

/** Commitment to the self-mask seed b_u (published in the advertisement; checked after reconstruction). */
export function seedCommitment(roundId: string, index: number, seed: Uint8Array): Uint8Array {
  return sha256(new Transcript(`${V}/self-mask-commitment`).string(roundId).u32(index).bytes(seed).finish());
}

export function shareKeysTranscript(roundId: string, index: number, shares: ReadonlyArray<{ to: number; nonce: Uint8Array; ciphertext: Uint8Array }>): Uint8Array {
  const t = new Transcript(`${V}/share-keys`).string(roundId).u32(index).u32(shares.length);
  for (const s of shares) t.u32(s.to).bytes(s.nonce).bytes(s.ciphertext);
  return t.finish();
}

/** The masked vector is signed through its SHA-256 (one pass over 4d bytes). */
export function maskedInputTranscript(roundId: string, index: number, vector: Uint8Array): Uint8Array {
  return new Transcript(`${V}/masked-input`).string(roundId).u32(index).u32(vector.length).bytes(sha256(vector)).finish();
}

export function survivorsTranscript(roundId: string, signer: number, survivors: ReadonlyArray<number>): Uint8Array {
  return new Transcript(`${V}/survivors`).string(roundId).u32(signer).u32List(survivors).finish();
}

export function unmaskTranscript(
  roundId: string,
  index: number,
  selfMaskShares: ReadonlyArray<{ of: number; share: Uint8Array }>,
  maskKeyShares: ReadonlyArray<{ of: number; share: Uint8Array }>,
): Uint8Array {
  const t = new Transcript(`${V}/unmask`).string(roundId).u32(index).u32(selfMaskShares.length);
  for (const s of selfMaskShares) t.u32(s.of).bytes(s.share);
  t.u32(maskKeyShares.length);
  for (const s of maskKeyShares) t.u32(s.of).bytes(s.share);
  return t.finish();
}

/** Associated data of the sealed shares from `from` to `to`. */
export function sharesAad(roundId: string, from: number, to: number): Uint8Array {
  return new Transcript(`${V}/sealed-shares`).string(roundId).u32(from).u32(to).finish();
}

/** ChaCha20-Poly1305 key for the pair, from their X25519 secret on the c keys (RFC 5869 HKDF). */
export function sharesKey(agreed: Uint8Array, roundId: string, a: number, b: number): Uint8Array {
  const info = new Transcript(`${V}/share-encryption-key`).string(roundId).u32(Math.min(a, b)).u32(Math.max(a, b)).finish();
  return hkdfSha256(agreed, new Uint8Array(0), info, 32);
}
