/**
 * The reproducibility manifest of a simulation (issue 18 §5): what someone needs to say "this is the same run" —
 * the code (commit, lockfile), the data (a SHA-256 of every file of the data set's directory), the runtime (Node,
 * TensorFlow.js and its wasm backend, the backend in use), the seed, the job spec's RFC 8785 hash, the exact
 * configuration (what `tessera simulate --replay` runs again) and a fingerprint of the result (the final weights'
 * SHA-256 and each round's figures) that the replay compares against.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defaultDataDir } from '../datasets/index.ts';
import { mnistDir } from '../datasets/mnist.ts';
import { canonicalHash } from '../lib/canonical-json.ts';
import { sha256Hex } from '../lib/hash.ts';
import type { RoundRecord } from '../coordinator/round-records.ts';
import type { SimulationResult } from './simulate.ts';

/** The repository root (this file lives in simulations/). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One round's figures in the fingerprint: what a replay must reproduce exactly. */
export const RoundFingerprint = z.strictObject({
  round: z.number().int(),
  participants: z.number().int(),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  epsilon: z.number().nullable(),
});
export type RoundFingerprint = z.infer<typeof RoundFingerprint>;

export const Manifest = z.object({
  manifestVersion: z.literal(1),
  commit: z.object({ hash: z.string().nullable(), dirty: z.boolean().nullable() }),
  lockfileSha256: z.string().nullable(),
  data: z.object({ dataset: z.string(), dir: z.string(), files: z.array(z.object({ name: z.string(), bytes: z.number().int(), sha256: z.string() })) }),
  runtime: z.object({ node: z.string(), tfjs: z.string().nullable(), tfjsBackendWasm: z.string().nullable(), backend: z.string(), simd: z.boolean().nullable() }),
  seed: z.union([z.string(), z.number()]),
  jobSpecSha256: z.string(),
  /**
   * False when something a replay cannot reproduce entered the run: DP noise or secure-aggregation randomness
   * from the CSPRNG (pass --seeded-noise for a reproducible, NOT private run), or a resumed state directory.
   */
  reproducible: z.boolean(),
  notReproducibleBecause: z.string().nullable(),
  /** The configuration as run (simulations/simulate.ts SimulationConfig). */
  simulation: z.record(z.string(), z.unknown()),
  result: z.object({ status: z.string(), weightsSha256: z.string(), rounds: z.array(RoundFingerprint) }),
});
export type Manifest = z.infer<typeof Manifest>;

function git(args: readonly string[]): string | null {
  try {
    return execFileSync('git', [...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | null {
  const file = join(ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(file)) return null;
  const parsed = z.object({ version: z.string() }).safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data.version : null;
}

/** The directory a data set's files are read from (the loaders' own resolution). */
function datasetDir(dataset: string, dataDir: string | undefined): string {
  return dataset === 'mnist' ? mnistDir(dataDir) : join(dataDir ?? defaultDataDir(), dataset);
}

/** SHA-256 of every regular file in the data set's directory, by name. */
export function dataFileHashes(dataset: string, dataDir: string | undefined): Manifest['data'] {
  const dir = datasetDir(dataset, dataDir);
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile()).sort() : [];
  return { dataset, dir, files: names.map((name) => { const bytes = readFileSync(join(dir, name)); return { name, bytes: bytes.byteLength, sha256: sha256Hex(bytes) }; }) };
}

export function roundFingerprints(rounds: readonly RoundRecord[]): RoundFingerprint[] {
  return rounds.map((r) => ({ round: r.round, participants: r.participants, accuracy: r.accuracy, loss: r.loss, epsilon: r.extra.privacy?.epsilon ?? null }));
}

function reproducibility(sim: SimulationResult): string | null {
  const c = sim.runConfig;
  if (!c.seededNoise && sim.job.dp.enabled) return 'DP noise was drawn from the CSPRNG (use --seeded-noise for a reproducible, NOT private run)';
  if (!c.seededNoise && sim.job.secagg.enabled) return 'secure-aggregation randomness was drawn from the CSPRNG (use --seeded-noise)';
  if (c.stateDir !== undefined && (sim.result.rounds[0]?.round ?? 1) > 1) return 'the run resumed a job from its state directory';
  return null;
}

export function buildManifest(sim: SimulationResult): Manifest {
  const why = reproducibility(sim);
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  const lockfile = join(ROOT, 'package-lock.json');
  const { stateDir: _state, fresh: _fresh, ...simulation } = sim.runConfig;
  return {
    manifestVersion: 1,
    commit: { hash: git(['rev-parse', 'HEAD']), dirty: status === null ? null : status !== '' },
    lockfileSha256: existsSync(lockfile) ? sha256Hex(readFileSync(lockfile)) : null,
    data: dataFileHashes(sim.runConfig.dataset, sim.runConfig.dataDir),
    runtime: { node: process.version, tfjs: packageVersion('@tensorflow/tfjs'), tfjsBackendWasm: packageVersion('@tensorflow/tfjs-backend-wasm'), backend: sim.backend.name, simd: sim.backend.simd ?? null },
    seed: sim.runConfig.seed,
    jobSpecSha256: canonicalHash(JSON.parse(JSON.stringify(sim.job))),
    reproducible: why === null,
    notReproducibleBecause: why,
    simulation,
    result: { status: sim.result.status, weightsSha256: weightsHash(sim.result.weights), rounds: roundFingerprints(sim.result.rounds) },
  };
}

export function weightsHash(w: Float32Array): string {
  return sha256Hex(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
}
