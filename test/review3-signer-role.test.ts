/**
 * Review 3 (attack review of signed attribution, issue 13 §6), finding: any approver's key could sign the privacy
 * officer's commands.
 *
 * docs/privacy-officer.md says budgets, caps and consent on a production state "need --key FILE, the privacy
 * officer's approver key". attributeTo (governance/audit/attribution.ts) checked only that the key was an active
 * approver's, not its role: a model owner — the person who wants the model trained and deployed — could raise an
 * organisation's ε cap (`ledger budget set --org … --key mo.key`), change a job's budget, or record consent, and the
 * entry verified as hers. Separation of duties between the approver roles held for approvals but not for these
 * commands.
 *
 * The attack, through real `tessera` processes on a real production state (Ada: admin + privacy-officer; Mo:
 * model-owner): Mo raises cleveland's cap from ε 1 to ε 50 with his own, valid, active key. It now fails because
 * `ledger budget set|change` and `consent record|grant|revoke` name the role they belong to (privacy-officer) and
 * attributeTo refuses an approver key without it (exit 1, TESSERA_ERR_SIGNER_ROLE naming the command, the role and
 * the holder's roles); nothing changes and nothing is audited. Also attacked: a revoked privacy officer's key
 * (TESSERA_ERR_SIGNER_UNKNOWN). Control: Ada's key changes the cap.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath } from '../governance/state/database.ts';
import { generateKeyFile } from '../governance/identity/key-file.ts';
import { cli } from './support/cli.ts';
import { tempStateDir } from './governance-fixtures.ts';

let tmp: { dir: string; cleanup: () => void };
let state: string;
const key = (name: string): string => join(tmp.dir, `${name}.key`);
let patKeyId = '';

function read<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(databasePath(state), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
const capOf = (): number | undefined => read((db) => db.prepare('SELECT max_epsilon FROM ledger_org_caps WHERE org_id = ?').pluck().get('cleveland') as number | undefined);
const entryCount = (): number => read((db) => db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get() as number);

beforeAll(async () => {
  tmp = tempStateDir('tessera-review3-role-');
  state = join(tmp.dir, 'state');
  for (const n of ['ada', 'mo']) generateKeyFile(key(n));
  patKeyId = generateKeyFile(key('pat')).keyId;
  const steps: string[][] = [
    ['approvers', 'init', '--state', state, '--name', 'Ada Admin', '--key', key('ada'), '--roles', 'privacy-officer', '--admin-quorum', '1'],
    ['approvers', 'add', '--state', state, '--name', 'Mo Owner', '--public-key', `${key('mo')}.pub`, '--roles', 'model-owner', '--admin-key', key('ada')],
    ['approvers', 'add', '--state', state, '--name', 'Pat Officer', '--public-key', `${key('pat')}.pub`, '--roles', 'privacy-officer', '--admin-key', key('ada')],
    ['approvers', 'revoke', patKeyId, '--state', state, '--reason', 'left the organisation', '--admin-key', key('ada')],
    ['ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '1', '--key', key('ada')],
  ];
  for (const s of steps) {
    const r = await cli(...s);
    expect(r.code, `${s.slice(0, 2).join(' ')}: ${r.stderr}`).toBe(0);
  }
}, 120_000);

afterAll(() => tmp.cleanup());

describe("review3: the privacy officer's commands need a privacy officer's key", () => {
  it("a model owner's active key cannot raise an organisation's cap or touch consent; a revoked officer's key neither", async () => {
    const before = entryCount();
    const byOwner = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '50', '--key', key('mo'));
    expect(byOwner.code).toBe(1);
    expect(byOwner.stderr).toContain('TESSERA_ERR_SIGNER_ROLE');
    expect(byOwner.stderr).toContain('privacy-officer');
    const consent = await cli('consent', 'revoke', '--state', state, '--org', 'cleveland', '--reason', 'not his to revoke', '--key', key('mo'));
    expect(consent.code).toBe(1);
    expect(consent.stderr).toContain('TESSERA_ERR_SIGNER_ROLE');
    const byRevoked = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '50', '--key', key('pat'));
    expect(byRevoked.code).toBe(1);
    expect(byRevoked.stderr).toContain('TESSERA_ERR_SIGNER_UNKNOWN');
    expect(capOf()).toBe(1);
    expect(entryCount()).toBe(before);

    // Control: the privacy officer's key changes it.
    const byOfficer = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '2', '--key', key('ada'));
    expect(byOfficer.code, byOfficer.stderr).toBe(0);
    expect(capOf()).toBe(2);
  }, 120_000);
});
