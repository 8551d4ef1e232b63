/**
 * The coordinator side of SecAgg+ as a transport-agnostic state machine. `start()` returns the setup message
 * for every client; `receive(clientId, message)` consumes one client message (refusing — with a throw and no
 * state change — anything malformed, stale, out of order, unsigned or tampered) and returns the messages to
 * send when a stage completes; `closeStage()` is the caller's deadline: clients that did not answer are
 * dropped. The coordinator sees only signed public keys, sealed shares, masked vectors and, at the end, one
 * share per neighbour pair — never both shares of one client — so it learns the sum and nothing else.
 * Stage table: SECAGG_SERVER_TRANSITIONS in protocol/secagg.ts.
 */
import { TesseraError, describeZodIssues, type ErrorCode } from '../../protocol/errors.ts';
import {
  SECAGG_SERVER_TRANSITIONS,
  SecAggClientMessage,
  type Advertisement,
  type SecAggServerMessage,
  type SecAggServerStage,
  type SecAggShareKeys,
  type SecAggUnmaskRequest,
} from '../../protocol/secagg.ts';
import { cryptoRandom, type RandomSource } from '../random.ts';
import { bytesEqual, bytesToUint32, wipe } from './crypto/bytes.ts';
import { ed25519Verify } from './crypto/ed25519.ts';
import { neighbourGraph, neighboursOf } from './graph.ts';
import { checkSecAggParams } from './params.ts';
import type { ShamirShare } from './shamir.ts';
import * as T from './transcripts.ts';
import { unmaskSum } from './unmask.ts';

export interface SecAggServerOptions {
  roundId: string;
  /** The roster; a client's index is its position here. */
  clients: ReadonlyArray<string>;
  k: number;
  t: number;
  dim: number;
  consistencyCheck?: boolean;
  /** Trusted long-term identity keys (the same registry the clients use). */
  resolveIdentity: (clientId: string) => Uint8Array | undefined;
  rng?: RandomSource;
  /** The public graph seed; drawn from `rng` when absent. */
  graphSeed?: Uint8Array;
  /** SHA-256 of the canonical job spec sent with the task (the clients bind it into the setup hash). */
  jobHash?: Uint8Array;
  /** Worker threads for removing the masks (default: cores − 1, capped; 0: the calling thread only). */
  maskWorkers?: number;
}

export interface Outgoing {
  to: string;
  message: SecAggServerMessage;
}

export interface SecAggResult {
  /** Σ of the survivors' quantised inputs modulo 2^32 (read as int32 by dequantizeSum). */
  sum: Uint32Array;
  survivors: string[];
  dropped: string[];
}

export interface SecAggServerStats {
  /** Wall and CPU time of the final reconstruction and mask removal. */
  unmaskMs: number;
  unmaskCpuMs: number;
  /** Of unmaskMs, the wall time of rebuilding and verifying the seeds and mask keys (calling thread). */
  unmaskReconstructMs: number;
  /** Its CPU time (only the calling thread works then). */
  unmaskReconstructCpuMs: number;
  /** Of unmaskMs, the wall time of removing the masks: deriving pairwise keys and stripping, on the mask threads. */
  unmaskMaskMs: number;
  /** Thread time (summed over the mask threads) of deriving pairwise keys (X25519 + HKDF), and of stripping. */
  unmaskDeriveThreadMs: number;
  unmaskStripThreadMs: number;
  /** Threads that shared the mask work (the calling thread and the workers that finished). */
  unmaskThreads: number;
  masksRemoved: number;
  /** Clients whose revealed share was off the verified polynomial (tolerated: another subset rebuilt it). */
  badShareHolders: string[];
}

type Stage = SecAggServerStage;

export class SecAggServer {
  private stageValue: Stage = 'advertise';
  private started = false;
  private readonly n: number;
  private readonly index = new Map<string, number>();
  private readonly neighbours: ReadonlyArray<ReadonlySet<number>>;
  private readonly graphSeed: Uint8Array;
  private readonly binding: T.RoundBinding;
  /** Clients expected to answer in the current stage, and those that did. */
  private expected = new Set<number>();
  private responded = new Set<number>();
  private readonly adverts = new Map<number, Advertisement>();
  private readonly sealed = new Map<number, SecAggShareKeys['shares']>();
  private U2 = new Set<number>();
  private U3 = new Set<number>();
  private readonly survivorSignatures = new Map<number, Uint8Array>();
  private readonly requests = new Map<number, { selfMaskFor: number[]; maskKeyFor: number[] }>();
  private readonly seedShares = new Map<number, ShamirShare[]>();
  private readonly keyShares = new Map<number, ShamirShare[]>();
  private readonly sum: Uint32Array;
  private outcome: SecAggResult | undefined;
  private abortError: TesseraError | undefined;
  readonly stats: SecAggServerStats = {
    unmaskMs: 0,
    unmaskCpuMs: 0,
    unmaskReconstructMs: 0,
    unmaskReconstructCpuMs: 0,
    unmaskMaskMs: 0,
    unmaskDeriveThreadMs: 0,
    unmaskStripThreadMs: 0,
    unmaskThreads: 0,
    masksRemoved: 0,
    badShareHolders: [],
  };

  constructor(private readonly options: SecAggServerOptions) {
    const { clients, k, t, dim } = options;
    this.n = clients.length;
    checkSecAggParams({ clients: this.n, k, t });
    if (!Number.isInteger(dim) || dim < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `dim must be a positive integer, got ${dim}`);
    clients.forEach((c, i) => {
      if (this.index.has(c)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `roster lists ${c} twice`);
      this.index.set(c, i);
    });
    this.graphSeed = options.graphSeed ?? new Uint8Array(32);
    if (options.graphSeed === undefined) (options.rng ?? cryptoRandom()).fillBytes(this.graphSeed);
    const graph = neighbourGraph({ n: this.n, k, seed: this.graphSeed });
    this.binding = {
      roundId: options.roundId,
      setupHash: T.setupHash({ jobHash: options.jobHash ?? new Uint8Array(32), roundId: options.roundId, clients, k, t, dim, modulusBits: 32, graphSeed: this.graphSeed, consistencyCheck: options.consistencyCheck ?? false }),
    };
    this.neighbours = clients.map((_, u) => new Set(neighboursOf(graph, u)));
    this.sum = new Uint32Array(dim);
  }

  get stage(): Stage {
    return this.stageValue;
  }

  /** Clients that still owe an answer in the current stage. */
  pending(): string[] {
    return [...this.expected].filter((u) => !this.responded.has(u)).map((u) => this.options.clients[u] as string);
  }

  /** The result once the stage is `done`; throws the abort error if the round aborted. */
  result(): SecAggResult {
    if (this.abortError !== undefined) throw this.abortError;
    if (this.outcome === undefined) throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', `secure aggregation is in stage ${this.stageValue}, not done`);
    return this.outcome;
  }

  get error(): TesseraError | undefined {
    return this.abortError;
  }

  start(): Outgoing[] {
    if (this.started) throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', 'secure aggregation round already started');
    this.started = true;
    const { roundId, clients, k, t, dim } = this.options;
    this.expected = new Set(clients.map((_, i) => i));
    return clients.map((to, index) => ({
      to,
      message: { type: 'secagg.setup', roundId, clients: [...clients], index, k, t, dim, modulusBits: 32, graphSeed: this.graphSeed, consistencyCheck: this.options.consistencyCheck ?? false },
    }));
  }

  receive(clientId: string, raw: unknown): Outgoing[] {
    const parsed = SecAggClientMessage.safeParse(raw);
    if (!parsed.success) throw new TesseraError('TESSERA_ERR_MESSAGE_INVALID', `secagg message from ${clientId} refused: ${describeZodIssues(parsed.error.issues)}`);
    const msg = parsed.data;
    const u = this.index.get(clientId);
    if (u === undefined) throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `${clientId} is not in secure-aggregation round ${this.options.roundId}`);
    if (msg.roundId !== this.options.roundId) throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', `message from ${clientId} is for round ${msg.roundId}, not ${this.options.roundId}`);
    if (msg.index !== u) throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `${clientId} has index ${u} but its message claims ${msg.index}`);
    const row = SECAGG_SERVER_TRANSITIONS[this.stageValue];
    if (!this.started || row === undefined || row.accepts !== msg.type) {
      throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', `secagg server in stage ${this.stageValue} does not accept ${msg.type} from ${clientId}`);
    }
    if (!this.expected.has(u) || this.responded.has(u)) throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', `${msg.type} from ${clientId} is late, repeated or not expected`);
    const identity = this.options.resolveIdentity(clientId);
    if (identity === undefined) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `no trusted identity key for ${clientId}`);
    const b = this.binding;
    const bad = (what: string): never => {
      throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `${what} from ${clientId} is not signed by its identity (tampered or replayed)`);
    };
    switch (msg.type) {
      case 'secagg.advertise':
        if (!bytesEqual(msg.setupHash, b.setupHash)) throw new TesseraError('TESSERA_ERR_SECAGG_SETUP_MISMATCH', `${clientId} advertised keys for another setup than this round's`);
        if (!ed25519Verify(identity, T.advertiseTranscript(b, u, msg.cPk, msg.sPk, msg.commitment), msg.signature)) bad('advertisement');
        this.adverts.set(u, { index: u, cPk: msg.cPk, sPk: msg.sPk, commitment: msg.commitment, setupHash: msg.setupHash, signature: msg.signature });
        break;
      case 'secagg.share-keys': {
        const want = [...this.neighbours[u] as Set<number>].filter((v) => this.expectedKeys(v)).sort((a, b) => a - b);
        const got = msg.shares.map((s) => s.to).sort((a, b) => a - b);
        if (want.length !== got.length || want.some((v, i) => v !== got[i])) {
          throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `${clientId} sent shares to [${got.join(',')}], expected its keyed neighbours [${want.join(',')}]`);
        }
        if (!ed25519Verify(identity, T.shareKeysTranscript(b, u, msg.shares), msg.signature)) bad('shares');
        this.sealed.set(u, msg.shares);
        break;
      }
      case 'secagg.masked-input': {
        if (msg.vector.length !== 4 * this.options.dim) throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `${clientId} sent ${msg.vector.length} bytes, expected ${4 * this.options.dim}`);
        if (!ed25519Verify(identity, T.maskedInputTranscript(b, u, msg.vector), msg.signature)) bad('masked input');
        // Only a running sum is kept: memory stays O(dim) whatever the number of clients.
        const y = bytesToUint32(msg.vector);
        const acc = this.sum;
        for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (y[i] as number);
        break;
      }
      case 'secagg.consistency-signature':
        if (!ed25519Verify(identity, T.survivorsTranscript(b, u, [...this.U3].sort((x, y) => x - y)), msg.signature)) bad('survivor signature');
        this.survivorSignatures.set(u, msg.signature);
        break;
      case 'secagg.unmask-shares':
        this.acceptUnmask(clientId, u, identity, msg);
        break;
    }
    this.responded.add(u);
    return this.responded.size === this.expected.size ? this.advance() : [];
  }

  /** The caller's deadline for the current stage: non-responders are dropped and the round moves on. */
  closeStage(): Outgoing[] {
    if (!this.started || SECAGG_SERVER_TRANSITIONS[this.stageValue] === undefined) return [];
    return this.advance();
  }

  /** Aborts the round (e.g. the caller's own failure); returns the abort notices. */
  abort(code: ErrorCode, reason: string): Outgoing[] {
    const notify = new Set([...this.expected, ...this.responded]);
    this.abortError = new TesseraError(code, `secure aggregation round ${this.options.roundId} aborted: ${reason}`);
    this.wipeShares();
    this.stageValue = 'aborted';
    this.expected.clear();
    const { roundId, clients } = this.options;
    return [...notify].map((u) => ({ to: clients[u] as string, message: { type: 'secagg.abort', roundId, code, reason } }));
  }

  /** Revealed shares serve once: overwrite them after unmasking or an abort (best effort, crypto/bytes.ts wipe). */
  private wipeShares(): void {
    for (const list of [...this.seedShares.values(), ...this.keyShares.values()]) for (const share of list) wipe(share.y);
    this.seedShares.clear();
    this.keyShares.clear();
  }

  private expectedKeys(v: number): boolean {
    return this.stageValue === 'share-keys' && this.expected.has(v);
  }

  private acceptUnmask(clientId: string, u: number, identity: Uint8Array, msg: Extract<SecAggClientMessage, { type: 'secagg.unmask-shares' }>): void {
    const req = this.requests.get(u) as { selfMaskFor: number[]; maskKeyFor: number[] };
    const same = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => a.length === b.length && [...a].sort((x, y) => x - y).every((v, i) => v === b[i]);
    if (!same(msg.selfMaskShares.map((s) => s.of), req.selfMaskFor) || !same(msg.maskKeyShares.map((s) => s.of), req.maskKeyFor)) {
      throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `${clientId} revealed shares other than those requested`);
    }
    if (!ed25519Verify(identity, T.unmaskTranscript(this.binding, u, msg.selfMaskShares, msg.maskKeyShares), msg.signature)) {
      throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `unmask shares from ${clientId} are not signed by its identity (tampered or replayed)`);
    }
    const add = (into: Map<number, ShamirShare[]>, of: number, share: Uint8Array): void => {
      const list = into.get(of) ?? [];
      list.push({ x: u + 1, y: new Uint8Array(share) });
      into.set(of, list);
    };
    for (const s of msg.selfMaskShares) add(this.seedShares, s.of, s.share);
    for (const s of msg.maskKeyShares) add(this.keyShares, s.of, s.share);
  }

  /** Removes clients with fewer than t − 1 live neighbours (they would abort) until the set is stable. */
  private prune(alive: Set<number>): Set<number> {
    const { t } = this.options;
    let changed = true;
    while (changed) {
      changed = false;
      for (const u of alive) {
        let live = 0;
        for (const v of this.neighbours[u] as Set<number>) if (alive.has(v)) live++;
        if (live + 1 < t) {
          alive.delete(u);
          changed = true;
        }
      }
    }
    return alive;
  }

  private advance(): Outgoing[] {
    const answered = new Set(this.responded);
    const dropped = [...this.expected].filter((u) => !answered.has(u));
    this.responded = new Set();
    switch (this.stageValue) {
      case 'advertise':
        return this.afterAdvertise(answered, dropped);
      case 'share-keys':
        return this.afterShareKeys(answered, dropped);
      case 'masked-input':
        return this.afterMaskedInput(answered);
      case 'consistency':
        return this.requestUnmask(answered);
      case 'unmask':
        return this.finish(answered);
      default:
        return [];
    }
  }

  private notifyAbort(clients: ReadonlyArray<number>, reason: string): Outgoing[] {
    const { roundId } = this.options;
    return clients.map((u) => ({ to: this.options.clients[u] as string, message: { type: 'secagg.abort', roundId, code: 'TESSERA_ERR_SECAGG_ABORT', reason } }));
  }

  private afterAdvertise(answered: Set<number>, _dropped: number[]): Outgoing[] {
    const U1 = this.prune(new Set(answered));
    const cut = [...answered].filter((u) => !U1.has(u));
    if (U1.size < this.options.t) return this.abort('TESSERA_ERR_SECAGG_ABORT', `only ${U1.size} clients can continue after advertising keys; threshold ${this.options.t}`);
    this.stageValue = 'share-keys';
    this.expected = U1;
    const { roundId, clients } = this.options;
    const out: Outgoing[] = [...U1].map((u) => ({
      to: clients[u] as string,
      message: { type: 'secagg.keys', roundId, keys: [...(this.neighbours[u] as Set<number>)].filter((v) => U1.has(v)).map((v) => this.adverts.get(v) as Advertisement) },
    }));
    return [...out, ...this.notifyAbort(cut, 'too few of your neighbours advertised keys')];
  }

  private afterShareKeys(answered: Set<number>, _dropped: number[]): Outgoing[] {
    const U2 = this.prune(new Set(answered));
    const cut = [...answered].filter((u) => !U2.has(u));
    if (U2.size < this.options.t) return this.abort('TESSERA_ERR_SECAGG_ABORT', `only ${U2.size} clients can continue after sharing keys; threshold ${this.options.t}`);
    this.U2 = U2;
    this.stageValue = 'masked-input';
    this.expected = new Set(U2);
    const { roundId, clients } = this.options;
    const inbox = new Map<number, SecAggServerMessage & { type: 'secagg.shares' }>();
    for (const v of U2) inbox.set(v, { type: 'secagg.shares', roundId, shares: [] });
    for (const u of U2) {
      for (const s of this.sealed.get(u) ?? []) inbox.get(s.to)?.shares.push({ from: u, nonce: s.nonce, ciphertext: s.ciphertext });
    }
    this.sealed.clear();
    return [...[...inbox].map(([v, message]) => ({ to: clients[v] as string, message })), ...this.notifyAbort(cut, 'too few of your neighbours shared keys')];
  }

  /** Whether the clients in `responders` hold ≥ t shares of every secret the unmasking needs. */
  private shortfall(responders: ReadonlySet<number>): string | undefined {
    const { t } = this.options;
    for (const u of this.U2) {
      let holders = 0;
      const survived = this.U3.has(u);
      if (survived && responders.has(u)) holders++;
      let neighbourSurvives = false;
      for (const v of this.neighbours[u] as Set<number>) {
        if (!this.U2.has(v)) continue;
        if (this.U3.has(v)) neighbourSurvives = true;
        if (responders.has(v)) holders++;
      }
      if (!survived && !neighbourSurvives) continue; // nobody masked with it: nothing to remove
      if (holders < t) return `client ${u} (${survived ? 'survived' : 'dropped'}) has ${holders} live shareholders; threshold ${t}`;
    }
    return undefined;
  }

  private afterMaskedInput(answered: Set<number>): Outgoing[] {
    this.U3 = answered;
    const short = this.shortfall(answered);
    if (short !== undefined) return this.abort('TESSERA_ERR_SECAGG_ABORT', `cannot unmask: ${short}`);
    if (!(this.options.consistencyCheck ?? false)) return this.requestUnmask(answered);
    this.stageValue = 'consistency';
    this.expected = new Set(answered);
    const survivors = [...answered].sort((a, b) => a - b);
    const { roundId, clients } = this.options;
    return survivors.map((u) => ({ to: clients[u] as string, message: { type: 'secagg.consistency', roundId, survivors } }));
  }

  private requestUnmask(responders: Set<number>): Outgoing[] {
    const short = this.shortfall(responders);
    if (short !== undefined) return this.abort('TESSERA_ERR_SECAGG_ABORT', `cannot unmask: ${short}`);
    this.stageValue = 'unmask';
    this.expected = new Set(responders);
    const { roundId, clients } = this.options;
    const check = this.options.consistencyCheck ?? false;
    const survivors = [...this.U3].sort((a, b) => a - b);
    return [...responders].map((u) => {
      const partners = [...(this.neighbours[u] as Set<number>)].filter((v) => this.U2.has(v)).sort((a, b) => a - b);
      const selfMaskFor = [u, ...partners.filter((v) => this.U3.has(v))].sort((a, b) => a - b);
      const maskKeyFor = partners.filter((v) => !this.U3.has(v));
      this.requests.set(u, { selfMaskFor, maskKeyFor });
      const message: SecAggUnmaskRequest = { type: 'secagg.unmask', roundId, selfMaskFor, maskKeyFor };
      if (check) {
        message.survivors = survivors;
        message.survivorSignatures = partners.filter((v) => this.survivorSignatures.has(v)).map((v) => ({ index: v, signature: this.survivorSignatures.get(v) as Uint8Array }));
      }
      return { to: clients[u] as string, message };
    });
  }

  private finish(responders: Set<number>): Outgoing[] {
    const short = this.shortfall(responders);
    if (short !== undefined) return this.abort('TESSERA_ERR_SECAGG_ABORT', `cannot unmask: ${short}`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const dropped = new Map<number, number[]>();
    for (const d of this.U2) {
      if (this.U3.has(d)) continue;
      const partners = [...(this.neighbours[d] as Set<number>)].filter((v) => this.U3.has(v));
      if (partners.length > 0) dropped.set(d, partners);
    }
    try {
      const outcome = unmaskSum({
        roundId: this.options.roundId,
        t: this.options.t,
        sum: this.sum,
        adverts: this.adverts,
        survivors: this.U3,
        dropped,
        seedShares: this.seedShares,
        keyShares: this.keyShares,
        ...(this.options.maskWorkers === undefined ? {} : { workers: this.options.maskWorkers }),
      });
      this.stats.masksRemoved = outcome.masksRemoved;
      this.stats.unmaskReconstructMs = outcome.reconstructMs;
      this.stats.unmaskReconstructCpuMs = outcome.reconstructCpuMs;
      this.stats.unmaskMaskMs = outcome.maskMs;
      this.stats.unmaskDeriveThreadMs = outcome.deriveThreadMs;
      this.stats.unmaskStripThreadMs = outcome.stripThreadMs;
      this.stats.unmaskThreads = outcome.threads;
      this.stats.badShareHolders = outcome.badShareHolders.map((u) => this.options.clients[u] as string);
    } catch (e) {
      const code = e instanceof TesseraError ? e.code : 'TESSERA_ERR_INTERNAL';
      return this.abort(code, e instanceof Error ? e.message : String(e));
    }
    this.wipeShares();
    this.stats.unmaskMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    this.stats.unmaskCpuMs = (cpu.user + cpu.system) / 1000;
    this.stageValue = 'done';
    this.expected = new Set();
    const names = this.options.clients;
    this.outcome = {
      sum: this.sum,
      survivors: [...this.U3].sort((a, b) => a - b).map((u) => names[u] as string),
      dropped: names.filter((_, u) => !this.U3.has(u)),
    };
    return [];
  }
}
