/**
 * Issue 6 end to end on UCI Heart Disease (four hospitals, one client each): two real jobs over loopback
 * sockets and in memory write to one state directory (the registry feature registers each model with its
 * lineage); a privacy officer and a model owner make keys, are registered and sign approvals from the CLI
 * (child processes); the model goes to production, a second version to a 10% canary, then to production,
 * then is rolled back — and at each step the coordinator's prediction API (real HTTP, served from the state
 * directory) answers with the expected version, computed from the registered weights. VA's local consent
 * does not cover the job's purpose: it declines, and the decline is in the audit log. Finally
 * `tessera audit verify` passes, then names the entry a direct SQLite edit changed.
 */
import * as tf from '@tensorflow/tfjs';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { readContractTable } from '../governance/contract/load.ts';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { loadModelArtifact } from '../governance/registry/artifacts.ts';
import { getModel } from '../governance/registry/registry.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { databasePath, openDatabase, type Db } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { buildModel } from '../ml/model.ts';
import { setFlatWeights } from '../ml/weights.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const exec = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');
const PURPOSE = 'cardiology-research';

/** The job both trainings run: fairness evaluated on held-out splits against a lenient rule, so the gate's fairness and contract conditions are met by evidence. */
const JOB = {
  name: 'heart',
  purpose: PURPOSE,
  fairness: { enabled: true, sensitive: ['sex'], policy: [{ metric: 'accuracyGap', attribute: 'sex', max: 0.5 }] },
};
/** VA's own consent file allows another purpose only. */
const VA_CONSENT = { organisation: 'va', consents: [{ dataset: 'heart', purposes: ['quality-improvement'], expiresAt: '2099-01-01', maxEpsilon: 4, retentionDays: 365 }] };

let state: { dir: string; cleanup: () => void };
let db: Db;
let server: CoordinatorServer;
let first: SimulationResult;
let second: SimulationResult;
/** What the model takes: the contract's features of the rows below (for the expected probabilities). */
let instances: number[][];
/** What a caller sends: the same rows raw, {column: cell} (the coordinator checks and transforms them by the contract). */
let rawInstances: Array<Record<string, string>>;
let predictAuth: string;

async function tessera(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args, '--state', state.dir], { cwd: REPO_ROOT, env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

async function predict(): Promise<PredictResponse> {
  const res = await fetch(`${server.url}/v1/models/heart/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: predictAuth }, body: JSON.stringify({ instances: rawInstances }) });
  expect(res.status).toBe(200);
  return PredictResponse.parse(await res.json());
}

/** Class probabilities computed independently with TensorFlow.js from a version's stored artifacts. */
function expectedProbabilities(version: string): number[][] {
  const artifact = loadModelArtifact(state.dir, version);
  const model = buildModel(artifact.modelSpec, { seed: 0 });
  try {
    setFlatWeights(model, artifact.weights);
    const rows = tf.tidy(() => (model.predict(tf.tensor2d(instances)) as tf.Tensor).arraySync() as number[][]);
    return rows;
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  state = tempStateDir('tessera-e2e-heart-');
  const base = { dataset: 'heart' as const, dataDir: SHARED_DATA_DIR, stateDir: state.dir, job: JOB, localConsent: { va: VA_CONSENT } };
  first = await runSimulation({ ...base, rounds: 3, seed: 7, transport: 'socket' }, { logger: silentLogger() });
  second = await runSimulation({ ...base, rounds: 4, seed: 8, transport: 'memory' }, { logger: silentLogger() });
  db = openDatabase(state.dir);
  // Serving only: no client connects, so the roster admits nobody.
  server = await startCoordinator({ logger: silentLogger(), port: 0, stateDir: state.dir, db, roster: { lookup: () => undefined } });
  // The serving credential (tessera tokens create --role predict).
  predictAuth = `Bearer ${createOperatorToken(state.dir, { name: 'scoring-app', role: 'predict' }).token}`;
  // Twelve Cleveland patients, raw as a caller sends them, and their features by the built-in contract's pipeline.
  const contract = compileContract(loadBuiltinContract('heart'));
  const table = readContractTable(contract.contract, join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data'));
  const cells = table.rows.slice(0, 12);
  rawInstances = cells.map((row) => Object.fromEntries(table.header.map((h, i) => [h, row[i] ?? '']).filter(([h]) => h !== 'num')));
  const parsed = contract.parseRows(table.header, cells).rows;
  expect(parsed).toHaveLength(12);
  instances = parsed.map((row) => {
    const x = new Float32Array(contract.featureCount);
    contract.writeFeatures(row, x, 0);
    return Array.from(x);
  });
}, 180_000);

afterAll(async () => {
  await server?.close();
  db?.close();
  state?.cleanup();
});

describe('Heart Disease: train → register → approve → canary → production → rollback', () => {
  it('registers each finished job with its lineage; VA declines on its local consent and the decline is audited', () => {
    expect(first.result.status).toBe('completed');
    expect(second.result.status).toBe('completed');
    const v1 = first.registered;
    const v2 = second.registered;
    expect(v1?.name).toBe('heart');
    expect(v2?.name).toBe('heart');
    if (!v1 || !v2) return;
    expect(v1.version).not.toBe(v2.version);
    const m1 = getModel(db, v1.version);
    expect(m1?.lineage).toMatchObject({ jobName: 'heart', purpose: PURPOSE, dataset: 'heart', rounds: 3, privacy: { epsilon: null, placement: 'none' }, contractChecks: { passed: true } });
    expect(m1?.lineage.dataContractHash).toBe(first.job.data.contractHash);
    expect(m1?.lineage.participation.map((p) => p.round)).toEqual([1, 2, 3]);
    // The contract outcome is counted from the clients' results (issue 13 §5): each round Switzerland declines
    // for the contract and Cleveland and Hungarian pass it (VA declines on consent, before any contract check).
    expect(m1?.lineage.contractChecks).toMatchObject({ passed: true, checked: 9, passedChecks: 6, declined: 3, violations: 3 });
    expect(m1?.lineage.contractChecks?.perRound).toEqual([1, 2, 3].map((round) => ({ round, checked: 3, passed: 2, declined: 1 })));
    // Switzerland fails the contract (cholesterol 0) and VA declines on consent: the two others train.
    for (const p of m1?.lineage.participation ?? []) expect(p.organisations).toEqual(['cleveland', 'hungarian']);
    expect(m1?.lineage.fairness?.passed).toBe(true);
    // The registered artifact holds exactly the job's final weights.
    expect(Array.from(loadModelArtifact(state.dir, v1.version).weights)).toEqual(Array.from(first.result.weights));

    for (const r of first.result.rounds) expect(r.declined.find((d) => d.orgId === 'va')?.code).toBe('CONSENT_PURPOSE');
    const jobId = first.result.jobId;
    const declines = readAuditEntries(db, { action: AUDIT_ACTIONS.clientDeclined }).filter((e) => e.subject.startsWith(`${jobId}/`) && (e.details as { organisation?: string }).organisation === 'va');
    expect(declines.map((e) => e.subject)).toEqual([1, 2, 3].map((r) => `${jobId}/${r}`));
    expect(declines[0]?.details).toMatchObject({ code: 'CONSENT_PURPOSE', client: 'client-va' });
    const actions = readAuditEntries(db).filter((e) => e.subject === jobId || e.subject.startsWith(`${jobId}/`) || e.subject === v1.version).map((e) => e.action);
    expect(actions.filter((a) => a !== AUDIT_ACTIONS.clientDeclined)).toEqual(['job.created', 'job.started', 'round.committed', 'round.committed', 'round.committed', 'job.stopped', 'model.registered']);
  });

  it('serves only what the gate let through, at each stage, from the registered weights', async () => {
    const v1 = first.registered?.version as string;
    const v2 = second.registered?.version as string;
    const officerKey = join(state.dir, 'officer.key');
    const ownerKey = join(state.dir, 'owner.key');
    expect((await Promise.all([tessera('keys', 'generate', '--out', officerKey), tessera('keys', 'generate', '--out', ownerKey)])).map((r) => r.code)).toEqual([0, 0]);
    // The registry is bootstrapped once by its founding admin; Mo is added with her signature.
    expect((await tessera('approvers', 'init', '--name', 'Olivia Officer', '--key', officerKey, '--roles', 'privacy-officer')).code).toBe(0);
    expect((await tessera('approvers', 'add', '--name', 'Mo Owner', '--public-key', `${ownerKey}.pub`, '--roles', 'model-owner', '--admin-key', officerKey)).code).toBe(0);

    // Nothing deployed: the API says so; the gate refuses v1 without approvals.
    const none = await fetch(`${server.url}/v1/models/heart/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: predictAuth }, body: JSON.stringify({ instances: rawInstances }) });
    expect(none.status).toBe(404);
    const refused = await tessera('deploy', '--model', v1, '--stage', 'production', '--json', '--key', ownerKey);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as { gate: { unmet: Array<{ code: string }> } }).gate.unmet.map((u) => u.code)).toEqual(['quorum-unmet', 'quorum-unmet', 'quorum-unmet']);

    const approvals = await Promise.all(
      [v1, v2].flatMap((v) => [
        tessera('approve', '--model', v.slice(0, 16), '--role', 'privacy-officer', '--key', officerKey, '--expires', '30d'),
        tessera('approve', '--model', v.slice(0, 16), '--role', 'model-owner', '--key', ownerKey),
      ]),
    );
    expect(approvals.map((r) => r.code)).toEqual([0, 0, 0, 0]);

    // Production: v1 answers, with v1's probabilities.
    expect((await tessera('deploy', '--model', v1, '--stage', 'production', '--key', ownerKey)).code).toBe(0);
    const p1 = await predict();
    expect(p1).toMatchObject({ model: 'heart', version: v1, stage: 'production' });
    const want1 = expectedProbabilities(v1);
    p1.predictions.forEach((row, i) => row.forEach((p, k) => expect(p).toBeCloseTo(want1[i]?.[k] ?? NaN, 5)));

    // Canary at 10%: a random share of requests (CSPRNG; Binomial(200, 0.1), mean 20, sd 4.2) goes to v2, with v2's answers.
    const canary = await tessera('deploy', '--model', v2, '--stage', 'canary', '--percent', '10', '--json', '--key', ownerKey);
    expect(canary.code).toBe(0);
    const answers = [];
    for (let i = 0; i < 200; i++) answers.push(await predict());
    const toCanary = answers.filter((a) => a.version === v2);
    expect(toCanary.length).toBeGreaterThan(0);
    expect(toCanary.length).toBeLessThan(45);
    expect(toCanary.every((a) => a.stage === 'canary')).toBe(true);
    const want2 = expectedProbabilities(v2);
    toCanary[0]?.predictions.forEach((row, i) => row.forEach((p, k) => expect(p).toBeCloseTo(want2[i]?.[k] ?? NaN, 5)));
    expect(answers.filter((a) => a.version === v1).every((a) => a.stage === 'production')).toBe(true);

    expect((await tessera('deploy', '--model', v2, '--stage', 'production', '--key', ownerKey)).code).toBe(0);
    expect(await predict()).toMatchObject({ version: v2, stage: 'production' });

    const back = await tessera('rollback', '--name', 'heart', '--reason', 'recall dropped on the canary cohort', '--key', ownerKey);
    expect(back.code).toBe(0);
    const after = await predict();
    expect(after).toMatchObject({ version: v1, stage: 'production' });
    after.predictions.forEach((row, i) => row.forEach((p, k) => expect(p).toBeCloseTo(want1[i]?.[k] ?? NaN, 5)));
  }, 180_000);

  it('verifies the audit log after the real jobs and names an entry edited in SQLite', async () => {
    const ok = await tessera('audit', 'verify', '--json');
    expect(ok.code).toBe(0);
    const verdict = JSON.parse(ok.stdout) as { ok: boolean; entries: number; firstBadEntry: number | null };
    expect(verdict).toMatchObject({ ok: true, firstBadEntry: null });
    expect(verdict.entries).toBeGreaterThan(20);

    // Someone with the database file rewrites a round's entry (its ε charge and organisations): the chain breaks there.
    const raw = new Database(databasePath(state.dir));
    const seq = raw.prepare("SELECT seq FROM audit_log WHERE action = 'round.committed' ORDER BY seq LIMIT 1").pluck().get() as number;
    raw.exec('DROP TRIGGER audit_log_no_update');
    raw.prepare('UPDATE audit_log SET details = ? WHERE seq = ?').run(JSON.stringify({ round: 1, epsilonCharge: 0, organisations: ['cleveland'] }), seq);
    raw.close();
    const bad = await tessera('audit', 'verify', '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, firstBadEntry: seq });
    expect((JSON.parse(bad.stdout) as { reason: string }).reason).toContain(`entry ${seq}`);
  }, 60_000);
});
