/**
 * The client side of SecAgg+ as a transport-agnostic state machine: `handle(message)` consumes one coordinator
 * message and returns the reply to send (or nothing); the caller moves the messages. Any message that breaks
 * the protocol in a way that could leak (a key from a non-neighbour, a bad signature, a tampered share, a
 * request for both shares of one neighbour, too few survivors) aborts the client for good: it wipes its
 * secrets and throws a TesseraError. A malformed, stale (other round) or out-of-order message is refused with
 * a throw and changes nothing. Stage table: SECAGG_CLIENT_TRANSITIONS in protocol/secagg.ts.
 *
 * Protocol: Bonawitz et al., CCS 2017 (Fig. 4, rounds 0–4), over the neighbour graph of Bell et al., CCS 2020.
 * Against an actively malicious coordinator (issue 10): the setup is accepted only if it meets the
 * organisation's policy (acceptance.ts), every signed transcript is bound to the setup hash (transcripts.ts),
 * masking needs the policy's floor of neighbours' keys, and revealing needs a certified survivor set
 * (client-checks.ts).
 */
import { TesseraError, describeZodIssues, type ErrorCode } from '../../protocol/errors.ts';
import {
  SECAGG_CLIENT_TRANSITIONS,
  SecAggServerMessage,
  type SecAggAdvertise,
  type SecAggClientMessage,
  type SecAggClientStage,
  type SecAggConsistency,
  type SecAggConsistencySignature,
  type SecAggKeys,
  type SecAggMaskedInput,
  type SecAggSetup,
  type SecAggShareKeys,
  type SecAggShares,
  type SecAggUnmaskRequest,
  type SecAggUnmaskShares,
} from '../../protocol/secagg.ts';
import { cryptoRandom, type RandomSource } from '../random.ts';
import { aeadOpen, aeadSeal } from './crypto/aead.ts';
import { bytesEqual, concatBytes, uint32ToBytes, wipe } from './crypto/bytes.ts';
import { ed25519Verify, type Ed25519Identity } from './crypto/ed25519.ts';
import { applyMasks, selfMaskKey, type MaskSpec } from './crypto/prg.ts';
import { generateX25519, x25519, type X25519KeyPair } from './crypto/x25519.ts';
import { acceptSetup, type Acceptance } from './acceptance.ts';
import { checkIndexList, checkSurvivorSet, checkUnmaskRequest, type CheckContext, type ShareKind } from './client-checks.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY, type SecAggClientPolicy } from './client-policy.ts';
import { neighbourGraph, neighboursOf } from './graph.ts';
import { shamirSplit } from './shamir.ts';
import * as T from './transcripts.ts';

export interface SecAggClientOptions {
  clientId: string;
  /** The client's long-term Ed25519 identity (privacy/secagg/crypto/ed25519.ts). */
  identity: Ed25519Identity;
  /**
   * Trusted long-term public keys of the other clients, from an authenticated registry. If the coordinator
   * could supply these it could substitute every key; the signatures would then prove nothing.
   */
  resolveIdentity: (clientId: string) => Uint8Array | undefined;
  /**
   * The quantised update, modulo 2^32 (privacy/secagg/plan.ts encodeForSecAgg), or a function giving it when
   * the masked input is due — so training can overlap the key exchange and memory holds one vector at a time.
   */
  input: Uint32Array | (() => Uint32Array);
  rng?: RandomSource;
  /** The organisation's own demands (acceptance.ts); DEFAULT_SECAGG_CLIENT_POLICY when absent. */
  policy?: SecAggClientPolicy;
  /** SHA-256 of the canonical job spec of the task (bound into the setup hash); 32 zero bytes when absent. */
  jobHash?: Uint8Array;
  /** The round id this client derived from its task (round-id.ts); a setup naming another is refused. */
  expectedRoundId?: string;
  /** Under DP: the fewest survivors whose noise the client's share assumes (dpPlanForJob(job).minSurvivors). */
  minSurvivors?: number;
}

/** Where the client spent its time (for benchmarks; no secrets). */
export interface SecAggClientStats {
  /** Wall and CPU time of building the masks and applying them (key agreement, HKDF, PRG, addition). */
  maskMs: number;
  maskCpuMs: number;
  masks: number;
}

interface Round {
  setup: SecAggSetup;
  binding: T.RoundBinding;
  accepted: Acceptance;
  /** Which kind of share of each client this client revealed this round (never both). */
  revealed: Map<number, ShareKind>;
  neighbours: Set<number>;
  c: X25519KeyPair;
  s: X25519KeyPair;
  seed: Uint8Array;
  /** Neighbours whose signed keys arrived (U1 ∩ N(u)). */
  keys: Map<number, { cPk: Uint8Array; sPk: Uint8Array }>;
  /** Share-encryption key per neighbour, derived once in round 1 and wiped after round 2. */
  sealKeys: Map<number, Uint8Array>;
  /** Own shares (x = own index + 1). */
  ownSkShare?: Uint8Array;
  ownSeedShare?: Uint8Array;
  /** Shares received from neighbours that shared (U2 ∩ N(u)): the mask partners. */
  received: Map<number, { sk: Uint8Array; seed: Uint8Array }>;
  survivors?: number[];
}

export class SecAggClient {
  private stageValue: SecAggClientStage = 'awaiting-setup';
  private round: Round | undefined;
  private readonly rng: RandomSource;
  readonly stats: SecAggClientStats = { maskMs: 0, maskCpuMs: 0, masks: 0 };

  constructor(private readonly options: SecAggClientOptions) {
    this.rng = options.rng ?? cryptoRandom();
  }

  get stage(): SecAggClientStage {
    return this.stageValue;
  }

  get index(): number | undefined {
    return this.round?.setup.index;
  }

  /** Consumes one coordinator message; returns the reply, if any. Throws TesseraError on refusal or abort. */
  handle(raw: unknown): SecAggClientMessage | undefined {
    const parsed = SecAggServerMessage.safeParse(raw);
    if (!parsed.success) throw new TesseraError('TESSERA_ERR_MESSAGE_INVALID', `secagg message refused: ${describeZodIssues(parsed.error.issues)}`);
    const msg = parsed.data;
    if (this.round !== undefined && msg.roundId !== this.round.setup.roundId) {
      throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', `secagg message for round ${msg.roundId} refused: this client is in round ${this.round.setup.roundId}`);
    }
    if (msg.type === 'secagg.abort') {
      if (this.stageValue === 'done' || this.stageValue === 'aborted') return undefined;
      this.abortQuietly();
      return undefined;
    }
    const next = SECAGG_CLIENT_TRANSITIONS[this.stageValue][msg.type];
    if (next === undefined) {
      throw new TesseraError('TESSERA_ERR_UNEXPECTED_MESSAGE', `secagg client in stage ${this.stageValue} does not accept ${msg.type}`);
    }
    try {
      const reply = this.dispatch(msg);
      this.stageValue = next;
      return reply;
    } catch (e) {
      this.abortQuietly();
      throw e;
    }
  }

  private dispatch(msg: Exclude<SecAggServerMessage, { type: 'secagg.abort' }>): SecAggClientMessage {
    switch (msg.type) {
      case 'secagg.setup':
        return this.onSetup(msg);
      case 'secagg.keys':
        return this.onKeys(msg);
      case 'secagg.shares':
        return this.onShares(msg);
      case 'secagg.consistency':
        return this.onConsistency(msg);
      case 'secagg.unmask':
        return this.onUnmask(msg);
    }
  }

  private fail(code: ErrorCode, message: string): never {
    throw new TesseraError(code, `secagg client ${this.options.clientId} aborts: ${message}`);
  }

  private need(): Round {
    if (this.round === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'secagg client has no round');
    return this.round;
  }

  /** Round 0 (AdvertiseKeys): accept the setup under the policy, then two fresh X25519 pairs and the self-mask seed, signed. */
  private onSetup(setup: SecAggSetup): SecAggAdvertise {
    const { clientId, input, identity } = this.options;
    if (setup.clients[setup.index] !== clientId) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `setup names index ${setup.index} as ${setup.clients[setup.index]}`);
    if (new Set(setup.clients).size !== setup.clients.length) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'roster lists a client twice');
    if (this.options.expectedRoundId !== undefined && setup.roundId !== this.options.expectedRoundId) {
      this.fail('TESSERA_ERR_SECAGG_ROUND_REPLAY', `setup names round ${setup.roundId}; this client's task derives ${this.options.expectedRoundId}`);
    }
    const minSurvivors = this.options.minSurvivors ?? 1;
    const accepted = acceptSetup({ clients: setup.clients.length, k: setup.k, t: setup.t, consistencyCheck: setup.consistencyCheck }, this.options.policy ?? DEFAULT_SECAGG_CLIENT_POLICY, { minSurvivors });
    if (typeof input !== 'function' && setup.dim !== input.length) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `round expects ${setup.dim} coordinates, this client has ${input.length}`);
    const graph = neighbourGraph({ n: setup.clients.length, k: setup.k, seed: setup.graphSeed });
    const binding: T.RoundBinding = { roundId: setup.roundId, setupHash: T.setupHash({ ...setup, jobHash: this.options.jobHash ?? new Uint8Array(32) }) };
    const c = generateX25519(this.rng);
    const s = generateX25519(this.rng);
    const seed = new Uint8Array(32);
    this.rng.fillBytes(seed);
    this.round = { setup, binding, accepted, revealed: new Map(), neighbours: new Set(neighboursOf(graph, setup.index)), c, s, seed, keys: new Map(), sealKeys: new Map(), received: new Map() };
    const commitment = T.seedCommitment(setup.roundId, setup.index, seed);
    const signature = identity.sign(T.advertiseTranscript(binding, setup.index, c.publicKey, s.publicKey, commitment));
    return { type: 'secagg.advertise', roundId: setup.roundId, index: setup.index, cPk: c.publicKey, sPk: s.publicKey, commitment, setupHash: binding.setupHash, signature };
  }

  /** Round 1 (ShareKeys): verify neighbours' signed keys (same setup), then Shamir-share s_sk and b to them, sealed. */
  private onKeys(msg: SecAggKeys): SecAggShareKeys {
    const r = this.need();
    const { roundId, index, clients, t } = r.setup;
    const seen = new Set<string>([Buffer.from(r.c.publicKey).toString('hex'), Buffer.from(r.s.publicKey).toString('hex')]);
    for (const adv of msg.keys) {
      if (!r.neighbours.has(adv.index)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received keys of client ${adv.index}, which is not a neighbour`);
      if (r.keys.has(adv.index)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received keys of client ${adv.index} twice`);
      const owner = this.options.resolveIdentity(clients[adv.index] as string);
      if (owner === undefined) this.fail('TESSERA_ERR_SECAGG_CRYPTO', `no trusted identity key for client ${clients[adv.index]}`);
      // A neighbour that was given another setup (parameters, roster, graph seed, flags, job) is refused.
      if (!bytesEqual(adv.setupHash, r.binding.setupHash)) this.fail('TESSERA_ERR_SECAGG_SETUP_MISMATCH', `client ${clients[adv.index]} advertised keys for another setup than this client's`);
      if (!ed25519Verify(owner, T.advertiseTranscript(r.binding, adv.index, adv.cPk, adv.sPk, adv.commitment), adv.signature)) {
        this.fail('TESSERA_ERR_SECAGG_CRYPTO', `keys of client ${clients[adv.index]} are not signed by its identity`);
      }
      // Bonawitz et al. §4: all advertised keys must be distinct (no key reflected back or reused).
      for (const key of [adv.cPk, adv.sPk]) {
        const h = Buffer.from(key).toString('hex');
        if (seen.has(h)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `an advertised key of client ${adv.index} repeats another key`);
        seen.add(h);
      }
      r.keys.set(adv.index, { cPk: adv.cPk, sPk: adv.sPk });
    }
    this.checkKeysFloor(r, r.keys.size, 'advertised keys');

    const holders = [...r.keys.keys(), index].sort((a, b) => a - b);
    const xs = holders.map((h) => h + 1);
    const skShares = shamirSplit({ secret: r.s.secretKey, threshold: t, xs, rng: this.rng });
    const seedShares = shamirSplit({ secret: r.seed, threshold: t, xs, rng: this.rng });
    const shares: SecAggShareKeys['shares'] = [];
    holders.forEach((h, i) => {
      const sk = (skShares[i] as { y: Uint8Array }).y;
      const sd = (seedShares[i] as { y: Uint8Array }).y;
      if (h === index) {
        r.ownSkShare = sk;
        r.ownSeedShare = sd;
        return;
      }
      const peer = r.keys.get(h) as { cPk: Uint8Array };
      const agreed = x25519(r.c.keyObject, peer.cPk);
      const key = T.sharesKey(agreed, roundId, index, h);
      wipe(agreed);
      r.sealKeys.set(h, key);
      const nonce = new Uint8Array(12);
      this.rng.fillBytes(nonce);
      const plain = concatBytes(sk, sd);
      shares.push({ to: h, nonce, ciphertext: aeadSeal(key, nonce, plain, T.sharesAad(r.binding, index, h)) });
      wipe(sk, sd, plain);
    });
    const signature = this.options.identity.sign(T.shareKeysTranscript(r.binding, index, shares));
    return { type: 'secagg.share-keys', roundId, index, shares, signature };
  }

  /** A client masks only with at least its policy's floor of neighbours (acceptance.ts), never "any t − 1". */
  private checkKeysFloor(r: Round, have: number, what: string): void {
    const { keysFloor } = r.accepted;
    if (have < keysFloor) this.fail('TESSERA_ERR_SECAGG_KEYS_FLOOR', `only ${have} neighbours ${what}; this client masks only with at least ${keysFloor} (its policy's floor for n = ${r.setup.clients.length}, k = ${r.setup.k})`);
  }

  /** Round 2 (MaskedInputCollection): open neighbours' shares, then send x + PRG(b) + Σ ±PRG(s_uv). */
  private onShares(msg: SecAggShares): SecAggMaskedInput {
    const r = this.need();
    const { roundId, index } = r.setup;
    for (const s of msg.shares) {
      const key = r.sealKeys.get(s.from);
      if (key === undefined) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received shares from client ${s.from}, which did not advertise keys as a neighbour`);
      if (r.received.has(s.from)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received shares from client ${s.from} twice`);
      const plain = aeadOpen(key, s.nonce, s.ciphertext, T.sharesAad(r.binding, s.from, index));
      r.received.set(s.from, { sk: plain.slice(0, 32), seed: plain.slice(32, 64) });
      wipe(plain);
    }
    for (const key of r.sealKeys.values()) wipe(key);
    r.sealKeys.clear();
    this.checkKeysFloor(r, r.received.size, 'shared keys');

    const input = typeof this.options.input === 'function' ? this.options.input() : this.options.input;
    if (input.length !== r.setup.dim) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `round expects ${r.setup.dim} coordinates, this client has ${input.length}`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const self: MaskSpec = { key: selfMaskKey(r.seed, roundId, index), sign: 1 };
    const partners = [...r.received.keys()];
    const publicKeys = new Map(partners.map((v) => [v, (r.keys.get(v) as { sPk: Uint8Array }).sPk]));
    const y = input.slice();
    // Bonawitz et al. §4: y = x + PRG(b_u) + Σ_v Δ·PRG(s_{u,v}), Δ = +1 if u > v else −1 (prg.ts PairwiseMasks),
    // so each pair's masks cancel in the sum.
    try {
      applyMasks(y, { direct: [self], pairwise: { roundId, owners: [{ index, secretKey: r.s.secretKey, partners }], publicKeys } });
    } finally {
      wipe(self.key);
    }
    this.stats.maskMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    this.stats.maskCpuMs = (cpu.user + cpu.system) / 1000;
    this.stats.masks = 1 + partners.length;
    // The raw secrets are no longer needed; only the shares remain until unmasking.
    wipe(r.seed, r.s.secretKey, r.c.secretKey);
    const vector = uint32ToBytes(y);
    const signature = this.options.identity.sign(T.maskedInputTranscript(r.binding, index, vector));
    return { type: 'secagg.masked-input', roundId, index, vector, signature };
  }

  private checks(r: Round): CheckContext {
    return {
      index: r.setup.index,
      n: r.setup.clients.length,
      binding: r.binding,
      clients: r.setup.clients,
      partners: new Set(r.received.keys()),
      resolveIdentity: this.options.resolveIdentity,
      certifyFloor: r.accepted.certifyFloor,
      minSurvivors: this.options.minSurvivors ?? 1,
      fail: (code, message) => this.fail(code, message),
    };
  }

  /** Round 3 (ConsistencyCheck): sign the survivor set U3, once, if it holds this client and could be certified. */
  private onConsistency(msg: SecAggConsistency): SecAggConsistencySignature {
    const r = this.need();
    const { roundId, index, t } = r.setup;
    const c = this.checks(r);
    const survivors = checkIndexList(c, msg.survivors, 'survivors');
    checkSurvivorSet(c, survivors, t);
    r.survivors = survivors;
    return { type: 'secagg.consistency-signature', roundId, index, signature: this.options.identity.sign(T.survivorsTranscript(r.binding, index, survivors)) };
  }

  /** Round 4 (Unmasking): reveal, per partner, the seed share if it survived or the key share if it dropped. */
  private onUnmask(msg: SecAggUnmaskRequest): SecAggUnmaskShares {
    const r = this.need();
    const { roundId, index, t, consistencyCheck } = r.setup;
    if (consistencyCheck && this.stageValue !== 'signed') this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask requested before the consistency check');
    const { selfFor, keyFor } = checkUnmaskRequest(this.checks(r), msg, consistencyCheck ? r.survivors : undefined, r.revealed);
    if (selfFor.length < t) this.fail('TESSERA_ERR_SECAGG_ABORT', `only ${selfFor.length} survivors in this neighbourhood; threshold ${t}`);
    const selfMaskShares = selfFor.map((v) => ({ of: v, share: v === index ? (r.ownSeedShare as Uint8Array) : (r.received.get(v) as { seed: Uint8Array }).seed }));
    const maskKeyShares = keyFor.map((v) => ({ of: v, share: (r.received.get(v) as { sk: Uint8Array }).sk }));
    for (const v of selfFor) r.revealed.set(v, 'seed');
    for (const v of keyFor) r.revealed.set(v, 'key');
    const signature = this.options.identity.sign(T.unmaskTranscript(r.binding, index, selfMaskShares, maskKeyShares));
    const reply: SecAggUnmaskShares = {
      type: 'secagg.unmask-shares',
      roundId,
      index,
      selfMaskShares: selfMaskShares.map((s) => ({ of: s.of, share: s.share.slice() })),
      maskKeyShares: maskKeyShares.map((s) => ({ of: s.of, share: s.share.slice() })),
      signature,
    };
    this.wipeAll();
    return reply;
  }

  private wipeAll(): void {
    const r = this.round;
    if (r === undefined) return;
    wipe(r.seed, r.s.secretKey, r.c.secretKey, r.ownSkShare, r.ownSeedShare);
    for (const key of r.sealKeys.values()) wipe(key);
    r.sealKeys.clear();
    for (const s of r.received.values()) wipe(s.sk, s.seed);
    r.received.clear();
  }

  private abortQuietly(): void {
    this.wipeAll();
    this.stageValue = 'aborted';
  }
}
