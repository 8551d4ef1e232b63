/**
 * Explaining failures (issue 15 §3), on a real coordinator service (sockets and HTTP on 127.0.0.1, a state
 * directory) with three connected client nodes whose organisations have no consent recorded on the coordinator:
 * the DP job ends in seconds, not after 3 × 300 s of waiting, with the per-client reasons grouped
 * (`3 connected, 0 eligible …: CONSENT_MISSING ×3 (…)`) and advice that matches the cause (record consent — not
 * "connect more clients, lower minClients"). The preflight at submission cannot see it here (the service has no
 * roster document to know the organisations), so the round loop's own explanation is what is tested; then the
 * operator's view of it through `tessera jobs show`, and a fatal configuration error through `tessera jobs submit`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import type { ClientNode } from '../client/node.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { initBackend } from '../ml/backend.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { consortium, logger, mnistSlice, socketClient } from './support/federation-fixtures.ts';
import { cli, type CliResult } from './support/cli.ts';

const state = tempStateDir('tessera-job-reasons-');
let db: Db;
let server: CoordinatorServer;
let nodes: ClientNode[] = [];
let token = '';
const CLIENTS = ['cleveland', 'hungarian', 'va'];

/** `tessera …` as a child process, as a user's shell would run it. */
const tessera = (args: readonly string[]): Promise<CliResult> => cli('jobs', ...args, '--coordinator', server.url, '--token', token);

const dpJob = {
  name: 'consent-excluded',
  purpose: 'cardiology-research',
  model: { kind: 'logistic', inputs: 784, classes: 10 },
  data: { dataset: 'mnist' },
  rounds: 2,
  sampling: { mode: 'poisson', rate: 1 },
  minClients: 2,
  dp: { enabled: true, epsilon: 5, noiseMultiplier: 1, placement: 'distributed' },
};

beforeAll(async () => {
  await initBackend();
  db = openDatabase(state.dir);
  token = createOperatorToken(state.dir, { name: 'ops', role: 'operator' }).token;
  // The roster admits exactly the three clients (population 3); rounds would wait 5 minutes, as by default.
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db, jobs: { waitClientsMs: 300_000, population: () => CLIENTS.length } });
  server.jobs.start();
  const turns = new TrainingTurns();
  nodes = CLIENTS.map((id, i) => socketClient(server, turns, id, { train: mnistSlice(i * 40, 40) }));
  await server.federation.waitForClients(3, 20_000);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  db.close();
  state.cleanup();
});

describe('a job whose connected clients are all excluded', () => {
  it('ends in seconds with CONSENT_MISSING ×3 and the consent advice, and tessera jobs show says so', async () => {
    const t0 = Date.now();
    const submitted = server.jobs.submit(dpJob);
    const ended = await server.jobs.waitFor(submitted.jobId);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(10_000);
    expect(ended.state).toBe('failed');
    expect(ended.reason.code).toBe('TESSERA_ERR_TOO_FEW_CLIENTS');
    expect(ended.reason.message).toMatch(/^Round 1 cannot start \(TESSERA_ERR_TOO_FEW_CLIENTS\): 3 connected, 0 eligible, 2 needed: CONSENT_MISSING ×3 \(org-cleveland, org-hungarian, org-va\) \(every client on the roster is connected\)\. Fix: record each organisation's consent/);
    expect(ended.reason.message).not.toMatch(/lower minClients|Connect more clients/);
    // Nothing was sampled or charged.
    expect(db.prepare('SELECT COUNT(*) FROM ledger_rounds WHERE job_id = ?').pluck().get(submitted.jobId)).toBe(0);
    const shown = await tessera(['show', submitted.jobId]);
    expect(shown.code).toBe(1);
    expect(shown.stdout).toContain(`${submitted.jobId} (consent-excluded): failed [TESSERA_ERR_TOO_FEW_CLIENTS]`);
    expect(shown.stdout).toContain('CONSENT_MISSING ×3');
  }, 60_000);

  it('tessera jobs submit: a fatal configuration error fails at once with its code (exit 1), the service stays up', async () => {
    const { writeFileSync } = await import('node:fs');
    const file = join(state.dir, 'broken.json');
    writeFileSync(file, JSON.stringify({ ...dpJob, name: 'broken', secagg: { enabled: true, weighting: 'examples' } }));
    const r = await tessera(['submit', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^broken-[0-9a-f]{12} \(broken\): failed \[TESSERA_ERR_DP_CONFIG\]/);
    const list = await tessera(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/broken-[0-9a-f]{12}\s+failed\s+rounds\s+0\s+submitted \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+\[TESSERA_ERR_DP_CONFIG\]/);
  }, 60_000);
});
