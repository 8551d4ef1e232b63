/**
 * Key files. The private key file holds the 32-byte Ed25519 seed (load it into tweetnacl with
 * `nacl.sign.keyPair.fromSeed`) and is created with mode 0600 in the same `open` call that creates it, so it
 * is never readable by others, not even for a moment. The public key is written beside it as `FILE.pub`.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import { assertPrivateKeyFileMode, ensurePrivateDir } from '../state/file-modes.ts';
import { PUBLIC_KEY_BYTES, SEED_BYTES, decodeKeyText, keyIdOf, keyPairFromSeed, toBase64, type Ed25519KeyPair } from './ed25519.ts';

export const PRIVATE_KEY_TYPE = 'tessera.ed25519.private-key/v1';
export const PUBLIC_KEY_TYPE = 'tessera.ed25519.public-key/v1';

const PrivateKeyFile = z.object({
  type: z.literal(PRIVATE_KEY_TYPE),
  keyId: z.string(),
  publicKey: z.string(),
  seed: z.string(),
});

const PublicKeyFile = z.object({
  type: z.literal(PUBLIC_KEY_TYPE),
  keyId: z.string().optional(),
  publicKey: z.string(),
});

/** Creates `path` exclusively with mode 0600 and writes `text` to it, fsynced. Never overwrites a file. */
function writeNewFile(path: string, text: string, mode: number): void {
  // A directory created for a key is the owner's only (0700); an existing one is left as the user made it.
  mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const why = code === 'EEXIST' ? 'it already exists (refusing to overwrite a key)' : String(cause);
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Cannot create ${path}: ${why}`, { cause });
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function publicKeyFileText(publicKey: Uint8Array): string {
  return `${JSON.stringify({ type: PUBLIC_KEY_TYPE, keyId: keyIdOf(publicKey), publicKey: toBase64(publicKey) }, null, 2)}\n`;
}

/**
 * Generates a key pair from the OS CSPRNG and writes `path` (private, 0600) and `path.pub` (public, 0644).
 * `seed` is for tests that need a known key.
 */
export function generateKeyFile(path: string, seed: Uint8Array = new Uint8Array(randomBytes(SEED_BYTES))): Ed25519KeyPair {
  const pair = keyPairFromSeed(seed);
  if (existsSync(`${path}.pub`)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Cannot create ${path}.pub: it already exists (refusing to overwrite a key)`);
  const privateText = JSON.stringify({ type: PRIVATE_KEY_TYPE, keyId: pair.keyId, publicKey: toBase64(pair.publicKey), seed: toBase64(pair.seed) }, null, 2);
  writeNewFile(path, `${privateText}\n`, 0o600);
  writeNewFile(`${path}.pub`, publicKeyFileText(pair.publicKey), 0o644);
  return pair;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read the ${what} ${path}: ${String(cause)}`, { cause });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads a private key file written by `generateKeyFile` (or one holding only a base64/hex 32-byte seed). */
export function readPrivateKeyFile(path: string): Ed25519KeyPair {
  const text = readText(path, 'private key file');
  const parsed = PrivateKeyFile.safeParse(parseJson(text));
  const seed = parsed.success ? decodeKeyText(parsed.data.seed, SEED_BYTES) : decodeKeyText(text, SEED_BYTES);
  if (seed === undefined) throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path} is not an Ed25519 private key file (expected ${PRIVATE_KEY_TYPE} JSON or a 32-byte seed in base64/hex)`);
  // A key that other users can read must be assumed copied: refused before it is used for anything.
  assertPrivateKeyFileMode(path);
  const pair = keyPairFromSeed(seed);
  if (parsed.success && parsed.data.publicKey !== toBase64(pair.publicKey)) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path}: the stored public key does not belong to the stored seed (file corrupted?)`);
  }
  return pair;
}

/** Reads a public key file (`*.pub` JSON, or a bare base64/hex public key); returns the raw 32 bytes. */
export function readPublicKeyFile(path: string): Uint8Array {
  const text = readText(path, 'public key file');
  const parsed = PublicKeyFile.safeParse(parseJson(text));
  const key = decodeKeyText(parsed.success ? parsed.data.publicKey : text, PUBLIC_KEY_BYTES);
  if (key === undefined) throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path} is not an Ed25519 public key (expected ${PUBLIC_KEY_TYPE} JSON or 32 bytes in base64/hex)`);
  if (parsed.success && parsed.data.keyId !== undefined && parsed.data.keyId !== keyIdOf(key)) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${path}: the key id does not match the public key`);
  }
  return key;
}

/** The coordinator's signing key (audit checkpoints) lives in `<state>/keys/coordinator.key`. */
export function coordinatorKeyPath(stateDir: string): string {
  return join(resolve(stateDir), 'keys', 'coordinator.key');
}

const coordinatorKeys = new Map<string, Ed25519KeyPair>();

/** Loads the coordinator's key, creating it (mode 0600) on first use. Cached per path for the process. */
export function loadOrCreateCoordinatorKey(stateDir: string): Ed25519KeyPair {
  const path = coordinatorKeyPath(stateDir);
  const cached = coordinatorKeys.get(path);
  if (cached) return cached;
  ensurePrivateDir(dirname(path));
  let pair: Ed25519KeyPair;
  if (existsSync(path)) {
    pair = readPrivateKeyFile(path);
  } else {
    try {
      pair = generateKeyFile(path);
    } catch (e) {
      // Another process created it between our check and our exclusive open: read theirs.
      if (!existsSync(path)) throw e;
      pair = readPrivateKeyFile(path);
    }
  }
  coordinatorKeys.set(path, pair);
  return pair;
}
