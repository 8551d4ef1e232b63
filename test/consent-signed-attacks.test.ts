/**
 * Signed consent (issue 12 §6) attacked by an operator or insider with shell access to the coordinator: a real
 * state database, real Ed25519 roster keys, the real roster document. Each attack tries to get an organisation
 * sampled on terms it never signed; each is refused for the documented reason (a coded error on recording, or
 * CONSENT_UNSIGNED at eligibility, which is what the coordinator's sampler asks every round). The honest path
 * (the organisation signs, the operator records, the organisation is eligible) is checked first, and the CLI
 * commands (`consent sign`, `consent record`) once end to end.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { eligibleOrganisations, grantConsent, listConsents, recordSignedConsent, revokeConsent } from '../governance/consent/store.ts';
import { signConsent, type SignedConsent } from '../governance/consent/signed.ts';
import { clientRoster, clientRosterDocument, type ClientRoster } from '../governance/identity/client-roster.ts';
import { keyPairFromSeed, type Ed25519KeyPair } from '../governance/identity/ed25519.ts';
import { generateKeyFile, publicKeyFileText } from '../governance/identity/key-file.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { REPO_ROOT } from './paths.ts';

const exec = promisify(execFile);
const key = (n: number): Ed25519KeyPair => keyPairFromSeed(new Uint8Array(32).fill(n));
const cleveland = key(11);
const hungarian = key(12);
const outsider = key(13);
const T0 = new Date('2026-01-10T09:00:00Z');
const DAY = 86_400_000;

const roster: ClientRoster = clientRoster(
  clientRosterDocument([
    { clientId: 'cleveland-client', orgId: 'cleveland', publicKey: cleveland.publicKey },
    { clientId: 'hungarian-client', orgId: 'hungarian', publicKey: hungarian.publicKey },
  ]),
);

const TERMS = { organisation: 'cleveland', clientId: 'cleveland-client', dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2027-01-01T00:00:00Z', maxEpsilon: 4, retentionDays: 365 };
const USE = { purpose: 'cardiology-research', dataset: 'heart', epsilonNeeded: 3 };

let state: { dir: string; cleanup: () => void };
let db: Db;

beforeAll(() => {
  state = tempStateDir('tessera-consent-');
  db = openDatabase(state.dir);
});

afterAll(() => {
  db.close();
  state.cleanup();
});

const record = (raw: unknown, at = T0) => recordSignedConsent(db, raw, { roster, actor: 'cli:operator', at });
const eligible = (at: Date, withRoster = true) => eligibleOrganisations(db, { ...USE, at, ...(withRoster ? { roster } : {}) });

describe('signed consent: the honest path', () => {
  it("the organisation signs with its roster key, the operator records it, the sampler counts it", () => {
    const signed = signConsent(TERMS, cleveland, new Date(T0.getTime() - 60_000));
    expect(record(signed).maxEpsilon).toBe(4);
    expect(eligible(new Date(T0.getTime() + DAY))).toEqual({ eligible: ['cleveland'], excluded: [] });
  });
});

describe('signed consent: attacks by the operator or an insider', () => {
  it('a forged signature (an outsider key claiming cleveland-client) is refused: TESSERA_ERR_CONSENT_UNSIGNED', () => {
    const forged = signConsent({ ...TERMS, organisation: 'hungarian', clientId: 'hungarian-client' }, outsider, T0);
    expect(() => record(forged)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_UNSIGNED', message: expect.stringMatching(/does not verify under hungarian's roster key/) }));
  });

  it("a consent for cleveland signed with hungarian's key is refused, whichever signer it names", () => {
    const asHungarian = signConsent({ ...TERMS, clientId: 'hungarian-client' }, hungarian, T0);
    expect(() => record(asHungarian)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_UNSIGNED', message: expect.stringMatching(/speaks for organisation 'hungarian' in the roster, not 'cleveland'/) }));
    const claimingCleveland = signConsent(TERMS, hungarian, T0);
    expect(() => record(claimingCleveland)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_UNSIGNED', message: expect.stringMatching(/does not verify under cleveland's roster key/) }));
  });

  it('terms edited after signing (ε cap raised, a purpose added) are refused', () => {
    const genuine = signConsent(TERMS, cleveland, new Date(T0.getTime() + 1000));
    const raised: SignedConsent = { ...genuine, payload: { ...genuine.payload, maxEpsilon: 50 } };
    const widened: SignedConsent = { ...genuine, payload: { ...genuine.payload, purposes: ['cardiology-research', 'marketing'] } };
    for (const edited of [raised, widened]) expect(() => record(edited, new Date(T0.getTime() + 2000))).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_UNSIGNED', message: expect.stringMatching(/terms were edited after signing/) }));
    // Unknown keys are refused by name, never dropped (a strict schema where people hand-carry JSON).
    expect(() => record({ ...genuine, payload: { ...genuine.payload, note: 'x' } })).toThrow(/Unrecognized key.*note|note/);
  });

  it('replays are refused: an expired record, the same record twice, an old grant after a withdrawal', () => {
    const expired = signConsent({ ...TERMS, organisation: 'hungarian', clientId: 'hungarian-client', expiresAt: '2026-01-11T00:00:00Z' }, hungarian, T0);
    expect(() => record(expired, new Date(T0.getTime() + 2 * DAY))).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_REPLAY', message: expect.stringMatching(/expired at 2026-01-11/) }));

    const older = signConsent({ ...TERMS, organisation: 'hungarian', clientId: 'hungarian-client' }, hungarian, new Date(T0.getTime() + 10_000));
    const newer = signConsent({ ...TERMS, organisation: 'hungarian', clientId: 'hungarian-client', maxEpsilon: 2 }, hungarian, new Date(T0.getTime() + 20_000));
    record(newer, new Date(T0.getTime() + 30_000));
    expect(() => record(newer, new Date(T0.getTime() + 40_000))).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_REPLAY', message: expect.stringMatching(/was recorded before/) }));
    // The superseded (laxer) grant cannot be put back over the newer one.
    expect(() => record(older, new Date(T0.getTime() + 40_000))).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_REPLAY', message: expect.stringMatching(/not after hungarian's latest grant/) }));

    // Withdrawn: the organisation's consent is revoked; re-recording the grant signed before it is a replay.
    revokeConsent(db, { organisation: 'hungarian', dataset: 'heart', reason: 'ethics board withdrew approval', actor: 'cli:operator', at: new Date(T0.getTime() + 60_000) });
    expect(() => record(newer, new Date(T0.getTime() + 90_000))).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_REPLAY' }));
    const beforeWithdrawal = signConsent({ ...TERMS, organisation: 'hungarian', clientId: 'hungarian-client', maxEpsilon: 3 }, hungarian, new Date(T0.getTime() + 50_000));
    expect(() => record(beforeWithdrawal, new Date(T0.getTime() + 90_000))).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_CONSENT_REPLAY', message: expect.stringMatching(/not after hungarian's latest withdrawal/) }));
    expect(eligible(new Date(T0.getTime() + DAY)).excluded).toEqual([expect.objectContaining({ organisation: 'hungarian', code: 'CONSENT_REVOKED' })]);
    // A fresh consent the organisation signs after the withdrawal is accepted.
    record(signConsent({ ...TERMS, organisation: 'hungarian', clientId: 'hungarian-client' }, hungarian, new Date(T0.getTime() + 100_000)), new Date(T0.getTime() + 110_000));
    expect(eligible(new Date(T0.getTime() + DAY)).eligible).toEqual(['cleveland', 'hungarian']);
  });

  it('an insider who edits the stored terms in SQLite, or enters consent unsigned, is caught at eligibility', () => {
    db.prepare("UPDATE consents SET max_epsilon = 100 WHERE organisation = 'cleveland'").run();
    const e = eligible(new Date(T0.getTime() + DAY));
    expect(e.eligible).toEqual(['hungarian']);
    expect(e.excluded).toEqual([expect.objectContaining({ organisation: 'cleveland', code: 'CONSENT_UNSIGNED', reason: expect.stringMatching(/differ from what it signed \(edited in storage\)/) })]);

    grantConsent(db, { organisation: 'switzerland', dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2027-01-01', maxEpsilon: 8, retentionDays: 30, actor: 'cli:operator', at: T0 });
    const withRoster = eligible(new Date(T0.getTime() + DAY));
    expect(withRoster.excluded).toContainEqual(expect.objectContaining({ organisation: 'switzerland', code: 'CONSENT_UNSIGNED', reason: expect.stringMatching(/without the organisation's signature \(TESSERA_ERR_CONSENT_UNSIGNED\)/) }));
    // Simulations (no roster) still accept operator-entered consent.
    expect(eligible(new Date(T0.getTime() + DAY), false).eligible).toContain('switzerland');
  });
});

describe('signed consent: the CLI', () => {
  it('`consent sign` with the organisation key file, `consent record` with the roster; an edited file is refused (exit 1)', async () => {
    const dir = tempStateDir('tessera-consent-cli-');
    try {
      const keyFile = join(dir.dir, 'va.key');
      const va = generateKeyFile(keyFile);
      writeFileSync(join(dir.dir, 'va.key.pub'), publicKeyFileText(va.publicKey));
      const rosterFile = join(dir.dir, 'roster.json');
      writeFileSync(rosterFile, JSON.stringify(clientRosterDocument([{ clientId: 'va-client', orgId: 'va', publicKey: va.publicKey }])));
      const run = async (...args: string[]): Promise<{ code: number; out: string }> => {
        try {
          const { stdout, stderr } = await exec(process.execPath, [join(REPO_ROOT, 'bin', 'tessera.mjs'), ...args], { cwd: REPO_ROOT, timeout: 60_000 });
          return { code: 0, out: stdout + stderr };
        } catch (e) {
          const err = e as { code?: number; stdout?: string; stderr?: string };
          return { code: err.code ?? -1, out: (err.stdout ?? '') + (err.stderr ?? '') };
        }
      };
      const signedFile = join(dir.dir, 'va-consent.json');
      const sign = await run('consent', 'sign', '--org', 'va', '--client', 'va-client', '--key', keyFile, '--dataset', 'heart', '--purposes', 'cardiology-research', '--expires', '2099-01-01', '--max-epsilon', '5', '--retention', '90', '--out', signedFile);
      expect(sign.code, sign.out).toBe(0);
      const state = join(dir.dir, 'state');
      const ok = await run('consent', 'record', '--state', state, '--file', signedFile, '--roster', rosterFile);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toMatch(/signed consent recorded: va \/ heart/);
      const again = await run('consent', 'record', '--state', state, '--file', signedFile, '--roster', rosterFile);
      expect(again.code).toBe(1);
      expect(again.out).toMatch(/TESSERA_ERR_CONSENT_REPLAY/);
      const tampered = join(dir.dir, 'tampered.json');
      writeFileSync(tampered, (await import('node:fs')).readFileSync(signedFile, 'utf8').replace('"maxEpsilon": 5', '"maxEpsilon": 50'));
      const edited = await run('consent', 'record', '--state', state, '--file', tampered, '--roster', rosterFile);
      expect(edited.code).toBe(1);
      expect(edited.out).toMatch(/TESSERA_ERR_CONSENT_UNSIGNED/);
      const db2 = openDatabase(state);
      try {
        expect(listConsents(db2).map((c) => [c.organisation, c.maxEpsilon])).toEqual([['va', 5]]);
      } finally {
        db2.close();
      }
    } finally {
      dir.cleanup();
    }
  }, 60_000);
});
