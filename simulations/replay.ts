/**
 * `tessera simulate --replay results.json` (issue 18 §5): runs again the simulation a results.json records and
 * checks that it reproduces it — the data files first (a different file is named before anything runs), then the
 * job spec's hash, every round's figures and the final weights' SHA-256. Differences in the environment (commit,
 * lockfile, Node or TensorFlow.js version) are reported beside the verdict: they may explain a mismatch, but a
 * replay that matches under them still matches.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { describeZodIssues, TesseraError } from '../protocol/errors.ts';
import { buildManifest, dataFileHashes, Manifest, type RoundFingerprint } from './manifest.ts';
import { runSimulation, SimulationConfig, type SimulationResult } from './simulate.ts';

export interface ReplayReport {
  readonly matched: true;
  readonly rounds: number;
  readonly weightsSha256: string;
  /** What differs in the environment between the recorded run and this one (not a failure). */
  readonly environmentDifferences: readonly string[];
  readonly replayed: SimulationResult;
}

/** Reads the manifest of a results.json (refused with TESSERA_ERR_REPLAY_INVALID when absent or malformed). */
export function readManifest(path: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_REPLAY_INVALID', `${path} is not a readable JSON file: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const parsed = z.object({ manifest: Manifest }).safeParse(raw);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_REPLAY_INVALID', `${path} holds no reproducibility manifest (write one with \`tessera simulate --out DIR\`): ${describeZodIssues(parsed.error.issues)}`);
  return parsed.data.manifest;
}

const same = (a: number | null, b: number | null): boolean => a === b || (a !== null && b !== null && Object.is(a, b));

/** The first figure that differs between recorded and replayed rounds, in words; null when all agree. */
export function firstRoundDifference(recorded: readonly RoundFingerprint[], replayed: readonly RoundFingerprint[]): string | null {
  if (recorded.length !== replayed.length) return `the recorded run committed ${recorded.length} round(s), the replay ${replayed.length}`;
  for (let i = 0; i < recorded.length; i++) {
    const a = recorded[i];
    const b = replayed[i];
    if (a === undefined || b === undefined) continue;
    for (const key of ['round', 'participants', 'accuracy', 'loss', 'epsilon'] as const) {
      if (!same(a[key], b[key])) return `round ${a.round}: ${key} was ${String(a[key])}, the replay gives ${String(b[key])}`;
    }
  }
  return null;
}

export async function replaySimulation(path: string, options: { logger: Logger; onRound?: Parameters<typeof runSimulation>[1]['onRound'] }): Promise<ReplayReport> {
  const recorded = readManifest(path);
  if (!recorded.reproducible) throw new TesseraError('TESSERA_ERR_REPLAY_INVALID', `${path} records a run that cannot be replayed: ${recorded.notReproducibleBecause ?? 'not reproducible'}`);
  const data = dataFileHashes(recorded.data.dataset, typeof recorded.simulation.dataDir === 'string' ? recorded.simulation.dataDir : undefined);
  for (const f of recorded.data.files) {
    const now = data.files.find((g) => g.name === f.name);
    if (now === undefined) throw new TesseraError('TESSERA_ERR_REPLAY_MISMATCH', `data file ${f.name} of the recorded run is missing from ${data.dir}`, { details: { file: f.name } });
    if (now.sha256 !== f.sha256) throw new TesseraError('TESSERA_ERR_REPLAY_MISMATCH', `data file ${f.name} differs from the recorded run's (SHA-256 ${now.sha256.slice(0, 16)}… vs ${f.sha256.slice(0, 16)}…)`, { details: { file: f.name } });
  }
  const config = SimulationConfig.safeParse(recorded.simulation);
  if (!config.success) throw new TesseraError('TESSERA_ERR_REPLAY_INVALID', `${path}: the recorded configuration is not one this version can run: ${describeZodIssues(config.error.issues)}`);
  // The recorded configuration, in memory: a replay never writes to (or resumes from) a state directory, and
  // does not retrain the baselines (they are not part of the fingerprint).
  const replayed = await runSimulation({ ...config.data, baselines: false }, { logger: options.logger, ...(options.onRound ? { onRound: options.onRound } : {}) });
  const now = buildManifest(replayed);
  const mismatch = (what: string, details: Record<string, unknown>): TesseraError => new TesseraError('TESSERA_ERR_REPLAY_MISMATCH', `replay of ${path} does not match: ${what}`, { details });
  if (now.jobSpecSha256 !== recorded.jobSpecSha256) throw mismatch(`the job spec hashes to ${now.jobSpecSha256.slice(0, 16)}…, the recorded one to ${recorded.jobSpecSha256.slice(0, 16)}… (the defaults changed?)`, { field: 'jobSpecSha256' });
  if (now.result.status !== recorded.result.status) throw mismatch(`the job ended ${now.result.status}, the recorded one ${recorded.result.status}`, { field: 'status' });
  const diff = firstRoundDifference(recorded.result.rounds, now.result.rounds);
  if (diff !== null) throw mismatch(diff, { field: 'rounds' });
  if (now.result.weightsSha256 !== recorded.result.weightsSha256) throw mismatch(`the final weights hash to ${now.result.weightsSha256.slice(0, 16)}…, the recorded ones to ${recorded.result.weightsSha256.slice(0, 16)}…`, { field: 'weightsSha256' });
  const environmentDifferences = [
    ...(now.commit.hash !== recorded.commit.hash ? [`commit ${recorded.commit.hash ?? '?'} → ${now.commit.hash ?? '?'}`] : []),
    ...(now.lockfileSha256 !== recorded.lockfileSha256 ? ['package-lock.json differs'] : []),
    ...(now.runtime.node !== recorded.runtime.node ? [`Node ${recorded.runtime.node} → ${now.runtime.node}`] : []),
    ...(now.runtime.tfjs !== recorded.runtime.tfjs ? [`tfjs ${recorded.runtime.tfjs ?? '?'} → ${now.runtime.tfjs ?? '?'}`] : []),
    ...(now.runtime.backend !== recorded.runtime.backend ? [`backend ${recorded.runtime.backend} → ${now.runtime.backend}`] : []),
  ];
  return { matched: true, rounds: now.result.rounds.length, weightsSha256: now.result.weightsSha256, environmentDifferences, replayed };
}
