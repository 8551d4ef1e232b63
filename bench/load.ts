/**
 * `npm run bench -- load`: how many clients one coordinator holds (issue 14 §4). A real `tessera coordinator`
 * process (state directory, roster, DP + secure aggregation under the malicious-secure defaults) and one or two
 * client processes (bench/load-clients.ts) whose nodes each prove their own roster key over their own socket on
 * 127.0.0.1. Cases: n = 1,000 at a tiny model (d = 18), and n = 100 at d = 10⁴ and 10⁵. One case only:
 * `npm run bench -- load --clients=N --dim=D [--rounds=R] [--processes=P] [--log=FILE]` (d = 2·features + 2, even,
 * ≥ 6; FILE receives the coordinator's log; TESSERA_LOAD_CLIENT_LOG=1 makes the client processes log their warnings and
 * a progress line to stderr).
 *
 * All clients connect from one address, so the coordinator's per-address cap (64 by default, against one host
 * opening many connections) is raised with its documented flag `--max-connections-per-address`, and the total
 * cap with `--max-connections`: a bench on one machine is exactly the case those caps are there to stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientRosterDocument } from '../governance/identity/client-roster.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { openDatabase } from '../governance/state/database.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { planNoiseMultiplier } from '../privacy/accountant/index.ts';
import { peakRssMb, type LoadClientsConfig } from './load-clients.ts';

export interface LoadCase {
  readonly clients: number;
  readonly dim: number;
  readonly rounds: number;
  readonly processes: number;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const DEFAULT_CASES: readonly LoadCase[] = [
  { clients: 1000, dim: 18, rounds: 3, processes: 2 },
  { clients: 100, dim: 10_000, rounds: 3, processes: 1 },
  { clients: 100, dim: 100_000, rounds: 3, processes: 1 },
];
/** Rows per client: a full batch of a tiny local data set (fewer at large d, where each row is d/2 floats). */
const rowsFor = (dim: number): number => (dim > 20_000 ? 4 : 16);
const EPSILON = 8;
const DELTA = 1e-5;

const round1 = (x: number): number => Math.round(x * 10) / 10;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The job: DP (distributed noise) + SecAgg+ with the job-spec defaults the client's default policy demands. */
function jobSpec(c: LoadCase, features: number): object {
  // σ for ε ≤ 8 after `rounds` rounds at q = 1, converted at 0.9·δ: 10 % of δ is the short-round reserve
  // (privacy/dp/underfill.ts); rounded up so the ledger's own recomputation stays within the budget.
  const sigma = Math.ceil(planNoiseMultiplier({ epsilon: EPSILON, delta: 0.9 * DELTA, samplingRate: 1, steps: c.rounds }).noiseMultiplier * 1e5) / 1e5;
  return {
    name: `load-${c.clients}-${c.dim}`,
    purpose: 'research',
    model: { kind: 'logistic', inputs: features, classes: 2 },
    data: { dataset: 'csv' },
    rounds: c.rounds,
    sampling: { mode: 'poisson', rate: 1 },
    // m, the number of noise shares; 10 % of the clients may be missing from a round, as the default dropout rate assumes.
    minClients: Math.floor(c.clients * 0.9),
    // Per stage; generous, because on a loaded 2-core machine 1,000 clients training in turn take minutes.
    roundDeadlineMs: 1_800_000,
    training: { epochs: 1, batchSize: rowsFor(c.dim), learningRate: 0.1 },
    // Federated evaluation (also through secure aggregation) at the last round only; W = 100 keeps the
    // evaluation sum of 1,000 clients inside 2^32 (the default W = 10,000 allows 429).
    evaluation: { everyRounds: 0 },
    dp: { enabled: true, placement: 'distributed', epsilon: EPSILON, delta: DELTA, noiseMultiplier: sigma, clipNorm: 1 },
    secagg: { enabled: true, weighting: 'uniform', clipRange: 5, maxExamplesPerClient: 100 },
    consent: { required: false },
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    // already gone
  }
}

/** Collects a child's output line by line. */
function lines(child: ChildProcess, stream: 'stdout' | 'stderr', onLine: (line: string) => void): void {
  let buffered = '';
  child[stream]?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const p of parts) onLine(p);
  });
}

export async function benchLoadCase(c: LoadCase): Promise<Record<string, unknown>> {
  if (c.dim < 6 || c.dim % 2 !== 0) throw new Error(`--dim must be even and ≥ 6 (a logistic model over d/2 − 1 features), got ${c.dim}`);
  const features = c.dim / 2 - 1;
  const dir = mkdtempSync(join(tmpdir(), 'tessera-load-'));
  const children: ChildProcess[] = [];
  const loadStart = loadavg();
  try {
    // Throw-away keys for this run only (never printed); the roster admits exactly them.
    const ids = Array.from({ length: c.clients }, (_, i) => `load-${String(i).padStart(4, '0')}`);
    const seeds = ids.map(() => new Uint8Array(randomBytes(32)));
    const roster = join(dir, 'roster.json');
    writeFileSync(roster, JSON.stringify(clientRosterDocument(ids.map((clientId, i) => ({ clientId, orgId: clientId, publicKey: keyPairFromSeed(seeds[i] as Uint8Array).publicKey })))), { mode: 0o600 });
    const job = join(dir, 'job.json');
    writeFileSync(job, JSON.stringify(jobSpec(c, features)));
    const state = join(dir, 'state');
    const cap = String(c.clients + 64);
    const coordinator = spawn(
      process.execPath,
      ['bin/tessera.mjs', 'coordinator', '--job', job, '--port', '0', '--state', state, '--roster', roster, '--json', '--wait-clients-ms', '600000', '--max-connections', cap, '--max-connections-per-address', cap],
      { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TESSERA_LOG_LEVEL: 'info' } },
    );
    children.push(coordinator);
    // Peak resident sets (VmHWM) of every process, sampled here: a process's own report may never come.
    const peaks = new Map<number, number>();
    const sampler = setInterval(() => {
      for (const c of children) if (c.pid !== undefined) peaks.set(c.pid, Math.max(peaks.get(c.pid) ?? 0, peakRssMb(c.pid) ?? 0));
    }, 250);
    let stdout = '';
    const stderrTail: string[] = [];
    // --log=FILE keeps the coordinator's own log (pino JSON lines) for a post-mortem.
    const logFile = process.argv.find((a) => a.startsWith('--log='))?.slice('--log='.length);
    if (logFile !== undefined) coordinator.stderr?.pipe(createWriteStream(logFile));
    const url = new Promise<string>((resolve, reject) => {
      lines(coordinator, 'stderr', (l) => {
        stderrTail.push(l);
        if (stderrTail.length > 40) stderrTail.shift();
        const m = /coordinator listening on (\S+)/.exec(l);
        if (m) resolve(m[1] as string);
      });
      coordinator.once('exit', (code) => reject(new Error(`coordinator exited (${String(code)}) before listening: ${stderrTail.join('\n')}`)));
    });
    coordinator.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => coordinator.once('exit', (code) => resolve(code)));
    const base = await url;
    const t0 = performance.now();
    const per = Math.ceil(c.clients / c.processes);
    const reports: Array<Promise<Record<string, unknown>>> = [];
    const ready: Array<Promise<void>> = [];
    for (let p = 0; p < c.processes; p++) {
      const slice = ids.slice(p * per, (p + 1) * per);
      const cfg: LoadClientsConfig = { url: base, roster, features, rows: rowsFor(c.dim), clients: slice.map((clientId) => ({ clientId, seed: Buffer.from(seeds[ids.indexOf(clientId)] as Uint8Array).toString('hex') })) };
      const file = join(dir, `clients-${p}.json`);
      writeFileSync(file, JSON.stringify(cfg), { mode: 0o600 });
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load-clients.ts', file], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      let isReady: () => void = () => {};
      ready.push(new Promise<void>((r) => (isReady = r)));
      reports.push(
        new Promise((resolve) => {
          lines(child, 'stdout', (l) => {
            if (l === 'ready') isReady();
            else if (l.startsWith('{')) resolve(JSON.parse(l) as Record<string, unknown>);
          });
          child.once('exit', () => resolve({}));
        }),
      );
    }
    // The coordinator starts at minClients connected; a client refused at its handshake never says `ready`.
    await Promise.race([Promise.all(ready), exited]);
    const connectMs = performance.now() - t0;
    const code = await exited;
    const wallMs = performance.now() - t0;
    for (const child of children.slice(1)) killGroup(child, 'SIGTERM');
    // A client process busy with reconnecting nodes may answer SIGTERM late; its bytes are then missing.
    const clientReports = await Promise.all(reports.map((r) => Promise.race([r, new Promise<Record<string, unknown>>((res) => setTimeout(() => res({}), 15_000))])));
    clearInterval(sampler);
    const coordinatorPeakMb = peaks.get(coordinator.pid as number) ?? 0;
    const summary = stdout.trim() === '' ? {} : (JSON.parse(stdout) as { jobId?: string; status?: string; message?: string });
    const db = openDatabase(state);
    const records = summary.jobId !== undefined ? roundRecords(db, summary.jobId) : [];
    db.close();
    const sent = clientReports.reduce((a, r) => a + Number(r.bytesSent ?? 0), 0);
    const received = clientReports.reduce((a, r) => a + Number(r.bytesReceived ?? 0), 0);
    const measured = records.length > 1 ? records.slice(1) : records; // round 1 warms up kernels and connections
    return {
      clients: c.clients,
      dim: c.dim,
      rounds: records.length,
      status: summary.status ?? `coordinator exit ${String(code)}`,
      message: summary.message ?? stderrTail.slice(-5).join('\n'),
      roundMs: records.map((r) => Math.round(r.durationMs)),
      medianRoundMs: Math.round(median(measured.map((r) => r.durationMs))),
      participants: records.map((r) => r.participants),
      k: records[0]?.extra.secagg?.k,
      t: records[0]?.extra.secagg?.t,
      unmaskMs: records.map((r) => Math.round(r.extra.secagg?.serverUnmaskMs ?? Number.NaN)),
      epsilonSpent: records.at(-1)?.extra.privacy?.epsilon,
      coordinatorRssMb: round1(coordinatorPeakMb),
      clientProcesses: c.processes,
      clientProcessRssMb: children.slice(1).map((c) => round1(peaks.get(c.pid as number) ?? Number.NaN)),
      bytesPerClient: Math.round(sent / c.clients / Math.max(records.length, 1)),
      bytesReceivedPerClient: Math.round(received / c.clients / Math.max(records.length, 1)),
      clientErrors: clientReports.reduce((a, r) => a + Number(r.errors ?? 0), 0),
      clientsRefused: clientReports.reduce((a, r) => a + Number(r.refused ?? 0), 0),
      connectMs: Math.round(connectMs),
      wallMs: Math.round(wallMs),
      loadAverage: { start: loadStart.map(round1), end: loadavg().map(round1) },
    };
  } finally {
    for (const child of children) killGroup(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function flag(name: string): number | undefined {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : Number(a.slice(name.length + 3));
}

export async function benchLoad(): Promise<object> {
  const clients = flag('clients');
  const cases: readonly LoadCase[] =
    clients !== undefined ? [{ clients, dim: flag('dim') ?? 18, rounds: flag('rounds') ?? 3, processes: flag('processes') ?? (clients > 500 ? 2 : 1) }] : DEFAULT_CASES;
  const runs: Array<Record<string, unknown>> = [];
  for (const c of cases) {
    process.stderr.write(`load bench: ${c.clients} clients, d = ${c.dim}, ${c.rounds} rounds, ${c.processes} client process(es)…\n`);
    runs.push(await benchLoadCase(c));
  }
  return {
    benchmark: 'load',
    runs,
    notes: {
      setup: 'one tessera coordinator process (--state, --roster, DP distributed + SecAgg+ semi-malicious with the consistency check, Poisson q = 1, minClients 0.9 n) and client processes of real client nodes (own roster key each, default client policy, standard mods, local TF.js training on synthetic rows), all over websockets on 127.0.0.1',
      roundMs: 'each committed round\'s duration (sampling to commit); medianRoundMs leaves out round 1 (warm-up); the last round includes the secure federated evaluation',
      unmaskMs: 'the coordinator\'s time to reconstruct and strip the masks, per round',
      coordinatorRssMb: 'the coordinator process\'s peak resident set (VmHWM, sampled every 250 ms), TensorFlow.js and the state database included',
      clientProcessRssMb: 'each client process\'s peak resident set (all its nodes together)',
      bytesPerClient: 'bytes one client sends per round on average, as socket.io encodes them (simulations/traffic.ts wireBytes: the text part and the packed binary frame; engine.io and websocket framing not counted); bytesReceivedPerClient what it receives',
      loadAverage: 'the machine\'s 1/5/15-minute load averages when the case started and ended (other processes share the cores)',
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await benchLoad(), null, 2)}\n`);
}
