/**
 * The client node's own participation record (issue 10 §1–2): which (job, round) it contributed an update or an
 * evaluation vector to, and with how much noise protecting it, so that its policy holds against a coordinator that lies or repeats —
 * at most one contribution and one evaluation per (job id, round), at most the job's declared rounds per job (the declaration
 * first seen counts), and a cumulative ε under the policy's cap. The client never opens the coordinator's
 * database; this file lives under the client's OWN `--state DIR`.
 *
 * Durability: every change rewrites the whole (small) file through a temporary file that is fsync'd, renamed
 * over the old one and the directory fsync'd (one process per directory: see `fileParticipationRecord`), so a crash leaves either the old or the new record, never a
 * torn one. A contribution is recorded BEFORE the update leaves the node (conservative: a round that then
 * aborts still counts). Without --state the record lives in memory for the life of the process (the node
 * warns at start): a restart forgets it.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { describeZodIssues, TesseraError } from '../../protocol/errors.ts';

export const PARTICIPATION_FILE = 'client-participation.json';

const Entry = z.strictObject({
  jobId: z.string().min(1),
  round: z.number().int().min(0),
  /** The rounds the job declared when this node first contributed to it (the limit for that job). */
  declaredRounds: z.number().int().min(1),
  /** σ protecting this contribution against the coordinator; null for a job without DP. */
  effectiveNoiseMultiplier: z.number().min(0).nullable(),
  at: z.iso.datetime(),
  /**
   * What was released: a training update, or an evaluation vector (at most one of each per job and round). Absent
   * in records written before evaluations were recorded: those entries are training contributions.
   */
  task: z.enum(['train', 'evaluate']).optional(),
});
export type ParticipationEntry = z.infer<typeof Entry>;

/** Secure-aggregation round ids kept at most (the oldest are forgotten first); ≈ 60 bytes each. */
export const MAX_ROUND_IDS = 10_000;

const RecordFile = z.strictObject({
  version: z.literal(1),
  contributions: z.array(Entry),
  /**
   * Secure-aggregation round ids this node took part in (privacy/secagg/round-id.ts), so that a round id
   * replayed after a restart is refused too. Absent in records written before it existed.
   */
  secaggRoundIds: z.array(z.string().min(1)).max(MAX_ROUND_IDS).optional(),
});
type RecordContent = { contributions: ParticipationEntry[]; secaggRoundIds: string[] };

export interface ParticipationRecord {
  /** Where it is kept ('memory' without --state). */
  readonly location: string;
  contributions(): readonly ParticipationEntry[];
  /** Appends one contribution durably; throws TESSERA_ERR_POLICY_RECORD when it cannot be written. */
  add(entry: ParticipationEntry): void;
  /**
   * Records a secure-aggregation round id durably before the node takes part (round-id.ts RoundIdRegister);
   * throws TESSERA_ERR_SECAGG_ROUND_REPLAY if it was recorded before, TESSERA_ERR_POLICY_RECORD when it cannot
   * be written.
   */
  claim(roundId: string): void;
}

function refuseReplay(roundId: string, known: readonly string[]): void {
  if (known.includes(roundId)) throw new TesseraError('TESSERA_ERR_SECAGG_ROUND_REPLAY', `round ${roundId} was already run with this client (its participation record lists it): a replayed round id is refused`);
}

/** The last MAX_ROUND_IDS round ids after appending `roundId`. */
const appendRoundId = (known: readonly string[], roundId: string): string[] => [...known, roundId].slice(-MAX_ROUND_IDS);

export function memoryParticipationRecord(): ParticipationRecord {
  const list: ParticipationEntry[] = [];
  let roundIds: string[] = [];
  return {
    location: 'memory',
    contributions: () => list,
    add: (e) => void list.push(e),
    claim(roundId) {
      refuseReplay(roundId, roundIds);
      roundIds = appendRoundId(roundIds, roundId);
    },
  };
}

/**
 * The record in `<stateDir>/client-participation.json` (created on first contribution). The file is the only
 * copy: it is read again before every decision and every append, so two nodes of one process sharing the
 * directory see each other's contributions. Another live PROCESS holding the directory is refused
 * (`client-participation.lock` names its pid): two processes appending at once could lose a contribution.
 */
export function fileParticipationRecord(stateDir: string): ParticipationRecord {
  const path = join(stateDir, PARTICIPATION_FILE);
  claimDirectory(stateDir);
  read(path);
  const write = (c: RecordContent): void => writeAtomically(stateDir, path, `${JSON.stringify({ version: 1, ...c }, null, 1)}\n`);
  return {
    location: path,
    contributions: () => read(path).contributions,
    add(e) {
      const now = read(path);
      write({ ...now, contributions: [...now.contributions, e] });
    },
    claim(roundId) {
      const now = read(path);
      refuseReplay(roundId, now.secaggRoundIds);
      write({ ...now, secaggRoundIds: appendRoundId(now.secaggRoundIds, roundId) });
    },
  };
}

export const PARTICIPATION_LOCK = 'client-participation.lock';

/** Takes the directory for this process, or refuses when another live process holds it. */
function claimDirectory(stateDir: string): void {
  const lock = join(stateDir, PARTICIPATION_LOCK);
  try {
    mkdirSync(stateDir, { recursive: true });
    // Created exclusively, so two processes starting at once cannot both take a fresh directory.
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(readFileSync(lock, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new TesseraError('TESSERA_ERR_POLICY_RECORD', `the participation record in ${stateDir} is in use by process ${pid}: give each client node its own --state directory`);
    }
    // A lock left by a process that has exited (or by this one): take it over.
    writeAtomically(stateDir, lock, `${process.pid}\n`);
  } catch (cause) {
    if (cause instanceof TesseraError) throw cause;
    throw new TesseraError('TESSERA_ERR_POLICY_RECORD', `cannot take the participation record in ${stateDir}: ${String(cause)}`, { cause });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(path: string): RecordContent {
  if (!existsSync(path)) return { contributions: [], secaggRoundIds: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_POLICY_RECORD', `cannot read the participation record ${path}: ${String(cause)}`, { cause });
  }
  const parsed = RecordFile.safeParse(raw);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_POLICY_RECORD', `the participation record ${path} is invalid: ${describeZodIssues(parsed.error.issues)}`);
  return { contributions: parsed.data.contributions, secaggRoundIds: parsed.data.secaggRoundIds ?? [] };
}

function writeAtomically(dir: string, path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    // The rename is durable only once the directory entry is: fsync the directory too (POSIX).
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_POLICY_RECORD', `cannot write the participation record ${path}: ${String(cause)}`, { cause });
  }
}

/**
 * What the record says about one job: training contributions so far, the rounds it first declared (by the first
 * entry of either kind) and the rounds this node trained in and evaluated in.
 */
export function jobHistory(record: ParticipationRecord, jobId: string): { contributed: number; declaredRounds: number | undefined; rounds: ReadonlySet<number>; evaluatedRounds: ReadonlySet<number> } {
  const all = record.contributions().filter((c) => c.jobId === jobId);
  const trained = all.filter((c) => (c.task ?? 'train') === 'train');
  return { contributed: trained.length, declaredRounds: all[0]?.declaredRounds, rounds: new Set(trained.map((c) => c.round)), evaluatedRounds: new Set(all.filter((c) => c.task === 'evaluate').map((c) => c.round)) };
}
