/**
 * The governance CLI driven in child processes, as a privacy officer would use it, against a temp state dir
 * with two registered models: keys generate → approvers add → approve → deploy (refused, then production) →
 * canary at 10% → production → rollback, with the in-process prediction API checked at each step (it reads
 * the deployment table the CLI processes write). Then audit verify, a tampered row, consent and the card.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath, openDatabase, type Db } from '../governance/state/database.ts';
import { registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { servingRoutes } from '../coordinator/serving/routes.ts';
import { apiTestApp, type ApiTestApp } from './support/api-app.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { REPO_ROOT } from './paths.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, tempStateDir } from './governance-fixtures.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function tessera(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args, '--state', state.dir], { cwd: REPO_ROOT, env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

let state: { dir: string; cleanup: () => void };
let db: Db;
let app: FastifyInstance;
let api: ApiTestApp;
let v1: RegisteredModel;
let v2: RegisteredModel;

async function served(): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/models/heart/predict', headers: api.auth('predict'), payload: { instances: [Array.from({ length: 13 }, (_, i) => i / 13)] } });
  return res.statusCode === 200 ? PredictResponse.parse(res.json()).version : `HTTP ${res.statusCode}`;
}

beforeAll(async () => {
  state = tempStateDir('tessera-cli-');
  db = openDatabase(state.dir);
  v1 = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'cli-1'), lineage: fixtureLineage(), name: 'heart' });
  v2 = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'cli-2'), lineage: fixtureLineage(), name: 'heart' });
  api = await apiTestApp(state.dir);
  app = api.app;
  await app.register(servingRoutes, { stateDir: state.dir, db, predictPerMinute: 100_000 });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  db.close();
  state.cleanup();
});

// Each step is a real `tessera` process (≈1–4 s to start under load); the walks below run two dozen of them.
describe('tessera governance CLI', { timeout: 240_000 }, () => {
  it('walks keys → approvers → approve → deploy → canary → production → rollback', async () => {
    const officerKey = join(state.dir, 'officer.key');
    const ownerKey = join(state.dir, 'owner.key');
    // Independent steps run as concurrent processes (as two people would), which also exercises SQLite locking.
    const [gen, genOwner] = await Promise.all([tessera('keys', 'generate', '--out', officerKey, '--json'), tessera('keys', 'generate', '--out', ownerKey)]);
    expect(gen.code).toBe(0);
    expect(genOwner.code).toBe(0);
    const officer = JSON.parse(gen.stdout) as { keyId: string; publicKey: string };
    expect(statSync(officerKey).mode & 0o777).toBe(0o600);
    // tweetnacl-compatible: the stored seed gives the printed public key.
    const seed = Buffer.from((JSON.parse(readFileSync(officerKey, 'utf8')) as { seed: string }).seed, 'base64');
    expect(Buffer.from(nacl.sign.keyPair.fromSeed(seed).publicKey).toString('base64')).toBe(officer.publicKey);
    // Olivia bootstraps the registry once (recorded in the audit log); adding Mo needs her admin signature.
    expect((await tessera('approvers', 'init', '--name', 'Olivia Officer', '--key', officerKey, '--roles', 'privacy-officer')).code).toBe(0);
    const unsigned = await tessera('approvers', 'add', '--name', 'Mo Owner', '--public-key', `${ownerKey}.pub`, '--roles', 'model-owner');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/TESSERA_ERR_APPROVAL.*needs valid signatures from 1 distinct admin person; it has 0/);
    expect((await tessera('approvers', 'add', '--name', 'Mo Owner', '--public-key', `${ownerKey}.pub`, '--roles', 'model-owner', '--admin-key', officerKey)).code).toBe(0);
    expect((await tessera('approvers', 'init', '--name', 'Mo Owner', '--key', ownerKey)).stderr).toMatch(/already initialised|init happens once/);

    // Without approvals the gate refuses, naming each unmet role; nothing is served.
    const refused = await tessera('deploy', '--model', v1.version, '--stage', 'production', '--json', '--key', ownerKey);
    expect(refused.code).toBe(1);
    const out = JSON.parse(refused.stdout) as { ok: boolean; gate: { unmet: Array<{ code: string; role?: string }> } };
    expect(out.ok).toBe(false);
    expect(out.gate.unmet.map((u) => `${u.code}:${u.role}`)).toEqual(['quorum-unmet:model-owner', 'quorum-unmet:privacy-officer', 'quorum-unmet:undefined']);
    expect(await served()).toBe('HTTP 404');

    // A signer without the role is refused with the reason (exit 1).
    const wrong = await tessera('approve', '--model', v1.version.slice(0, 12), '--role', 'privacy-officer', '--key', ownerKey);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/role-not-held/);

    const approvals = await Promise.all(
      [v1, v2].flatMap((v) => [
        tessera('approve', '--model', v.version, '--role', 'privacy-officer', '--key', officerKey, '--expires', '30d'),
        tessera('approve', '--model', v.version, '--role', 'model-owner', '--key', ownerKey),
      ]),
    );
    expect(approvals.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect((await tessera('deploy', '--model', v1.version, '--stage', 'production', '--key', ownerKey)).code).toBe(0);
    expect(await served()).toBe(v1.version);

    const canary = await tessera('deploy', '--model', v2.version, '--stage', 'canary', '--percent', '10', '--json', '--key', ownerKey);
    expect(canary.code).toBe(0);
    expect(JSON.parse(canary.stdout)).toMatchObject({ ok: true, state: { production: v1.version, canary: v2.version, canaryPercent: 10 } });
    // The split is random (canary-split.test.ts checks it statistically): here only that both versions serve.
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) seen.add(await served());
    expect([...seen].sort()).toEqual([v1.version, v2.version].sort());

    expect((await tessera('deploy', '--model', v2.version, '--stage', 'production', '--key', ownerKey)).code).toBe(0);
    expect(await served()).toBe(v2.version);

    const back = await tessera('rollback', '--reason', 'error rate doubled', '--key', ownerKey);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`production ${v2.version.slice(0, 12)} → ${v1.version.slice(0, 12)}`);
    expect(await served()).toBe(v1.version);

    const list = JSON.parse((await tessera('models', 'list', '--json')).stdout) as { models: Array<{ version: string; stage: string }> };
    expect(list.models.map((m) => m.stage)).toEqual(['production', 'candidate']);
  });

  it('records consent, prints the model card, verifies the audit log and names a tampered entry', async () => {
    expect((await tessera('consent', 'grant', '--org', 'cleveland', '--dataset', 'heart', '--purposes', 'cardiology-research', '--expires', '2099-01-01', '--max-epsilon', '4', '--retention', '365', '--key', join(state.dir, 'officer.key'))).code).toBe(0);
    expect((await tessera('consent', 'revoke', '--org', 'cleveland', '--reason', 'withdrawn by the board', '--key', join(state.dir, 'officer.key'))).code).toBe(0);
    const consents = JSON.parse((await tessera('consent', 'list', '--json')).stdout) as { consents: Array<{ status: string }> };
    expect(consents.consents[0]?.status).toMatch(/^revoked/);

    const card = await tessera('models', 'card', v1.version);
    expect(card.code).toBe(0);
    expect(card.stdout).toContain('## Privacy guarantee');
    expect(card.stdout).toMatch(/\| Olivia Officer \| `[0-9a-f]{32}` \| privacy-officer \| approve /);

    const ok = await tessera('audit', 'verify', '--json');
    expect(ok.code).toBe(0);
    const verdict = JSON.parse(ok.stdout) as { ok: boolean; entries: number; firstBadEntry: number | null; reason: string | null };
    expect(verdict).toMatchObject({ ok: true, firstBadEntry: null, reason: null });

    // Edit one row in storage, as someone with the database file could.
    const raw = new Database(databasePath(state.dir));
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare("UPDATE audit_log SET details = '{}' WHERE action = 'rollback'").run();
    const seq = raw.prepare("SELECT seq FROM audit_log WHERE action = 'rollback'").pluck().get() as number;
    raw.close();
    const bad = await tessera('audit', 'verify', '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, entries: seq, firstBadEntry: seq, reason: `entry ${seq}: its contents do not match its hash (the entry was changed or moved)` });
  });
});
