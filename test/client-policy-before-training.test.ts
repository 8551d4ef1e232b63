/**
 * Issue 10: the client judges a round's secure-aggregation setup by its organisation's policy BEFORE it trains,
 * so a declined round costs no training. A deviating coordinator (test/support/policy-harness.ts: a real
 * coordinator server driven by hand, real sockets) sends a real ClientNode with real secure aggregation a train
 * task whose job spec meets the policy, then a setup below the policy's floors. The node must decline with the
 * documented code and never train: checked through its log (a pino stream at debug level, where the node
 * writes "local training done" after every training run) and through what it sent (no update, no key). A
 * control with a setup that passes the screen shows that the same log does record training, so the test can
 * fail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClientPolicy } from '../client/policy/schema.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { secAggRoundId } from '../privacy/secagg/round-id.ts';
import type { ClientMessage, ServerMessage } from '../protocol/messages.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { coordinator, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { startVictim, type Victim } from './support/policy-harness.ts';
import { waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
/** The default policy's secure-aggregation floors; DP not demanded, so a plain secure job is admitted and reaches the setup. */
const POLICY = parseClientPolicy({ version: 1, dp: { required: false } }, 'test policy');
const root = mkdtempSync(join(tmpdir(), 'tessera-policy-before-training-'));
let server: CoordinatorServer;

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** A victim whose log lines (JSON, debug level) are kept for the test to read. */
async function loggedVictim(id: string): Promise<{ v: Victim; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const v = startVictim(server, { id, stateDir: join(root, id), data: { train: mnistSlice(0, 256) }, policy: POLICY, secure: true, logger: pino({ level: 'debug' }, sink) });
  await waitUntilConnected(server, [id]);
  return { v, lines };
}

/** A job whose spec meets the default policy (malicious coordinator, consistency check). */
const secureJob = (pinned: { degree?: number; threshold?: number } = {}) =>
  logisticJob({ sampling: { mode: 'poisson', rate: 1 }, secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform', ...pinned } });

/** Sends a train task (task id `<nonce>.0`) and, right after it as the protocol does, the round's setup. */
async function taskThenSetup(v: Victim, o: { jobId: string; nonce: string; k: number; t: number; roster: string[]; pinned?: boolean }): Promise<ClientMessage> {
  // A weak setup comes from a spec that pins (k, t): the spec itself passes the policy mod, its setup does not.
  const job = o.pinned === true ? secureJob({ degree: o.k, threshold: o.t }) : secureJob();
  const task = { type: 'train' as const, jobId: o.jobId, round: 1, taskId: `${o.nonce}.0`, job, weights: encodeFloat32(new Float32Array(DIM)), deadlineMs: 30_000 };
  const reply = server.federation.request(v.id, task, 30_000);
  const setup: ServerMessage = {
    type: 'secagg',
    jobId: o.jobId,
    round: 1,
    taskId: task.taskId,
    message: { type: 'secagg.setup', roundId: secAggRoundId({ jobId: o.jobId, round: 1, kind: 'train', nonce: o.nonce }), clients: o.roster, index: 0, k: o.k, t: o.t, dim: DIM, modulusBits: 32, graphSeed: new Uint8Array(32), consistencyCheck: true },
  };
  server.federation.send(v.id, setup);
  return reply;
}

const trained = (lines: ReadonlyArray<Record<string, unknown>>): boolean => lines.some((l) => l.msg === 'local training done');

describe('the secure-aggregation setup is judged before local training', () => {
  it('a setup below the policy ((k, t) = (4, 3) pinned by the spec, n = 20) is declined with TESSERA_ERR_SECAGG_POLICY and the node never trains', async () => {
    const { v, lines } = await loggedVictim('screened-victim');
    try {
      const roster = [v.id, ...Array.from({ length: 19 }, (_, i) => `${v.id}-peer-${i + 1}`)];
      const reply = await taskThenSetup(v, { jobId: 'weak-setup', nonce: 'n-weak', k: 4, t: 3, roster, pinned: true });
      expect(reply.type === 'decline' ? reply.reason.code : reply.type).toBe('TESSERA_ERR_SECAGG_POLICY');
      expect(reply.type === 'decline' ? reply.reason.message : '').toMatch(/rule (threshold|connectivity)/);
      // Give a training run (≈ 256 MNIST rows, one epoch) time to show up if one had started.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(trained(lines)).toBe(false);
      expect(lines.some((l) => l.code === 'TESSERA_ERR_SECAGG_POLICY' && typeof l.msg === 'string' && /declined the round/.test(l.msg))).toBe(true);
      expect(v.sent.filter((m) => m.type === 'update' || m.type === 'secagg')).toEqual([]);
    } finally {
      v.close();
    }
  });

  it('control: a setup the policy accepts is screened, then the node trains (the log does show training)', async () => {
    const { v, lines } = await loggedVictim('control-victim');
    try {
      // The roster names peers this victim's roster does not know: the round stalls after training, at the
      // key exchange, which is all the control needs (the node trained and advertised its keys).
      const roster = [v.id, ...Array.from({ length: 19 }, (_, i) => `${v.id}-peer-${i + 1}`)];
      const { k, t } = planForJob(secureJob(), roster.length, DIM);
      const reply = await taskThenSetup(v, { jobId: 'ok-setup', nonce: 'n-ok', k, t, roster });
      expect(reply.type === 'decline' ? reply.reason.code : reply.type).toBe('secagg');
      expect(lines.some((l) => l.msg === "secure aggregation: setup accepted by this organisation's policy before local work")).toBe(true);
      expect(trained(lines)).toBe(true);
    } finally {
      v.close();
    }
  });
});
