/**
 * Wire fuzzing (issue 14 §5) over REAL sockets on 127.0.0.1 against a real coordinator with a real SQLite state
 * directory. The messages are mutations (test/support/fuzz-mutate.ts) of the messages an honest secure round
 * really carried — every client message (update, evaluate-result, decline, the five SecAgg+ client stages) and
 * every coordinator message (train task, the six SecAgg+ server messages) — plus random key-handshake payloads:
 *  1. to the coordinator, outside any round: each is answered with a coded error, or the connection is closed
 *     (the documented close for a message over the size limit); the state is unchanged and honest clients are
 *     still admitted;
 *  2. into a LIVE secure round, from an intruder that was not sampled (with the round's job and round ids) and
 *     as replays and out-of-stage messages from a participant: the round still ends with exactly the plain sum
 *     of its survivors, the intruder is never among them, and at most the replaying participant is dropped;
 *  3. to a real client node (default policy, participation record in a file): nothing crashes, its only
 *     answers are coded declines, and its participation record is unchanged;
 *  4. the key handshake: random handshake fields and proofs are refused with codes; none is admitted.
 * Soak: TESSERA_FUZZ_RUNS=2000 npx vitest run test/fuzz-wire.test.ts
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { secAggTrainingProtocol, type SecAggRoundReport } from '../coordinator/secagg-round.ts';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import type { Federation } from '../coordinator/federation.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { canonicalHash } from '../lib/canonical-json.ts';
import { AUTH_EVENT } from '../protocol/auth.ts';
import { parseJobSpec, type JobSpec } from '../protocol/job/spec.ts';
import type { ClientMessage, ServerMessage } from '../protocol/messages.ts';
import { encodeFloat32, encodeUint32 } from '../protocol/tensor.ts';
import { socketIoParser } from '../protocol/socketio-parser.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { clientIds, lightFederation, plainSum } from './secagg-socket-support.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { authenticatedTransport, consortium, logger } from './support/federation-fixtures.ts';
import { cloneMessage, deepJsonText, mutate, mutations } from './support/fuzz-mutate.ts';
import { fuzzParameters, isKnownCode, nastyString, stateSnapshot } from './support/fuzz.ts';
import { policyNode } from './support/policy-node.ts';
import { provenRawClient, type RawClient } from './support/raw-socket-client.ts';

const D = 20;
const state = tempStateDir('tessera-fuzz-wire-');
let db: Db;
let server: CoordinatorServer;
const clientTemplates: ClientMessage[] = [];
const serverTemplates: ServerMessage[] = [];
const CLIENT_TYPES = ['update', 'evaluate-result', 'decline', 'secagg', 'secagg.advertise', 'secagg.share-keys', 'secagg.masked-input', 'secagg.consistency-signature', 'secagg.unmask-shares'];
const SERVER_TYPES = ['train', 'evaluate', 'error', 'welcome', 'secagg', 'secagg.setup', 'secagg.keys', 'secagg.shares', 'secagg.consistency', 'secagg.unmask', 'secagg.abort'];

const job = (): JobSpec =>
  parseJobSpec({ name: 'fuzz', model: { kind: 'logistic', inputs: 9, classes: 2 }, data: { dataset: 'heart' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 1000 }, roundDeadlineMs: 30_000, secagg: { enabled: true, degree: 4, threshold: 3 } });
const update = (i: number): Float32Array => {
  const rng = seededRandom(deriveSeed('fuzz-updates', i));
  return Float32Array.from({ length: D }, () => 2 * rng.nextFloat() - 1);
};

/** The real federation, seeing each coordinator message before it leaves (to record it, or to inject around it). */
function watching(federation: Federation, onSend: (to: string, m: ServerMessage) => void): Federation {
  return new Proxy(federation, {
    get(target, prop) {
      if (prop === 'send') return (to: string, m: ServerMessage) => (onSend(to, m), target.send(to, m));
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

let roundNo = 0;
/** One SecAgg+ round of five light clients over the real sockets; `inject` runs before each coordinator message. */
async function secureRound(inject?: (to: string, m: ServerMessage, fed: ReturnType<typeof lightFederation>) => void): Promise<{ report: SecAggRoundReport; fed: ReturnType<typeof lightFederation> }> {
  roundNo++;
  const fed = lightFederation(server, { n: 5, seed: `fuzz-${roundNo}`, update, examples: () => 10 });
  try {
    await server.federation.waitForClients(5, 10_000);
    for (let i = 0; i < 200 && clientIds(5).some((id) => !server.federation.isConnected(id)); i++) await new Promise((r) => setTimeout(r, 25));
    let report: SecAggRoundReport | undefined;
    const protocol = secAggTrainingProtocol({ resolveIdentity: fed.identities.resolve, rng: seededRandom(`graph-${roundNo}`), onReport: (r) => (report = r) });
    const byId = new Map(server.federation.clients().map((c) => [c.clientId, c]));
    const selected = clientIds(5).map((id) => byId.get(id)).filter((c) => c !== undefined);
    const federation = watching(server.federation, (to, m) => inject?.(to, m, fed));
    await protocol.run({ jobId: 'job-fuzz', spec: job(), round: roundNo, selected, global: new Float32Array(D), federation, logger });
    if (report === undefined) throw new Error('no report');
    return { report, fed };
  } finally {
    fed.close();
    for (let i = 0; i < 200 && clientIds(5).some((id) => server.federation.isConnected(id)); i++) await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  db = openDatabase(state.dir);
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
  const { fed } = await secureRound((_to, m) => void serverTemplates.push(cloneMessage(m)));
  clientTemplates.push(...fed.clients.flatMap((c) => c.sent.map((m) => cloneMessage(m))));
  const ids = { jobId: 'job-fuzz', round: 1, taskId: 't-1' };
  // Tasks travel through Federation.assign, not send: the templates are written out (a secure job without DP,
  // which the default client policy declines — so a victim's answers stay declines unless a mutation makes a
  // job the policy accepts, which the assertions below would show).
  const weights = encodeFloat32(new Float32Array(D));
  // A task carrying its spec (the first of a connection) and one naming it by hash only (a later one).
  const specHash = canonicalHash(job());
  serverTemplates.push({ type: 'train', ...ids, specHash, job: job(), weights, deadlineMs: 5_000 }, { type: 'evaluate', ...ids, specHash, job: job(), weights, deadlineMs: 5_000 }, { type: 'train', ...ids, specHash, weights, deadlineMs: 5_000 });
  clientTemplates.push(
    { type: 'update', ...ids, update: encodeFloat32(new Float32Array(D)), examples: 10, trainLoss: 0.5, trainMillis: 3, features: { dp: { clipped: false } }, extensions: { adaptiveClipping: [0.5] } },
    { type: 'evaluate-result', ...ids, examples: 10, lossSum: 3.2, correct: 7, fairnessCounts: encodeUint32(new Uint32Array(4)) },
    { type: 'decline', ...ids, reason: { code: 'TESSERA_ERR_CONTRACT_VIOLATION', message: 'x', counts: { rows: 3 } } },
  );
}, 60_000);

afterAll(async () => {
  await server.close();
  db.close();
  state.cleanup();
});

/**
 * Emits an event; a message with deep nesting (too deep for socket.io-client's own encoder, which recurses) is
 * written to the engine as the socket.io text packet an attacker's client would send (`42["tessera",…]`), so
 * the coordinator's decoder still receives it.
 */
function emitRaw(c: RawClient, message: unknown): void {
  const { text, deep } = deepJsonText(['tessera', message]);
  if (deep) c.socket.io.engine.send(`42${text}`);
  else c.socket.emit('tessera', message);
}

/** Sends one message and resolves with the coordinator's answer: a coded error, or the connection's close. */
function answerTo(c: RawClient, message: unknown): Promise<{ kind: 'error'; code: unknown } | { kind: 'closed'; reason: string } | { kind: 'silent' }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done({ kind: 'silent' }), 3_000);
    const onMessage = (m: { type?: unknown; code?: unknown }): void => {
      if (m.type === 'error') done({ kind: 'error', code: m.code });
    };
    const onClose = (reason: string): void => done({ kind: 'closed', reason });
    const done = (a: { kind: 'error'; code: unknown } | { kind: 'closed'; reason: string } | { kind: 'silent' }): void => {
      clearTimeout(timer);
      c.socket.off('tessera', onMessage);
      c.socket.off('disconnect', onClose);
      resolve(a);
    };
    c.socket.on('tessera', onMessage);
    c.socket.on('disconnect', onClose);
    emitRaw(c, message);
  });
}

describe('wire fuzzing against a real coordinator', () => {
  it('answers every mutated, replayed or out-of-stage message outside a round with a coded error or a close, and changes nothing durable', async () => {
    const before = stateSnapshot(db, state.dir);
    let fuzzer = await provenRawClient(server.url, 'fuzzer', consortium.identityOf('fuzzer', 'org-fuzzer'), { orgId: 'org-fuzzer' });
    const answers = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat(clientTemplates.length - 1), mutations(CLIENT_TYPES), async (which, ops) => {
        if (!fuzzer.socket.connected) fuzzer = await provenRawClient(server.url, 'fuzzer', consortium.identityOf('fuzzer', 'org-fuzzer'), { orgId: 'org-fuzzer' });
        const a = await answerTo(fuzzer, mutate(clientTemplates[which], ops));
        answers.set(a.kind === 'error' ? String(a.code) : a.kind === 'closed' ? `closed: ${a.reason}` : 'silent', (answers.get(a.kind === 'error' ? String(a.code) : a.kind) ?? 0) + 1);
        expect(a.kind, JSON.stringify(ops).slice(0, 300)).not.toBe('silent');
        if (a.kind === 'error') expect(isKnownCode(a.code)).toBe(true);
      }),
      fuzzParameters(300),
    );
    fuzzer.close();
    expect([...answers.keys()]).toContain('TESSERA_ERR_MESSAGE_INVALID');
    expect([...answers.keys()]).toContain('TESSERA_ERR_UNEXPECTED_MESSAGE');
    expect(stateSnapshot(db, state.dir)).toBe(before);
    // Still admitting honest clients.
    (await provenRawClient(server.url, 'after-fuzz', consortium.identityOf('after-fuzz', 'org-after'), { orgId: 'org-after' })).close();
  }, 120_000);

  it('a live secure round survives an intruder and a replaying participant: exact sum of its survivors', async () => {
    const intruder = await provenRawClient(server.url, 'intruder', consortium.identityOf('intruder', 'org-intruder'), { orgId: 'org-intruder' });
    const secagg = clientTemplates.filter((m) => m.type === 'secagg');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(secagg.length - 1), mutations(CLIENT_TYPES)), { minLength: 1, maxLength: 6 }), fc.nat(4), async (shots, replayer) => {
        const { report, fed } = await secureRound((to, m, f) => {
          // Once per stage: around the coordinator's message to one other participant.
          if (m.type !== 'secagg' || to !== clientIds(5)[(replayer + 1) % 5]) return;
          // The intruder aims at the live round (its job and round ids); the participant replays what it sent.
          for (const [i, ops] of shots) emitRaw(intruder, mutate({ ...(secagg[i] as ClientMessage), jobId: m.jobId, round: m.round, taskId: m.taskId }, ops));
          const p = f.clients[replayer];
          for (const old of p?.sent ?? []) p?.transport.send(old);
        });
        expect(report.abort, JSON.stringify(report.abort)).toBeUndefined();
        expect(report.survivors).not.toContain('intruder');
        const honest = clientIds(5).filter((_, i) => i !== replayer);
        for (const id of honest) expect(report.survivors).toContain(id);
        expect(Array.from(report.sum as Uint32Array)).toEqual(Array.from(plainSum(fed.inputs, [...report.survivors], report.plan.dim)));
      }),
      fuzzParameters(6, 50),
    );
    intruder.close();
  }, 120_000);
});

describe('wire fuzzing against a real client node', () => {
  it('survives mutated coordinator messages: no crash, only coded declines, participation record unchanged', async () => {
    const records = mkdtempSync(join(tmpdir(), 'tessera-fuzz-node-'));
    const transport = authenticatedTransport(server, 'victim', 10, 'org-victim');
    const replies: ClientMessage[] = [];
    const recording = { ...transport, send: (m: ClientMessage) => (replies.push(m), transport.send(m)) };
    const identities = simulatedIdentities(['victim'], seededRandom('fuzz-victim'));
    const data = { train: { x: new Float32Array(9 * 10), y: new Int32Array(10), n: 10, featureShape: [9], classes: 2, classNames: ['0', '1'], sensitive: {} } };
    const { node } = policyNode({ id: 'victim', transport: recording, data, policy: DEFAULT_CLIENT_POLICY, identities, recordRoot: records });
    for (let i = 0; i < 200 && !server.federation.isConnected('victim'); i++) await new Promise((r) => setTimeout(r, 25));
    const snapshot = (): string => JSON.stringify(readdirSync(records, { recursive: true }).map(String).sort().map((f) => [f, (() => { try { return readFileSync(join(records, f), 'utf8'); } catch { return 'dir'; } })()]));
    const before = snapshot();
    await fc.assert(
      fc.asyncProperty(fc.nat(serverTemplates.length - 1), mutations(SERVER_TYPES), async (which, ops) => {
        expect(server.federation.send('victim', mutate(serverTemplates[which], ops, { deep: 1_000 }) as ServerMessage)).toBe(true);
        await new Promise((r) => setTimeout(r, 5));
      }),
      fuzzParameters(300),
    );
    await new Promise((r) => setTimeout(r, 500));
    // The fuzz reached the node's task handling (well-formed tasks among the mutations were declined).
    expect(replies.length).toBeGreaterThan(0);
    for (const r of replies) {
      expect(r.type).toBe('decline');
      if (r.type === 'decline') expect(isKnownCode(r.reason.code), r.reason.code).toBe(true);
    }
    expect(snapshot()).toBe(before);
    expect(server.federation.isConnected('victim')).toBe(true);
    node.close();
    rmSync(records, { recursive: true, force: true });
  }, 120_000);
});

describe('key-handshake fuzzing', () => {
  it('refuses random handshake fields and proofs with codes; admits none', async () => {
    const field = fc.oneof(nastyString(80), fc.integer(), fc.double(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
    const handshake = fc.record({ protocolVersion: fc.oneof(fc.constant(PROTOCOL_VERSION), field), clientId: fc.oneof(fc.constantFrom('fuzzer', 'client-000'), field), orgId: field, clientNonce: fc.oneof(field, fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'))), examples: field }, { requiredKeys: [] });
    const proof = fc.oneof(fc.record({ type: fc.constant('proof'), signature: fc.oneof(field, fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'))) }), fc.jsonValue({ maxDepth: 3 }));
    await fc.assert(
      fc.asyncProperty(handshake, proof, async (auth, p) => {
        const verdict = await new Promise<{ code: unknown; accepted: boolean }>((resolve) => {
          const s = io(server.url, { auth, transports: ['websocket'], reconnection: false, parser: socketIoParser });
          const finish = (v: { code: unknown; accepted: boolean }): void => (s.disconnect(), resolve(v));
          s.on('connect_error', (e: Error & { data?: { code?: unknown } }) => finish({ code: e.data?.code, accepted: false }));
          s.on(AUTH_EVENT, (m: { type?: unknown; code?: unknown }) => {
            if (m.type === 'challenge') s.emit(AUTH_EVENT, p);
            else finish({ code: m.code, accepted: m.type === 'accepted' });
          });
        });
        expect(verdict.accepted).toBe(false);
        expect(isKnownCode(verdict.code), String(verdict.code)).toBe(true);
      }),
      fuzzParameters(150),
    );
  }, 120_000);
});
