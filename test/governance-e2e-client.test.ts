/**
 * `tessera client` as hospitals run it: two client-node processes read their Heart files through the built-in
 * contract and connect over socket.io to a coordinator (in this process) that keeps state and requires
 * consent. Both organisations hold coordinator-side consent, but VA's own consent file allows another purpose:
 * VA's node declines every round with CONSENT_PURPOSE, the decline is audited, Cleveland trains alone, and
 * the model is registered. SIGINT stops the nodes with exit code 0. Unusable arguments exit 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleJob } from '../coordinator/features/assemble.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { startCoordinator } from '../coordinator/server.ts';
import { clientRoster, clientRosterDocument } from '../governance/identity/client-roster.ts';
import { generateKeyFile } from '../governance/identity/key-file.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { grantConsent } from '../governance/consent/store.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');
const PURPOSE = 'cardiology-research';
const state = tempStateDir('tessera-e2e-client-');
const children: ChildProcess[] = [];

function client(args: string[]): { child: ChildProcess; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [BIN, 'client', ...args], { cwd: REPO_ROOT, env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => out };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  state.cleanup();
});

describe('tessera client', () => {
  it('exits 2 without a data contract to read the file with', async () => {
    const r = client(['--coordinator', 'http://127.0.0.1:1', '--org', 'va', '--data', join(SHARED_DATA_DIR, 'heart', 'processed.va.data')]);
    expect(await r.exit).toBe(2);
    expect(r.output()).toMatch(/--dataset adult\|heart .* or --contract FILE/);
  });

  it('takes part in a consent-gated job; the node whose local consent lacks the purpose declines and is audited', async () => {
    const db = openDatabase(state.dir);
    for (const organisation of ['cleveland', 'va']) {
      grantConsent(db, { organisation, dataset: 'heart', purposes: [PURPOSE], expiresAt: '2099-01-01', maxEpsilon: 5, retentionDays: 365, actor: 'cli:officer' });
    }
    const vaConsent = join(state.dir, 'va-consent.json');
    writeFileSync(vaConsent, JSON.stringify({ organisation: 'va', consents: [{ dataset: 'heart', purposes: ['quality-improvement'], expiresAt: '2099-01-01', maxEpsilon: 5, retentionDays: 30 }] }));
    // Both organisations explicitly accept jobs without secure aggregation (their policy files; the strict default
    // would decline this plain DP job with TESSERA_ERR_POLICY_SECAGG_REQUIRED).
    const policy = join(state.dir, 'client-policy.json');
    writeFileSync(policy, JSON.stringify({ version: 1, secagg: { required: false } }));
    const logger = silentLogger();
    // Each hospital's key; the consortium roster lists its public key and organisation.
    const keys = ['cleveland', 'va'].map((org) => ({ org, file: join(state.dir, `${org}.key`), pair: generateKeyFile(join(state.dir, `${org}.key`)) }));
    const roster = clientRoster(clientRosterDocument(keys.map((k) => ({ clientId: `${k.org}-client`, orgId: k.org, publicKey: k.pair.publicKey }))));
    const server = await startCoordinator({ logger, port: 0, stateDir: state.dir, db, roster });
    try {
      const nodes = keys.map(({ org, file }) =>
        client(['--coordinator', server.url, '--org', org, '--identity', file, '--dataset', 'heart', '--data', join(SHARED_DATA_DIR, 'heart', `processed.${org}.data`), '--policy', policy, ...(org === 'va' ? ['--consent', vaConsent] : [])]),
      );
      await server.federation.waitForClients(2, 60_000);
      const spec = parseJobSpec({
        name: 'heart-clients',
        purpose: PURPOSE,
        model: { kind: 'logistic', inputs: 15, classes: 2 },
        data: { dataset: 'heart', contractHash: contractHash(loadBuiltinContract('heart')) },
        rounds: 2,
        sampling: { mode: 'poisson', rate: 1 },
        minClients: 1,
        roundDeadlineMs: 30_000,
        dp: { enabled: true, epsilon: 4, noiseMultiplier: 6 },
      });
      expect(spec.consent.required).toBe(true);
      const jobId = 'heart-clients-1';
      const rng = seededRandom('client-e2e');
      const model = buildModel(spec.model, { seed: 1 });
      const initialWeights = getFlatWeights(model);
      model.dispose();
      const assembled = assembleJob({ jobId, spec, logger, rng, db, stateDir: state.dir });
      const result = await runJob({ jobId, spec, federation: server.federation, logger, rng, initialWeights, ...assembled });
      const registration = await assembled.outcomes.registration();
      expect(result.status).toBe('completed');
      expect(result.rounds.map((r) => r.participantOrgs)).toEqual([['cleveland'], ['cleveland']]);
      expect(result.rounds.map((r) => r.declined.map((d) => `${d.orgId}:${d.code}`))).toEqual([['va:CONSENT_PURPOSE'], ['va:CONSENT_PURPOSE']]);
      const declines = readAuditEntries(db, { action: AUDIT_ACTIONS.clientDeclined }).filter((e) => e.subject.startsWith(`${jobId}/`));
      expect(declines.map((e) => [e.subject, (e.details as { code: string }).code, e.actor])).toEqual([
        [`${jobId}/1`, 'CONSENT_PURPOSE', 'va-client'],
        [`${jobId}/2`, 'CONSENT_PURPOSE', 'va-client'],
      ]);
      expect(registration?.status).toBe('registered');
      if (registration?.status === 'registered') expect(registration.model.lineage.participation.map((p) => p.organisations)).toEqual([['cleveland'], ['cleveland']]);

      for (const n of nodes) n.child.kill('SIGINT');
      expect(await Promise.all(nodes.map((n) => n.exit))).toEqual([0, 0]);
    } finally {
      await server.close();
      db.close();
    }
  }, 120_000);
});
