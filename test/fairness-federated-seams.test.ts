/**
 * The seams that carry fairness through a job, each against the real part: federated evaluation over the
 * in-memory federation sums the clients' count vectors exactly and refuses misaligned ones; the client mod
 * reweighs by (group, label) from the local split only when the job asks; the coordinator feature refuses a
 * job whose groups cannot be fixed in advance and records an unusable evaluation instead of a report; the
 * simulate CLI's --fairness/--reweighing flags (child process: exit codes, fairness.md and charts under --out).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { fairnessMod } from '../client/mods/fairness.ts';
import type { TaskContext } from '../client/mods/mod.ts';
import { fairnessFeature } from '../coordinator/features/fairness.ts';
import { federatedEvaluate, type FederatedEvaluation } from '../coordinator/federated-eval.ts';
import { Federation } from '../coordinator/federation.ts';
import type { Examples } from '../datasets/types.ts';
import { applyReweighing } from '../governance/fairness/reweighing.ts';
import { silentLogger } from '../lib/logger.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec, type JobSpec } from '../protocol/job/spec.ts';
import { ServerMessage, type TrainTask } from '../protocol/messages.ts';
import { encodeFloat32, encodeUint32 } from '../protocol/tensor.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const run = promisify(execFile);

function spec(fairness: Record<string, unknown>, data: Record<string, unknown> = { dataset: 'csv' }): JobSpec {
  return parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 3 }, roundDeadlineMs: 5_000, fairness });
}

const JOB = spec({ enabled: true, sensitive: ['sex'], groupValues: { sex: ['F', 'M'] }, calibrationBins: 0, maxIntersectionOrder: 1 });

describe('federatedEvaluate: fairness counts', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  /** Clients that answer every evaluate task with fixed sums and the given count vector (or none). */
  async function federation(vectors: ReadonlyArray<readonly number[] | undefined>): Promise<Federation> {
    const hub = createMemoryHub();
    const fed = new Federation(hub.server, silentLogger());
    vectors.forEach((v, i) => {
      const t: ClientTransport = hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: `c${i}`, orgId: `o${i}`, examples: 10, dataset: 'csv' });
      t.onMessage((raw) => {
        const m = ServerMessage.parse(raw);
        if (m.type !== 'evaluate') return;
        t.send({ type: 'evaluate-result', jobId: m.jobId, round: m.round, taskId: m.taskId, examples: 10, lossSum: 5, correct: 7 + i, ...(v ? { fairnessCounts: encodeUint32(Uint32Array.from(v)) } : {}) });
      });
      closers.push(() => t.close());
    });
    await fed.waitForClients(vectors.length, 2_000);
    return fed;
  }

  const evaluate = async (vectors: ReadonlyArray<readonly number[] | undefined>): Promise<FederatedEvaluation | null> => {
    const fed = await federation(vectors);
    return federatedEvaluate({ federation: fed, clients: fed.clients(), jobId: 'job-1', spec: JOB, round: 1, weights: new Float32Array(6) });
  };

  it('sums the vectors element-wise (hand sum: [1,2,3]+[10,20,30]+[100,200,300] = [111,222,333])', async () => {
    const e = await evaluate([[1, 2, 3], [10, 20, 30], [100, 200, 300]]);
    expect(e).toMatchObject({ examples: 30, clients: 3, accuracy: (7 + 8 + 9) / 30 });
    expect(Array.from(e?.fairnessCounts ?? [])).toEqual([111, 222, 333]);
    expect(e?.fairnessError).toBeUndefined();
  });

  it('refuses vectors of different lengths (different layouts) and names why', async () => {
    const e = await evaluate([[1, 2, 3], [1, 2]]);
    expect(e?.fairnessCounts).toBeUndefined();
    expect(e?.fairnessError).toMatch(/differ in length \(2 vs 3\)/);
    expect(e?.accuracy).toBe(15 / 20); // the plain figures are still there
  });

  it('refuses a partial sum when a client sent no counts', async () => {
    const e = await evaluate([[1, 2, 3], undefined]);
    expect(e?.fairnessCounts).toBeUndefined();
    expect(e?.fairnessError).toBe('1 of 2 evaluating clients sent no fairness counts');
  });

  it('has no fairness fields when nobody sent counts', async () => {
    const e = await evaluate([undefined, undefined]);
    expect(e).not.toHaveProperty('fairnessCounts');
    expect(e).not.toHaveProperty('fairnessError');
  });
});

describe('fairness client mod: reweighing', () => {
  // 6 rows: F has labels 1,0,0 and M has 1,1,0 — weights by Kamiran & Calders: w(g,y) = n_g·n_y/(N·n_gy)
  // F,1: 3·3/(6·1) = 1.5   F,0: 3·3/(6·2) = 0.75   M,1: 3·3/(6·2) = 0.75   M,0: 3·3/(6·1) = 1.5
  const data: Examples = { x: new Float32Array(12), y: Int32Array.from([1, 0, 0, 1, 1, 0]), n: 6, featureShape: [2], classes: 2, classNames: ['no', 'yes'], sensitive: { sex: ['F', 'F', 'F', 'M', 'M', 'M'], race: ['a', 'b', 'a', 'b', 'a', 'b'] } };
  const ctx = (fairness: Record<string, unknown>): TaskContext & { task: TrainTask } => {
    const job = spec(fairness);
    const task: TrainTask = { type: 'train', jobId: 'j', round: 1, taskId: 't', job, weights: encodeFloat32(new Float32Array(6)), deadlineMs: 1000 };
    return { task, clientId: 'c', orgId: 'o', logger: silentLogger() };
  };

  it('leaves the data alone when reweighing is off', () => {
    expect(fairnessMod().prepareTrainingData?.(data, ctx({ enabled: true, sensitive: ['sex'] }))).toBe(data);
  });

  it('sets Kamiran–Calders weights from the local (group, label) counts', () => {
    const out = fairnessMod().prepareTrainingData?.(data, ctx({ enabled: true, sensitive: ['sex'], reweighing: true }));
    expect(Array.from(out?.weights ?? [])).toEqual([1.5, 0.75, 0.75, 0.75, 0.75, 1.5]);
    expect(out?.y).toBe(data.y);
  });

  it('uses the intersection of every sensitive attribute unless reweighingAttributes narrows it', () => {
    const mod = fairnessMod();
    const both = mod.prepareTrainingData?.(data, ctx({ enabled: true, sensitive: ['sex', 'race'], reweighing: true }));
    expect(Array.from(both?.weights ?? [])).toEqual(Array.from(applyReweighing(data, { attributes: ['sex', 'race'] }).examples.weights ?? []));
    const sexOnly = mod.prepareTrainingData?.(data, ctx({ enabled: true, sensitive: ['sex', 'race'], reweighing: true, reweighingAttributes: ['sex'] }));
    expect(Array.from(sexOnly?.weights ?? [])).toEqual([1.5, 0.75, 0.75, 0.75, 0.75, 1.5]);
  });
});

describe('fairness coordinator feature', () => {
  const ctx = (s: JobSpec) => ({ jobId: 'job-1', spec: s, logger: silentLogger(), rng: seededRandom(1) });

  it('is absent when the job does not evaluate fairness', () => {
    expect(fairnessFeature(ctx(spec({})))).toBeNull();
  });

  it('refuses at assembly a job whose group values are declared nowhere', () => {
    expect(() => fairnessFeature(ctx(spec({ enabled: true, sensitive: ['sex'] })))).toThrow(/sex" has no declared values/);
  });

  it('takes the groups from the built-in contract the job names by hash', async () => {
    const { loadBuiltinContract } = await import('../datasets/contracts/index.ts');
    const { contractHash } = await import('../governance/contract/schema.ts');
    const s = spec({ enabled: true, sensitive: ['sex'] }, { dataset: 'heart', contractHash: contractHash(loadBuiltinContract('heart')) });
    expect(fairnessFeature(ctx(s))?.name).toBe('fairness');
  });

  it('records an unusable evaluation as {ok: false, error} rather than a report', () => {
    const f = fairnessFeature(ctx(JOB));
    const base = { loss: 0.5, accuracy: 0.7, examples: 30, clients: 3 };
    expect(f?.afterEvaluation?.(1, { ...base, fairnessError: 'count vectors differ in length (2 vs 3): different layouts' })).toEqual({ fairness: { ok: false, error: 'count vectors differ in length (2 vs 3): different layouts' } });
    // A sum of the wrong length for this job's layout (2 groups × 4 cells + overall = 12 cells).
    expect(f?.afterEvaluation?.(1, { ...base, fairnessCounts: new Uint32Array(5) })).toEqual({ fairness: { ok: false, error: 'count vector has 5 cells; the layout expects 12' } });
  });
});

describe('tessera simulate --fairness / --reweighing', () => {
  it('refuses --reweighing without sensitive attributes (exit 2)', async () => {
    const r = await run('node', ['bin/tessera.mjs', 'simulate', '--dataset', 'adult', '--reweighing'], { cwd: REPO_ROOT, timeout: 60_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 2 });
    expect((r as { stderr: string }).stderr).toMatch(/--reweighing needs the sensitive attributes/);
  });

  it('prints the per-group table and writes fairness.md and the charts under --out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-fair-'));
    const { stdout } = await run('node', ['bin/tessera.mjs', 'simulate', '--dataset', 'adult', '--data-dir', SHARED_DATA_DIR, '--clients', '4', '--rounds', '1', '--fairness', 'sex', '--reweighing', '--out', out], { cwd: REPO_ROOT, timeout: 280_000 });
    expect(stdout).toMatch(/### Selection rate by sex\n\n\| round \| Female \| Male \| demographicParityDifference \| policy \|/);
    expect(stdout).toMatch(/Reweighing: on \(sex\)/);
    expect(readFileSync(join(out, 'fairness.md'), 'utf8')).toMatch(/### True positive rate by sex/);
    for (const f of ['accuracy.svg', 'fairness-sex-selection-rate.svg', 'fairness-sex-tpr.svg']) {
      expect(existsSync(join(out, f))).toBe(true);
      expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    // About 7 s on CI; the CLI child ran past 120 s at load 29. The child's own bound stays below the test's.
  }, 300_000);
});
