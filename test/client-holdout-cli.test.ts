/**
 * Held-out evaluation by default, as organisations run it: two real `tessera client` processes (Heart hospitals,
 * real files from ../shared/data, keys from `tessera keys generate`) take part in a plain job of a coordinator on
 * 127.0.0.1 that has no central test set, so every round ends with a federated evaluation on the clients' data.
 *
 *  - Cleveland runs with the defaults: it keeps the job's held-out split (fairness.heldOutFraction of its rows,
 *    drawn from the job seed and its client id, client/held-out-split.ts), trains on the rest and answers each
 *    evaluation from exactly that split — the `examples` it reports equal the split recomputed here from the same
 *    file, and its log says it evaluated on held-out rows.
 *  - Hungarian runs with --no-holdout: it trains on every row and DECLINES every evaluation task with
 *    TESSERA_ERR_NO_HELD_OUT. Before, it answered them from its training rows, and the coordinator summed that
 *    training accuracy into the round's "held-out" figures (what the registry records and the gate checks).
 *
 * The coordinator's inbound messages are kept (the Federation's handler, passed through) to see what each sent.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { heldOutSplitForJob } from '../client/held-out-split.ts';
import { assembleJob } from '../coordinator/features/assemble.ts';
import { Federation } from '../coordinator/federation.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { startCoordinator } from '../coordinator/server.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { readExamples } from '../governance/contract/load.ts';
import { readClientRoster } from '../governance/identity/client-roster.ts';
import { openDatabase } from '../governance/state/database.ts';
import { createLogger, silentLogger } from '../lib/logger.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tessera-client-holdout-'));
const children: ChildProcess[] = [];
const output = new Map<string, string>();

afterAll(() => {
  // Each client runs in its own process group: kill the group, whatever it started.
  for (const c of children) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const field = (m: unknown, k: string): unknown => (typeof m === 'object' && m !== null ? (m as Record<string, unknown>)[k] : undefined);

describe('tessera client evaluates on held-out rows only', () => {
  it('answers evaluations from its seeded held-out split by default, and declines them with --no-holdout', async () => {
    const hospitals = { cleveland: [] as string[], hungarian: ['--no-holdout'] };
    for (const h of Object.keys(hospitals)) await run(process.execPath, [BIN, 'keys', 'generate', '--out', join(dir, `${h}.key`)], { cwd: REPO_ROOT });
    await run(process.execPath, [BIN, 'keys', 'roster', '--out', join(dir, 'roster.json'), ...Object.keys(hospitals).flatMap((h) => ['--client', `${h}-client=${join(dir, `${h}.key.pub`)}`, '--org', `${h}-client=${h}`])], { cwd: REPO_ROOT });
    // A research policy that admits a plain, example-weighted job (the strict default requires secure aggregation and DP).
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ version: 1, secagg: { required: false }, dp: { required: false }, disclose: { exampleCount: true } }));
    const state = join(dir, 'state');
    const db = openDatabase(state);
    const logger = process.env.DEBUG_HOLDOUT ? createLogger() : silentLogger();
    const server = await startCoordinator({ logger, port: 0, stateDir: state, db, roster: readClientRoster(join(dir, 'roster.json')) });
    const wire: Array<{ clientId: string; message: unknown }> = [];
    const proto = Federation.prototype as unknown as { onMessage: (clientId: string, connection: unknown, raw: unknown) => void };
    const original = proto.onMessage;
    const spy = vi.spyOn(proto, 'onMessage').mockImplementation(function (this: unknown, clientId: string, connection: unknown, raw: unknown) {
      wire.push({ clientId, message: raw });
      original.call(this, clientId, connection, raw);
    });
    try {
      for (const [h, extra] of Object.entries(hospitals)) {
        const args = ['client', '--coordinator', server.url, '--org', h, '--dataset', 'heart', '--data', join(SHARED_DATA_DIR, 'heart', `processed.${h}.data`), '--identity', join(dir, `${h}.key`), '--policy', join(dir, 'policy.json'), ...extra];
        const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, detached: true, env: { ...process.env, TESSERA_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
        output.set(h, '');
        const keep = (d: Buffer): void => void output.set(h, (output.get(h) ?? '') + d.toString());
        child.stdout?.on('data', keep);
        child.stderr?.on('data', keep);
        children.push(child);
      }
      await server.federation.waitForClients(2, 60_000);
      const spec = parseJobSpec({
        name: 'heart-holdout',
        model: { kind: 'logistic', inputs: 15, classes: 2 },
        data: { dataset: 'heart' },
        rounds: 2,
        seed: 7,
        sampling: { mode: 'fixed', clientsPerRound: 2 },
        minClients: 1,
        roundDeadlineMs: 30_000,
        consent: { required: false },
      });
      const rng = seededRandom('client-holdout');
      const model = buildModel(spec.model, { seed: spec.seed });
      const initialWeights = getFlatWeights(model);
      model.dispose();
      const result = await runJob({ jobId: 'heart-holdout-1', spec, federation: server.federation, logger, rng, initialWeights, ...assembleJob({ jobId: 'heart-holdout-1', spec, logger, rng, db, stateDir: state }) });
      expect(result.status, `${result.message} ${output.get('cleveland')?.slice(-3000) ?? ''}`).toBe('completed');

      // Cleveland's held-out split, recomputed from the same file, job and client id.
      const { examples } = readExamples(loadBuiltinContract('heart'), join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data'));
      const heldOut = heldOutSplitForJob(examples, spec, 'cleveland-client').heldOut?.n ?? NaN;
      expect(heldOut).toBe(Math.round(spec.fairness.heldOutFraction * examples.n));

      const of = (clientId: string, type: string): unknown[] => wire.filter((w) => w.clientId === clientId && field(w.message, 'type') === type).map((w) => w.message);
      // Both trained in both rounds.
      expect(of('cleveland-client', 'update')).toHaveLength(2);
      expect(of('hungarian-client', 'update')).toHaveLength(2);
      // Cleveland evaluated each round on exactly its held-out rows …
      const evaluations = of('cleveland-client', 'evaluate-result');
      expect(evaluations.length).toBeGreaterThanOrEqual(2);
      for (const e of evaluations) expect(field(e, 'examples')).toBe(heldOut);
      // … Hungarian, keeping none, declined every evaluation with the code and answered none.
      expect(of('hungarian-client', 'evaluate-result')).toEqual([]);
      const declines = of('hungarian-client', 'decline').map((d) => field(field(d, 'reason'), 'code'));
      expect(declines.length).toBeGreaterThanOrEqual(2);
      expect(new Set(declines)).toEqual(new Set(['TESSERA_ERR_NO_HELD_OUT']));
      // So the round's federated evaluation is Cleveland's held-out rows alone.
      for (const r of result.rounds) expect(r.extra.federatedEvaluation).toMatchObject({ examples: heldOut, clients: 1 });

      // Each node says what it evaluates on: at start, and (Cleveland) at each evaluation.
      expect(output.get('cleveland')).toContain("evaluating on each job's held-out split");
      expect(output.get('cleveland')).toContain(`evaluating on ${heldOut} held-out rows (kept out of training; ${examples.n - heldOut} rows train)`);
      expect(output.get('hungarian')).toContain('training on every row and declining evaluation (--no-holdout)');
      expect(output.get('hungarian')).toContain('TESSERA_ERR_NO_HELD_OUT');
    } finally {
      spy.mockRestore();
      await server.close();
      db.close();
    }
  }, 180_000);
});
