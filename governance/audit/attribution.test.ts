/**
 * Attribution of governance actions to a signed identity (issue 13 §6), over a real state and key files:
 * with `--key` the actor is the person the verified registry binds the key to, and the entry carries an
 * attestation that verifies — and stops verifying when an insider edits the details or swaps the actor's key.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../state/database.ts';
import { generateKeyFile } from '../identity/key-file.ts';
import { keyPairFromSeed } from '../identity/ed25519.ts';
import { AUDIT_ACTIONS } from './actions.ts';
import { appendAudit, readAuditEntries } from './log.ts';
import { attributeTo, attributionProblem, verifyAttestation, type Attestation } from './attribution.ts';
import type { AuditEntry } from './chain.ts';
import { initTestRegistry, tempStateDir } from '../../test/governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let keyFile: string;

beforeAll(() => {
  state = tempStateDir('tessera-attr-');
  db = openDatabase(state.dir);
  keyFile = join(state.dir, 'ada.key');
  const ada = generateKeyFile(keyFile);
  initTestRegistry(db, [{ name: 'Ada Admin', key: ada, roles: ['privacy-officer'] }, { name: 'Mo Owner', key: keyPairFromSeed(new Uint8Array(32).fill(3)), roles: ['model-owner'] }]);
});

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('audit attribution', () => {
  it('attributes a keyed action to the registered person with a verifying attestation bound to its place in the log', () => {
    const who = attributeTo(db, keyFile, 'rollback');
    expect(who.actor).toMatch(/^person:ada-admin\/[0-9a-f]{32}$/);
    const details = { name: 'heart', from: 'a', to: 'b' };
    appendAudit(db, { actor: who.actor, action: AUDIT_ACTIONS.rollback, subject: 'heart', details, attest: who.attest });
    const e = readAuditEntries(db, { action: AUDIT_ACTIONS.rollback })[0] as AuditEntry;
    const { attestation: a, ...rest } = e.details as Record<string, unknown> & { attestation: Attestation };
    const body = { seq: e.seq, prevHash: e.prevHash, action: e.action, subject: e.subject, details: rest, time: e.time };
    expect(a.type).toBe('tessera.audit-attestation/v2');
    expect(verifyAttestation(a, body)).toBe(true);
    expect(attributionProblem(e, () => 'ada-admin')).toBeNull();
    // An insider who edits the details (and re-hashes the chain) cannot keep the attestation valid …
    expect(verifyAttestation(a, { ...body, details: { ...rest, to: 'c' } })).toBe(false);
    // … nor copy the signed entry to another place in the log (a replay).
    expect(verifyAttestation(a, { ...body, seq: e.seq + 5 })).toBe(false);
    expect(verifyAttestation(a, { ...body, prevHash: 'f'.repeat(64) })).toBe(false);
  });

  it('refuses an unsigned action and a key outside the registry on this production state, naming the command', () => {
    expect(() => attributeTo(db, undefined, 'ledger budget set')).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_SIGNING_KEY_REQUIRED', message: expect.stringContaining('tessera ledger budget set') }));
    const stranger = join(state.dir, 'stranger.key');
    const k = generateKeyFile(stranger);
    expect(() => attributeTo(db, stranger, 'deploy')).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_SIGNER_UNKNOWN', message: expect.stringContaining(k.keyId) }));
  });

  it('on a development state (no registry) records the unsigned local user, or a bare key id', () => {
    const dev = tempStateDir('tessera-attr-dev-');
    const devDb = openDatabase(dev.dir);
    try {
      expect(attributeTo(devDb, undefined, 'deploy')).toMatchObject({ signed: false, actor: expect.stringMatching(/^cli(:.+)? \(unsigned\)$/) });
      const k = generateKeyFile(join(dev.dir, 'k.key'));
      expect(attributeTo(devDb, join(dev.dir, 'k.key'), 'deploy').actor).toBe(`key:${k.keyId}`);
    } finally {
      devDb.close();
      dev.cleanup();
    }
  });
});
