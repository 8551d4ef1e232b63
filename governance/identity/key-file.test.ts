import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { afterEach, describe, expect, it } from 'vitest';
import { tempStateDir } from '../../test/governance-fixtures.ts';
import { coordinatorKeyPath, generateKeyFile, loadOrCreateCoordinatorKey, readPrivateKeyFile, readPublicKeyFile } from './key-file.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function dir(): string {
  const s = tempStateDir();
  cleanups.push(s.cleanup);
  return s.dir;
}

describe('key files', () => {
  it('creates the private key with mode 0600 and the public key beside it, loadable by tweetnacl', () => {
    const d = dir();
    const path = join(d, 'alice.key');
    const pair = generateKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readPublicKeyFile(`${path}.pub`)).toEqual(pair.publicKey);
    const back = readPrivateKeyFile(path);
    expect(back.keyId).toBe(pair.keyId);
    const seed = Buffer.from((JSON.parse(readFileSync(path, 'utf8')) as { seed: string }).seed, 'base64');
    expect(Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey).equals(Buffer.from(pair.publicKey))).toBe(true);
  });

  it('never overwrites a key and rejects files that are not keys', () => {
    const d = dir();
    const path = join(d, 'k');
    generateKeyFile(path);
    expect(() => generateKeyFile(path)).toThrow(/already exists/);
    writeFileSync(join(d, 'junk'), 'hello');
    expect(() => readPrivateKeyFile(join(d, 'junk'))).toThrow(/not an Ed25519 private key/);
    expect(() => readPublicKeyFile(join(d, 'junk'))).toThrow(/not an Ed25519 public key/);
    expect(() => readPublicKeyFile(join(d, 'missing.pub'))).toThrow(/Cannot read/);
  });

  it("creates the coordinator's key on first use (0600) and returns the same key after", () => {
    const d = dir();
    const a = loadOrCreateCoordinatorKey(d);
    expect(statSync(coordinatorKeyPath(d)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateCoordinatorKey(d).keyId).toBe(a.keyId);
    expect(readPrivateKeyFile(coordinatorKeyPath(d)).keyId).toBe(a.keyId);
  });
});
