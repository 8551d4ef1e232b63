/**
 * The console's HTTP side without a browser (issue 17 §6), against a real coordinator on 127.0.0.1 with a state
 * directory holding a 100-round job whose rounds name organisations and clients (declines, participants), a
 * registered model with two signed approvals, consent, and the keys and tokens that sign them.
 *
 * ATTACK "a viewer sees no per-organisation detail": the harness holds a viewer token and calls EVERY GET route
 * the served OpenAPI document says a viewer may call (enumerated from the document, so a route added later is
 * attacked too), reading the change feed's first event, plus every console page and script, and searches all of
 * it for any organisation or client id the state holds. The control: the same search over an operator's
 * `GET /v1/jobs/:id` finds them — so the search would see them if they leaked. It fails only because the
 * viewer's routes carry counts (console/series.ts reduces declines to codes).
 *
 * ATTACK "no secret reaches the page": with the auditor's token (which may open every console page), the harness
 * reads every route the console reads and every asset, and searches for each operator token, each token's
 * stored digest and each private key in the state directory (the coordinator's checkpoint key, both approvers'
 * keys; base64 and hex). The control plants one key's seed in a searched text and sees the search find it.
 *
 * Also: the Content-Security-Policy and companion headers on every console response, no inline script or style
 * in the shell, 404 for unknown pages and assets, the change feed announcing a consent grant, and a coordinator
 * closing at once with a feed open.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONSOLE_CSP } from '../coordinator/console/pages.ts';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { createApproval } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { grantConsent } from '../governance/consent/store.ts';
import { generateKeyFile } from '../governance/identity/key-file.ts';
import { TOKEN_ROLES, createOperatorToken, operatorTokensPath, type TokenRole } from '../governance/identity/operator-tokens.ts';
import { registerModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { seedRounds } from './support/console-seed.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry, tempStateDir } from './governance-fixtures.ts';

const state = tempStateDir('tessera-console-api-');
let db: Db;
let server: CoordinatorServer;
let jobId = '';
const tokens = new Map<TokenRole, string>();

const get = async (path: string, token?: string): Promise<{ status: number; headers: Headers; text: string }> => {
  const res = await fetch(`${server.url}${path}`, { headers: token !== undefined ? { authorization: `Bearer ${token}` } : {}, redirect: 'manual' });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream') && res.body !== null) {
    const reader = res.body.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, headers: res.headers, text: new TextDecoder().decode(first.value) };
  }
  return { status: res.status, headers: res.headers, text: await res.text() };
};

/** The console's own files: the shell of each page and every script file the shell and its imports load. */
async function consoleFiles(): Promise<string[]> {
  const shell = (await get('/console/overview')).text;
  const entry = (await get('/console/assets/console.js')).text;
  const chunks = [...entry.matchAll(/chunk-[A-Z0-9]+\.js/g)].map((m) => m[0]);
  const texts = [shell, entry, (await get('/console/assets/console.css')).text];
  for (const c of new Set(chunks)) texts.push((await get(`/console/assets/${c}`)).text);
  return texts;
}

beforeAll(async () => {
  db = openDatabase(state.dir);
  const officer = generateKeyFile(join(state.dir, 'officer.key'));
  const owner = generateKeyFile(join(state.dir, 'owner.key'));
  initTestRegistry(db, [
    { name: 'Olivia Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Mo Owner', key: owner, roles: ['model-owner'] },
  ]);
  const model = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'console-api'), lineage: fixtureLineage(), name: 'heart' });
  recordApproval(db, createApproval({ model, role: 'privacy-officer', decision: 'approve', key: officer, validForMs: 86_400_000, stage: 'production' }));
  recordApproval(db, createApproval({ model, role: 'model-owner', decision: 'approve', key: owner, validForMs: 86_400_000, stage: 'production' }));
  grantConsent(db, { organisation: 'org-1', dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2099-01-01', maxEpsilon: 9, retentionDays: 365, actor: 'cli:officer' });
  jobId = seedRounds(db);
  for (const role of TOKEN_ROLES) tokens.set(role, createOperatorToken(state.dir, { name: `${role}-holder`, role }).token);
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
}, 60_000);

afterAll(async () => {
  await server.close();
  db.close();
  state.cleanup();
});

/** Every organisation and client id the seeded rounds name. */
const NAMES = ['org-1', 'org-2', 'org-3', 'org-4', 'org-5', 'c-4'];
const found = (texts: readonly string[], needles: readonly string[]): string[] => needles.filter((n) => texts.some((t) => t.includes(n)));

describe('the console API', () => {
  it('ATTACK: a viewer reads every route it may call and every console file, and finds no organisation or client', async () => {
    const doc = z.object({ paths: z.record(z.string(), z.record(z.string(), z.object({ 'x-tessera-roles': z.union([z.literal('public'), z.array(z.string())]) }).loose())) }).parse(JSON.parse((await get('/v1/openapi.json')).text));
    const viewer = tokens.get('viewer') ?? '';
    const paths = Object.entries(doc.paths)
      .filter(([, ops]) => ops.get !== undefined && (ops.get['x-tessera-roles'] === 'public' || ops.get['x-tessera-roles'].includes('viewer')))
      .map(([p]) => p.replace('{id}', jobId).replace('{name}', 'heart'));
    expect(paths).toEqual(expect.arrayContaining(['/v1/jobs', `/v1/jobs/${jobId}/series`, '/v1/events', '/v1/whoami']));
    const texts: string[] = [];
    for (const p of paths) {
      const a = await get(p, viewer);
      // Nothing is deployed here, so a model's status is a 404 (its text is searched all the same).
      expect([p, a.status]).toEqual([p, p.startsWith('/v1/models/') ? 404 : 200]);
      texts.push(a.text);
    }
    texts.push(...(await consoleFiles()));
    expect(found(texts, NAMES)).toEqual([]);
    // The series still says what happened: the declines, by code.
    expect(texts.join('\n')).toContain('"CONTRACT_VIOLATION":1');
    // Control: an operator's view of the job names them, so the search above would have found a leak.
    const detail = await get(`/v1/jobs/${jobId}`, tokens.get('operator'));
    expect(found([detail.text], NAMES)).toEqual(NAMES);
  });

  it('ATTACK: the most privileged reader finds no token, token digest or private key in anything the console reads', async () => {
    const auditor = tokens.get('auditor') ?? '';
    const texts: string[] = [];
    for (const p of ['/v1/whoami', '/v1/jobs', `/v1/jobs/${jobId}/series`, `/v1/jobs/${jobId}`, '/v1/privacy', '/v1/governance', '/v1/events', '/v1/clients']) {
      const a = await get(p, auditor);
      expect([p, a.status]).toEqual([p, 200]);
      texts.push(a.text);
    }
    texts.push(...(await consoleFiles()));
    const keyFiles = [...readdirSync(state.dir, { recursive: true, encoding: 'utf8' })].filter((f) => f.endsWith('.key'));
    expect(keyFiles.length).toBeGreaterThanOrEqual(3); // the coordinator's (checkpoints) and both approvers'
    const secrets = keyFiles.flatMap((f) => {
      const seed = (JSON.parse(readFileSync(join(state.dir, f), 'utf8')) as { seed: string }).seed;
      return [seed, Buffer.from(seed, 'base64').toString('hex')];
    });
    const stored = z.object({ tokens: z.array(z.object({ sha256: z.string() }).loose()) }).loose().safeParse(JSON.parse(readFileSync(operatorTokensPath(state.dir), 'utf8')));
    const digests = stored.success ? stored.data.tokens.map((t) => t.sha256) : [];
    expect(digests.length).toBe(TOKEN_ROLES.length);
    const needles = [...tokens.values(), ...[...tokens.values()].map((t) => t.slice(4)), ...digests, ...secrets];
    expect(found(texts, needles)).toEqual([]);
    // Control: the search finds a planted secret.
    expect(found([...texts, `leak ${secrets[0] ?? ''}`], needles)).toEqual([secrets[0]]);
  });

  it('serves the console with a strict Content-Security-Policy, no inline script or style, and 404s for unknown pages and assets', async () => {
    for (const p of ['/console/overview', '/console/privacy', '/console/governance', '/console/assets/console.js', '/console/assets/console.css']) {
      const a = await get(p);
      expect([p, a.status]).toEqual([p, 200]);
      expect(a.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(a.headers.get('x-content-type-options')).toBe('nosniff');
      expect(a.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-(inline|eval)/);
    const shell = (await get('/console/data')).text;
    expect(shell).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(shell).not.toMatch(/\sstyle=|<style/);
    expect((await get('/console')).headers.get('location')).toBe('/console/overview');
    expect((await get('/console/secrets')).status).toBe(404);
    expect((await get('/console/assets/../../state')).status).toBe(404);
    expect((await get('/console/assets/chunk-NOPE.js')).status).toBe(404);
  });

  it('the change feed announces a change (and nothing else) when the audit log moves', async () => {
    const res = await fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${tokens.get('viewer') ?? ''}` } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = decoder.decode((await reader.read()).value);
    expect(first).toMatch(/^retry: 2000\nevent: change\ndata: \{"seq":\d+\}\n\n$/);
    grantConsent(db, { organisation: 'org-2', dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2099-01-01', maxEpsilon: 9, retentionDays: 365, actor: 'cli:officer' });
    const t0 = Date.now();
    const next = decoder.decode((await reader.read()).value);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(next).toMatch(/^event: change\ndata: \{"seq":\d+\}\n\n$/);
    await reader.cancel();
  });

  it('a coordinator with a change feed open still closes at once (the stream ends; the HTTP server would wait for it)', async () => {
    // A second coordinator on the same tokens (no database: only the feed is under test).
    const other = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir });
    const res = await fetch(`${other.url}/v1/events`, { headers: { authorization: `Bearer ${tokens.get('viewer') ?? ''}` } });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await reader.read()).done).toBe(true);
  });
});
