/**
 * Secure-aggregation identities from real key files: a client's identity comes from its private key file, the
 * roster from the `.pub` files, and what the roster resolves verifies that client's signatures (Ed25519,
 * RFC 8032, through privacy/secagg/crypto/ed25519.ts). A malformed or duplicate roster is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ed25519Verify } from '../../privacy/secagg/crypto/ed25519.ts';
import { rosterDirectory } from '../../privacy/secagg/identity-directory.ts';
import { generateKeyFile } from './key-file.ts';
import { readSecAggRoster, rosterFromPublicKeyFiles, secAggIdentityFromKeyFile, writeSecAggRoster } from './secagg-roster.ts';

describe('secure-aggregation identity roster', () => {
  it('resolves each client to the key that verifies its signatures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secagg-roster-'));
    const ids = ['client-a', 'client-b'];
    for (const id of ids) generateKeyFile(join(dir, `${id}.key`));
    const roster = rosterFromPublicKeyFiles(ids.map((clientId) => ({ clientId, publicKeyFile: join(dir, `${clientId}.key.pub`) })));
    writeSecAggRoster(join(dir, 'secagg-identities.json'), roster);
    const resolve = readSecAggRoster(join(dir, 'secagg-identities.json'));
    const a = secAggIdentityFromKeyFile(join(dir, 'client-a.key'));
    const msg = new TextEncoder().encode('round-1 advertise');
    const sig = a.sign(msg);
    expect(ed25519Verify(resolve('client-a') as Uint8Array, msg, sig)).toBe(true);
    expect(ed25519Verify(resolve('client-b') as Uint8Array, msg, sig)).toBe(false);
    expect(resolve('client-c')).toBeUndefined();
    expect(() => writeSecAggRoster(join(dir, 'secagg-identities.json'), roster)).toThrow(/EEXIST/);
  });
  it('refuses a malformed roster or one listing a client twice', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(() => rosterDirectory({ type: 'tessera.secagg.identities/v1', clients: [{ clientId: 'x', publicKey: 'short' }] })).toThrow(/32-byte/);
    expect(() => rosterDirectory({ type: 'tessera.secagg.identities/v1', clients: [{ clientId: 'x', publicKey: key }, { clientId: 'x', publicKey: key }] })).toThrow(/twice/);
    const dir = mkdtempSync(join(tmpdir(), 'secagg-roster-'));
    writeFileSync(join(dir, 'bad.json'), '{not json');
    expect(() => readSecAggRoster(join(dir, 'bad.json'))).toThrow(/cannot read/);
  });
});
