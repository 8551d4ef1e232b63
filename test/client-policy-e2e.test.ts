/**
 * The client policy end to end (issue 10 §1, 5): a real `tessera client` process started with --identity/--roster,
 * --state and NO --policy (the strict default) is sampled by an honest coordinator for a job without secure
 * aggregation. It declines with TESSERA_ERR_POLICY_SECAGG_REQUIRED: the code is in the node's own output and in
 * the coordinator's round record, while a research-policy node in the same round trains; the node's handshake
 * carried no example count. And a job that meets the strict default (SecAgg for a malicious coordinator with
 * the consistency check, distributed DP) trains on Heart over real sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientNode } from '../client/node.ts';
import { standardClientMods } from '../client/mods/index.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import { PERMISSIVE_RESEARCH_POLICY } from '../client/policy/schema.ts';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { assembleJob } from '../coordinator/features/assemble.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { startCoordinator } from '../coordinator/server.ts';
import { loadDataset } from '../datasets/index.ts';
import { generateKeyFile, readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { clientRoster, clientRosterDocument } from '../governance/identity/client-roster.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tessera-policy-e2e-'));
const children: ChildProcess[] = [];

afterAll(() => {
  // Each client runs in its own process group: kill the whole group.
  for (const c of children) {
    try {
      if (c.exitCode === null && c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tessera client under the strict default policy', () => {
  it('declines a job without secure aggregation with a coded decline, in its output and in the round record', async () => {
    const logger = silentLogger();
    const key = generateKeyFile(join(dir, 'cleveland.key'));
    const roster = join(dir, 'roster.json');
    // One consortium roster (client id → key and organisation) for the coordinator's gate and the SecAgg roster.
    const research = generateKeyFile(join(dir, 'hungarian.key'));
    const rosterDoc = clientRosterDocument([
      { clientId: 'cleveland-client', orgId: 'cleveland', publicKey: key.publicKey },
      { clientId: 'hungarian-client', orgId: 'hungarian', publicKey: research.publicKey },
    ]);
    writeFileSync(roster, `${JSON.stringify(rosterDoc)}\n`);
    const server = await startCoordinator({ logger, port: 0, roster: clientRoster(rosterDoc) });
    const child = spawn(
      process.execPath,
      [BIN, 'client', '--coordinator', server.url, '--org', 'cleveland', '--dataset', 'heart', '--data', join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data'), '--identity', join(dir, 'cleveland.key'), '--roster', roster, '--state', join(dir, 'cleveland-state')],
      { cwd: REPO_ROOT, detached: true, env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await initBackend();
    const heart = loadDataset('heart', { seed: 1, dataDir: SHARED_DATA_DIR });
    const hungarian = heart.natural?.find((p) => p.name === 'hungarian')?.examples;
    if (!hungarian) throw new Error('no Hungarian split');
    const researchNode = new ClientNode({
      clientId: 'hungarian-client',
      orgId: 'hungarian',
      transport: socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: 'hungarian-client', orgId: 'hungarian', examples: hungarian.n }, identity: readPrivateKeyFile(join(dir, 'hungarian.key')) }),
      data: { train: hungarian },
      logger,
      mods: standardClientMods({ policy: PERMISSIVE_RESEARCH_POLICY }),
      disclosure: PERMISSIVE_RESEARCH_POLICY.disclose,
      turns: new TrainingTurns(),
    });
    try {
      await server.federation.waitForClients(2, 60_000);
      // The handshake of the default-policy node carries no example count (disclose.exampleCount is off).
      expect(server.federation.clients().find((c) => c.clientId === 'cleveland-client')?.examples).toBeUndefined();
      const spec = parseJobSpec({
        name: 'plain-heart',
        model: { kind: 'logistic', inputs: 15, classes: 2 },
        data: { dataset: 'heart' },
        rounds: 1,
        sampling: { mode: 'fixed', clientsPerRound: 2 },
        minClients: 1,
        roundDeadlineMs: 30_000,
        consent: { required: false },
      });
      const rng = seededRandom('policy-e2e');
      const model = buildModel(spec.model, { seed: spec.seed });
      const initialWeights = getFlatWeights(model);
      model.dispose();
      const result = await runJob({ jobId: 'plain-heart-1', spec, federation: server.federation, logger, rng, initialWeights, ...assembleJob({ jobId: 'plain-heart-1', spec, logger, rng }) });
      expect(result.status).toBe('completed');
      expect(result.rounds[0]?.participantOrgs).toEqual(['hungarian']);
      expect(result.rounds[0]?.declined.map((d) => `${d.orgId}:${d.code}`)).toEqual(['cleveland:TESSERA_ERR_POLICY_SECAGG_REQUIRED']);
      expect(result.rounds[0]?.declined[0]?.reason).toMatch(/^policy rule secagg\.required/);
      child.kill('SIGINT');
      expect(await exit).toBe(0);
      expect(output).toContain('TESSERA_ERR_POLICY_SECAGG_REQUIRED');
      expect(output).toContain('policy: default');
    } finally {
      researchNode.close();
      await server.close();
    }
  }, 120_000);

  it('trains a job that meets the strict default: SecAgg for a malicious coordinator, consistency check, distributed DP', async () => {
    const sim = await runSimulation(
      {
        dataset: 'heart',
        dataDir: SHARED_DATA_DIR,
        rounds: 2,
        seed: 3,
        transport: 'socket',
        samplingRate: 1,
        deadlineMs: 30_000,
        clientPolicy: { version: 1 },
        job: {
          secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform', clipRange: 10 },
          dp: { enabled: true, epsilon: 10, noiseMultiplier: 1, clipNorm: 1 },
        },
      },
      { logger: silentLogger() },
    );
    expect(sim.clientPolicy).toBe('simulate --client-policy');
    expect(sim.result.status).toBe('completed');
    for (const r of sim.result.rounds) {
      // Switzerland's rows fail the Heart contract; the three others pass the policy and are in the secure sum.
      expect(r.participants).toBe(3);
      expect(r.declined.map((d) => d.code)).toEqual(['TESSERA_ERR_CONTRACT_VIOLATION']);
      expect(r.trainLoss).toBeNull();
    }
  }, 120_000);
});
