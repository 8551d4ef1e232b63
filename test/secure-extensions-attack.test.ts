/**
 * Attack test for issue 21 §3 / issue 13 §5 ("under secure aggregation, no per-client feature value reaches the
 * coordinator"): three Heart hospitals whose data passes the built-in contract (Cleveland, Hungarian, VA; Janosi
 * et al. 1988 via ../shared/data) run REAL client nodes — the standard mods (contract check, DP with adaptive
 * clipping), local training, the real SecAgg+ client — over real sockets to a real coordinator transport on
 * 127.0.0.1, driven by the deviating coordinator harness (secagg-deviating-coordinator.ts), which keeps every
 * message the clients send. The organisations even opt in to training diagnostics (`disclose.trainingDiagnostics`),
 * which a plain update would carry. The harness then looks for what must stay hidden:
 *  - any client's drift statistics (its values, its row count), its clipped bit, its adaptive-clipping indicator
 *    or its example count anywhere outside the masked vector (keys, numbers, message types);
 *  - the values inside the masked vector: its extension tail differs from the client's encoded extension at every
 *    coordinate, and the harness's own reconstruction (secagg-recover.ts) fails for every victim.
 * The control gives the same nodes the same job WITHOUT secure aggregation: the harness then reads each client's
 * contract-check vector, indicator and clipped bit in the clear — so the search has the power to fail.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldOutSplitForJob } from '../client/held-out-split.ts';
import { standardClientMods } from '../client/mods/index.ts';
import { ClientNode } from '../client/node.ts';
import { memoryParticipationRecord } from '../client/policy/participation.ts';
import { PERMISSIVE_RESEARCH_POLICY, type ClientPolicy } from '../client/policy/schema.ts';
import { SecureAggregation } from '../client/secure-aggregation.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { checkData } from '../governance/contract/check.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { dataContractContribution, driftLayout } from '../governance/contract/drift-extension.ts';
import { readContractTable } from '../governance/contract/load.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { summariseForCoordinator } from '../governance/contract/summary.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { silentLogger } from '../lib/logger.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import { extensionsLength } from '../privacy/secagg/extension.ts';
import { updateExtensionsForJob } from '../privacy/secagg/extensions-for-job.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { parseJobSpec, type JobSpec } from '../protocol/job/spec.ts';
import { UpdateResult, type ClientMessage } from '../protocol/messages.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { runDeviatingRound } from './secagg-deviating-coordinator.ts';
import { tryRecover } from './secagg-recover.ts';
import { authenticatedTransport, coordinator } from './support/federation-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const HOSPITALS = ['cleveland', 'hungarian', 'va'] as const;
const ids = HOSPITALS.map((h) => `hospital-${h}`);
const contract = loadBuiltinContract('heart');
const layout = driftLayout(contract);
const POLICY: ClientPolicy = { ...PERMISSIVE_RESEARCH_POLICY, disclose: { exampleCount: false, trainingDiagnostics: true, declineDetail: false } };

function job(secagg: boolean): JobSpec {
  return parseJobSpec({
    name: 'secure-extensions-attack',
    model: { kind: 'logistic', inputs: 15, classes: 2 },
    data: { dataset: 'heart', contractHash: contractHash(contract) },
    rounds: 1,
    sampling: { mode: 'poisson', rate: 1 },
    minClients: 2,
    roundDeadlineMs: 20_000,
    training: { epochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    secagg: { enabled: secagg, weighting: 'uniform', clipRange: 10 },
    // Adaptive clipping with a C_0 below the update norms, so some clipped bits are set.
    dp: { enabled: true, placement: 'distributed', epsilon: 1000, delta: 1e-5, noiseMultiplier: 0.5, clipNorm: 0.05, adaptiveClipping: { enabled: true, countNoiseStd: 2, minClipNorm: 0.01, maxClipNorm: 100 } },
  });
}

/** Every key of a message's objects, and every number outside its binary fields (masked bytes are not read). */
function openParts(m: unknown, keys: Set<string>, numbers: number[]): void {
  if (m instanceof Uint8Array || m === null || typeof m !== 'object') {
    if (typeof m === 'number') numbers.push(m);
    return;
  }
  for (const [k, v] of Object.entries(m)) {
    if (!Array.isArray(m)) keys.add(k);
    openParts(v, keys, numbers);
  }
}

let server: CoordinatorServer;
const nodes: ClientNode[] = [];
const sent = new Map<string, ClientMessage[]>();
const encoded = new Map<string, Uint32Array>();
const local = new Map<string, { vector: number[]; driftValues: number[]; rows: number }>();
let updateLength = 0;

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  const identities = simulatedIdentities(ids, seededRandom(deriveSeed('secure-extensions-attack', 'identities')));
  const heart = loadDataset('heart', { dataDir: SHARED_DATA_DIR, seed: 7 });
  const turns = new TrainingTurns();
  const compiled = compileContract(contract);
  updateLength = getFlatWeights(buildModel(job(true).model, { seed: 1 })).length;
  HOSPITALS.forEach((h, i) => {
    const id = ids[i] as string;
    const part = heart.natural?.find((p) => p.name === h);
    if (!part) throw new Error(`no ${h} partition`);
    const table = readContractTable(contract, join(SHARED_DATA_DIR, 'heart', `processed.${h}.data`));
    const summary = summariseForCoordinator(checkData(compiled, table, { maxExamples: 0 }));
    expect(summary.passed).toBe(true);
    local.set(id, { vector: dataContractContribution(summary, layout, job(true)), driftValues: summary.drift.map((d) => d.value).filter((v) => !Number.isInteger(v)), rows: summary.rows });
    const transport = authenticatedTransport(server, id, undefined);
    const log: ClientMessage[] = [];
    sent.set(id, log);
    const wire = { ...transport, send: (m: ClientMessage) => (log.push(m), transport.send(m)) };
    const secure = new SecureAggregation({
      clientId: id,
      identity: identities.identityOf(id),
      resolveIdentity: identities.resolve,
      logger: silentLogger(),
      rng: seededRandom(deriveSeed('secure-extensions-attack', id)),
      policy: { required: false, minThreatModel: 'semi-honest', requireConsistencyCheck: false, dropoutRate: 0, corruptRate: 0, minClients: 2 },
      onEncoded: (_task, x) => encoded.set(id, x.slice()),
    });
    const mods = standardClientMods({ policy: POLICY, record: memoryParticipationRecord(), contract, table, rng: seededRandom(deriveSeed('noise', id)) });
    nodes.push(new ClientNode({ clientId: id, orgId: `org-${id}`, transport: wire, data: (j) => heldOutSplitForJob(part.examples, j, id), mods, secure, disclosure: POLICY.disclose, logger: silentLogger(), turns }));
  });
  await server.federation.waitForClients(ids.length, 20_000);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server?.close();
});

describe('a coordinator collecting everything a client sends under secure aggregation', () => {
  it('finds no drift statistic, clipped bit, indicator or example count outside the masked vector, and cannot unmask one', async () => {
    const spec = job(true);
    const extensions = updateExtensionsForJob(spec, layout.length);
    const run = await runDeviatingRound({ server, ids, job: spec, jobId: 'secure-extensions-attack', round: 1, updateLength, extensions, stageMs: 20_000 });
    expect(run.declines.size).toBe(0);
    expect(run.masked.size).toBe(ids.length);
    const tail = extensionsLength(extensions);
    expect(tail).toBe(2 + 5 * layout.length + 1);
    for (const [i, id] of ids.entries()) {
      const messages = sent.get(id) ?? [];
      // Only secure-aggregation envelopes: no update, no evaluation result, no decline.
      expect(messages.length).toBeGreaterThan(0);
      expect(messages.every((m) => m.type === 'secagg')).toBe(true);
      const keys = new Set<string>();
      const numbers: number[] = [];
      for (const m of messages) openParts(m, keys, numbers);
      for (const k of ['extensions', 'features', 'dataCheck', 'drift', 'rows', 'examples', 'clipped', 'unclippedIndicator', 'trainLoss', 'counts']) expect(keys.has(k)).toBe(false);
      const mine = local.get(id);
      if (!mine) throw new Error(`no local check for ${id}`);
      for (const v of mine.driftValues) expect(numbers).not.toContain(v);
      expect(numbers).not.toContain(mine.rows);
      // The client's extension really was in its input, and what it sent is masked at every coordinate.
      const input = encoded.get(id);
      const masked = run.masked.get(i);
      if (!input || !masked) throw new Error(`no masked input from ${id}`);
      const x = input.subarray(input.length - tail);
      const y = new Uint32Array(new Uint8Array(masked.vector).buffer).subarray(input.length - tail);
      expect(Array.from(x.subarray(0, 2))).toEqual([1, 1]); // checked, passed: the contract-check counts
      for (let j = 0; j < tail; j++) expect(y[j]).not.toBe(x[j]);
      // The harness's own reconstruction from everything collected fails.
      expect('failed' in tryRecover(run, i)).toBe(true);
    }
    // Nothing about the organisations' sizes in the handshake either (their policy keeps the example count).
    expect(server.federation.clients().filter((c) => ids.includes(c.clientId)).every((c) => c.examples === undefined)).toBe(true);
  }, 60_000);

  it('control: the same nodes and job without secure aggregation put each vector, indicator and clipped bit in the clear', async () => {
    const spec = job(false);
    const replies = await Promise.all(ids.map((id, i) => server.federation.request(id, { type: 'train', jobId: 'secure-extensions-control', round: 1, taskId: `control-${i}`, job: spec, weights: encodeFloat32(new Float32Array(updateLength)), deadlineMs: 20_000 }, 20_000)));
    for (const [i, r] of replies.entries()) {
      const u = UpdateResult.parse(r);
      expect(u.extensions?.dataContract).toEqual(local.get(ids[i] as string)?.vector);
      expect(u.extensions?.adaptiveClipping).toHaveLength(1);
      expect(typeof u.features?.dp?.clipped).toBe('boolean');
    }
  }, 60_000);
});
