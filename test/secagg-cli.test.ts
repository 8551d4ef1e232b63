/**
 * Secure aggregation as organisations deploy it: keys made with `tessera keys generate`, the roster built with
 * `tessera keys roster` and copied to each party (the coordinator's copy at <state>/secagg-identities.json),
 * three `tessera client` processes (Heart hospitals) holding their identity and their own roster copy, and a
 * coordinator that runs a secure job: every round's sum is unmasked from all three, and nothing else.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleJob } from '../coordinator/features/assemble.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { startCoordinator } from '../coordinator/server.ts';
import { readClientRoster } from '../governance/identity/client-roster.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');
const HOSPITALS = ['cleveland', 'hungarian', 'va'];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('secure aggregation with tessera client processes', () => {
  it('keys → roster → three client nodes → a secure job whose every round unmasks the sum of all three', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-secagg-cli-'));
    const state = join(dir, 'state');
    for (const h of HOSPITALS) await run(process.execPath, [BIN, 'keys', 'generate', '--out', join(dir, `${h}.key`)], { cwd: REPO_ROOT });
    await run(process.execPath, [BIN, 'keys', 'roster', '--out', join(dir, 'roster.json'), ...HOSPITALS.flatMap((h) => ['--client', `${h}-client=${join(dir, `${h}.key.pub`)}`, '--org', `${h}-client=${h}`])], { cwd: REPO_ROOT });
    const db = openDatabase(state);
    copyFileSync(join(dir, 'roster.json'), join(state, 'secagg-identities.json'));
    const logger = silentLogger();
    const server = await startCoordinator({ logger, port: 0, stateDir: state, db, roster: readClientRoster(join(state, 'secagg-identities.json')) });
    try {
      for (const h of HOSPITALS) {
        const rosterCopy = join(dir, `${h}-roster.json`);
        copyFileSync(join(dir, 'roster.json'), rosterCopy);
        const args = ['client', '--coordinator', server.url, '--org', h, '--dataset', 'heart', '--data', join(SHARED_DATA_DIR, 'heart', `processed.${h}.data`), '--identity', join(dir, `${h}.key`), '--roster', rosterCopy];
        children.push(spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' }, stdio: 'ignore' }));
      }
      await server.federation.waitForClients(3, 60_000);
      const spec = parseJobSpec({
        name: 'heart-secure',
        model: { kind: 'logistic', inputs: 15, classes: 2 },
        data: { dataset: 'heart' },
        rounds: 2,
        sampling: { mode: 'poisson', rate: 1 },
        // m = 2: with N = 3 organisations a neighbouring federation has 2, and a DP round is never re-sampled.
        minClients: 2,
        roundDeadlineMs: 30_000,
        consent: { required: false },
        // What the client nodes' strict default policy demands (docs/client-policy.md): distributed DP (the client
        // recomputes ε = 7.8 for q = 1, σ = 1, 2 rounds, under its cap of 10) and a malicious-coordinator threat
        // model with the consistency check; a weaker job would be declined by every node.
        dp: { enabled: true, placement: 'distributed', epsilon: 9, noiseMultiplier: 1 },
        secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
      });
      const jobId = 'heart-secure-1';
      const rng = seededRandom('secagg-cli');
      const model = buildModel(spec.model, { seed: spec.seed });
      const initialWeights = getFlatWeights(model);
      model.dispose();
      const result = await runJob({ jobId, spec, federation: server.federation, logger, rng, initialWeights, ...assembleJob({ jobId, spec, logger, rng, db, stateDir: state }) });
      expect(result.status).toBe('completed');
      for (const r of result.rounds) {
        expect(r.participantOrgs).toEqual(HOSPITALS);
        expect(r.extra.secagg).toMatchObject({ survivors: 3 });
        expect(r.trainLoss).toBeNull(); // per-client facts are not collected under secure aggregation
      }
      expect(Array.from(result.weights)).not.toEqual(Array.from(initialWeights));
      for (const c of children) c.kill('SIGINT');
    } finally {
      await server.close();
      db.close();
    }
  }, 180_000);
});
