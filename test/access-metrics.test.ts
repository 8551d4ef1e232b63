/**
 * /v1/metrics through prom-client (issue 12 item 4, issue 15 item 6): a coordinator serves every declared metric
 * family from its start — before any client or round — and after a real round over real sockets (two client
 * nodes training a logistic model on MNIST) the round families hold that round's figures. The body is read with
 * an independent Prometheus text parser. Two coordinators in one process keep separate registries.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TrainingTurns } from '../client/training-turns.ts';
import type { ClientNode } from '../client/node.ts';
import { METRIC_FAMILIES } from '../coordinator/metric-families.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { initBackend } from '../ml/backend.ts';
import { seededRandom } from '../privacy/random.ts';
import { startCoordinator } from '../coordinator/server.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { consortium, logger, logisticJob, mnistSlice, socketClient } from './support/federation-fixtures.ts';
import { parsePrometheus, sampleValue } from './support/prometheus.ts';
import { REPO_ROOT } from './paths.ts';

const state = tempStateDir('tessera-metrics-');
const turns = new TrainingTurns();
let server: CoordinatorServer;
let other: CoordinatorServer;
let token: string;
const nodes: ClientNode[] = [];

beforeAll(async () => {
  await initBackend();
  token = createOperatorToken(state.dir, { name: 'dashboard', role: 'viewer' }).token;
  // Token-only state: no database, so the job below runs without ledger or registry (metrics are what is tested).
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, jobs: { rng: seededRandom(3) } });
  other = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir });
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  await other.close();
  state.cleanup();
});

async function scrape(s: CoordinatorServer): Promise<ReturnType<typeof parsePrometheus>> {
  const res = await fetch(`${s.url}/v1/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

describe('/v1/metrics', () => {
  it('serves every declared family before the first client and round, with the declared type and help', async () => {
    const families = await scrape(server);
    for (const [name, f] of Object.entries(METRIC_FAMILIES)) {
      expect([name, families.get(name)?.type, families.get(name)?.help]).toEqual([name, f.type.toUpperCase(), f.help]);
    }
    expect(sampleValue(families, 'tessera_clients_connected')).toBe(0);
    expect(families.get('tessera_rounds_committed_total')?.metrics).toEqual([]);
  });

  it('docs/access.md lists every family with its type and labels', () => {
    const text = readFileSync(join(REPO_ROOT, 'docs', 'access.md'), 'utf8');
    const documented = [...text.matchAll(/^\| `(tessera_[a-z_]+)` \| (counter|gauge|histogram) \| ([^|]*?) ?\|$/gm)].map((m) => `${m[1]} ${m[2]} [${m[3]}]`).sort();
    const declared = Object.entries(METRIC_FAMILIES).map(([name, f]) => `${name} ${f.type} [${f.labelNames.join(', ')}]`).sort();
    expect(documented).toEqual(declared);
  });

  it('after a real round over sockets, holds its figures; another coordinator in the process does not', async () => {
    nodes.push(socketClient(server, turns, 'm-1', { train: mnistSlice(0, 60) }), socketClient(server, turns, 'm-2', { train: mnistSlice(60, 60) }));
    await server.federation.waitForClients(2, 20_000);
    // Through the job service, as an operator's submission would run (seeded here, so the run is reproducible).
    const spec = logisticJob({ name: 'metrics-job', rounds: 1, minClients: 2 });
    const submitted = server.jobs.submit(spec, { actor: 'access-metrics test' });
    server.jobs.start();
    expect((await server.jobs.waitFor(submitted.jobId)).state).toBe('completed');
    const result = server.jobs.outcome(submitted.jobId)?.result;
    if (result === undefined) throw new Error('the job ran but has no outcome');
    expect(result.status).toBe('completed');
    const round = result.rounds[0];
    const families = await scrape(server);
    const job = { job: submitted.jobId };
    expect(sampleValue(families, 'tessera_rounds_committed_total', job)).toBe(1);
    expect(sampleValue(families, 'tessera_round_participants', job)).toBe(round?.participants);
    expect(round?.participants).toBe(2);
    expect(sampleValue(families, 'tessera_round_clients_dropped_total', job)).toBe(0);
    expect(sampleValue(families, 'tessera_round_duration_seconds', job)).toBeCloseTo((round?.durationMs ?? 0) / 1000, 6);
    expect(sampleValue(families, 'tessera_clients_connected')).toBe(2);
    // Every family is still there after the round, and no client or organisation appears in any label.
    for (const name of Object.keys(METRIC_FAMILIES)) expect([name, families.has(name)]).toEqual([name, true]);
    const labels = [...families.values()].flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
    expect(labels.filter((l) => /m-[12]|org-/.test(l))).toEqual([]);
    // The real round record passes GET /v1/jobs/:id's response schema (a mismatch would be a 500).
    const operator = createOperatorToken(state.dir, { name: 'ops', role: 'operator' }).token;
    const detail = await fetch(`${server.url}/v1/jobs/${submitted.jobId}`, { headers: { authorization: `Bearer ${operator}` } });
    expect(detail.status).toBe(200);
    const body = z.object({ state: z.string(), rounds: z.array(z.object({ round: z.number(), participants: z.number(), participantOrgs: z.array(z.string()) })) }).parse(await detail.json());
    expect([body.state, body.rounds.length, body.rounds[0]?.participants, [...(body.rounds[0]?.participantOrgs ?? [])].sort()]).toEqual(['completed', 1, 2, ['org-m-1', 'org-m-2']]);
    const separate = await scrape(other);
    expect(separate.get('tessera_rounds_committed_total')?.metrics).toEqual([]);
    expect(sampleValue(separate, 'tessera_clients_connected')).toBe(0);
  }, 120_000);
});
