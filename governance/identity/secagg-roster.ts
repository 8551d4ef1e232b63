/**
 * Files behind secure aggregation's identities (the choice is explained in privacy/secagg/identity-directory.ts):
 * each organisation keeps its long-term Ed25519 key in a key file (`tessera keys generate`, tweetnacl seed);
 * the consortium collects the `.pub` files into one roster (`tessera.secagg.identities/v1`) and distributes
 * it out of band — every client node reads its own copy, the coordinator reads `<state>/secagg-identities.json`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { TesseraError } from '../../protocol/errors.ts';
import { ed25519FromSeed, type Ed25519Identity } from '../../privacy/secagg/crypto/ed25519.ts';
import { rosterDirectory, rosterDocument, type ResolveIdentity, type SecAggRoster } from '../../privacy/secagg/identity-directory.ts';
import { readPrivateKeyFile, readPublicKeyFile } from './key-file.ts';

/** A client's SecAgg identity from its private key file (the same key file format as approvers use). */
export function secAggIdentityFromKeyFile(path: string): Ed25519Identity {
  return ed25519FromSeed(readPrivateKeyFile(path).seed);
}

/** The roster document from each client's `.pub` file. */
export function rosterFromPublicKeyFiles(entries: ReadonlyArray<{ clientId: string; publicKeyFile: string }>): SecAggRoster {
  return rosterDocument(entries.map((e) => ({ clientId: e.clientId, publicKey: readPublicKeyFile(e.publicKeyFile) })));
}

export function writeSecAggRoster(path: string, roster: SecAggRoster): void {
  writeFileSync(path, `${JSON.stringify(roster, null, 2)}\n`, { flag: 'wx' });
}

export function readSecAggRoster(path: string): ResolveIdentity {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `cannot read the secure-aggregation identity roster ${path}: ${String(cause)}`, { cause });
  }
  return rosterDirectory(raw);
}
