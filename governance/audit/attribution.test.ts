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
import { attributeTo, verifyAttestation, type Attestation } from './attribution.ts';
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
  it('attributes a keyed action to the registered person with a verifying attestation', () => {
    const who = attributeTo(db, keyFile);
    expect(who.actor).toMatch(/^person:ada-admin\/[0-9a-f]{32}$/);
    const time = new Date();
    const details = { name: 'heart', from: 'a', to: 'b' };
    const attestation = who.attest(AUDIT_ACTIONS.rollback, 'heart', details, time);
    appendAudit(db, { actor: who.actor, action: AUDIT_ACTIONS.rollback, subject: 'heart', details: { ...details, attestation }, time });
    const e = readAuditEntries(db, { action: AUDIT_ACTIONS.rollback })[0];
    const { attestation: a, ...rest } = e?.details as Record<string, unknown> & { attestation: Attestation };
    expect(verifyAttestation(a, e?.action ?? '', e?.subject ?? '', rest, e?.time ?? '')).toBe(true);
    // An insider who edits the details (and re-hashes the chain) cannot keep the attestation valid.
    expect(verifyAttestation(a, AUDIT_ACTIONS.rollback, 'heart', { ...rest, to: 'c' }, e?.time ?? '')).toBe(false);
  });

  it('marks an action without a key as the unsigned local user, and a key outside the registry by its id', () => {
    expect(attributeTo(db, undefined)).toMatchObject({ signed: false, actor: expect.stringMatching(/^cli(:.+)? \(unsigned\)$/) });
    const stranger = join(state.dir, 'stranger.key');
    const k = generateKeyFile(stranger);
    expect(attributeTo(db, stranger).actor).toBe(`key:${k.keyId}`);
  });
});
