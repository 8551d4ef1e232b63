/**
 * The client side of SecAgg+ as a transport-agnostic state machine: `handle(message)` consumes one coordinator
 * message and returns the reply to send (or nothing); the caller moves the messages. Any message that breaks
 * the protocol in a way that could leak (a key from a non-neighbour, a bad signature, a tampered share, a
 * request for both shares of one neighbour, too few survivors) aborts the client for good: it wipes its
 * secrets and throws a TesseraError. A malformed, stale (other round) or out-of-order message is refused with
 * a throw and changes nothing. Stage table: SECAGG_CLIENT_TRANSITIONS in protocol/secagg.ts.
 *
 * Protocol: Bonawitz et al., CCS 2017 (Fig. 4, rounds 0–4), over the neighbour graph of Bell et al., CCS 2020.
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
import { concatBytes, uint32ToBytes, wipe } from './crypto/bytes.ts';
import { ed25519Verify, type Ed25519Identity } from './crypto/ed25519.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec } from './crypto/prg.ts';
import { generateX25519, x25519, type X25519KeyPair } from './crypto/x25519.ts';
import { neighbourGraph, neighboursOf } from './graph.ts';
import { checkSecAggParams } from './params.ts';
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
  /** Optional policy on the coordinator's (n, k, t), e.g. "t at least what the finder gives for our job". */
  acceptParams?: (p: { clients: number; k: number; t: number }) => boolean;
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

  /** Round 0 (AdvertiseKeys): two fresh X25519 pairs and the self-mask seed, signed by the identity. */
  private onSetup(setup: SecAggSetup): SecAggAdvertise {
    const { clientId, input, identity } = this.options;
    if (setup.clients[setup.index] !== clientId) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `setup names index ${setup.index} as ${setup.clients[setup.index]}`);
    if (new Set(setup.clients).size !== setup.clients.length) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'roster lists a client twice');
    checkSecAggParams({ clients: setup.clients.length, k: setup.k, t: setup.t });
    if (this.options.acceptParams !== undefined && !this.options.acceptParams({ clients: setup.clients.length, k: setup.k, t: setup.t })) {
      this.fail('TESSERA_ERR_SECAGG_PARAMS', `parameters n = ${setup.clients.length}, k = ${setup.k}, t = ${setup.t} refused by local policy`);
    }
    if (typeof input !== 'function' && setup.dim !== input.length) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `round expects ${setup.dim} coordinates, this client has ${input.length}`);
    const graph = neighbourGraph({ n: setup.clients.length, k: setup.k, seed: setup.graphSeed });
    const c = generateX25519(this.rng);
    const s = generateX25519(this.rng);
    const seed = new Uint8Array(32);
    this.rng.fillBytes(seed);
    this.round = { setup, neighbours: new Set(neighboursOf(graph, setup.index)), c, s, seed, keys: new Map(), sealKeys: new Map(), received: new Map() };
    const commitment = T.seedCommitment(setup.roundId, setup.index, seed);
    const signature = identity.sign(T.advertiseTranscript(setup.roundId, setup.index, c.publicKey, s.publicKey, commitment));
    return { type: 'secagg.advertise', roundId: setup.roundId, index: setup.index, cPk: c.publicKey, sPk: s.publicKey, commitment, signature };
  }

  /** Round 1 (ShareKeys): verify neighbours' signed keys, then Shamir-share s_sk and b to them, sealed. */
  private onKeys(msg: SecAggKeys): SecAggShareKeys {
    const r = this.need();
    const { roundId, index, clients, t } = r.setup;
    const seen = new Set<string>([Buffer.from(r.c.publicKey).toString('hex'), Buffer.from(r.s.publicKey).toString('hex')]);
    for (const adv of msg.keys) {
      if (!r.neighbours.has(adv.index)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received keys of client ${adv.index}, which is not a neighbour`);
      if (r.keys.has(adv.index)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received keys of client ${adv.index} twice`);
      const owner = this.options.resolveIdentity(clients[adv.index] as string);
      if (owner === undefined) this.fail('TESSERA_ERR_SECAGG_CRYPTO', `no trusted identity key for client ${clients[adv.index]}`);
      if (!ed25519Verify(owner, T.advertiseTranscript(roundId, adv.index, adv.cPk, adv.sPk, adv.commitment), adv.signature)) {
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
    if (r.keys.size + 1 < t) this.fail('TESSERA_ERR_SECAGG_ABORT', `only ${r.keys.size} neighbours advertised keys; threshold ${t} needs ${t - 1}`);

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
      const key = T.sharesKey(x25519(r.c.keyObject, peer.cPk), roundId, index, h);
      r.sealKeys.set(h, key);
      const nonce = new Uint8Array(12);
      this.rng.fillBytes(nonce);
      shares.push({ to: h, nonce, ciphertext: aeadSeal(key, nonce, concatBytes(sk, sd), T.sharesAad(roundId, index, h)) });
      wipe(sk, sd);
    });
    const signature = this.options.identity.sign(T.shareKeysTranscript(roundId, index, shares));
    return { type: 'secagg.share-keys', roundId, index, shares, signature };
  }

  /** Round 2 (MaskedInputCollection): open neighbours' shares, then send x + PRG(b) + Σ ±PRG(s_uv). */
  private onShares(msg: SecAggShares): SecAggMaskedInput {
    const r = this.need();
    const { roundId, index, t } = r.setup;
    for (const s of msg.shares) {
      const key = r.sealKeys.get(s.from);
      if (key === undefined) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received shares from client ${s.from}, which did not advertise keys as a neighbour`);
      if (r.received.has(s.from)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `received shares from client ${s.from} twice`);
      const plain = aeadOpen(key, s.nonce, s.ciphertext, T.sharesAad(roundId, s.from, index));
      r.received.set(s.from, { sk: plain.slice(0, 32), seed: plain.slice(32, 64) });
      wipe(plain);
    }
    for (const key of r.sealKeys.values()) wipe(key);
    r.sealKeys.clear();
    if (r.received.size + 1 < t) this.fail('TESSERA_ERR_SECAGG_ABORT', `only ${r.received.size} neighbours shared keys; threshold ${t} needs ${t - 1}`);

    const input = typeof this.options.input === 'function' ? this.options.input() : this.options.input;
    if (input.length !== r.setup.dim) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `round expects ${r.setup.dim} coordinates, this client has ${input.length}`);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const masks: MaskSpec[] = [{ key: selfMaskKey(r.seed, roundId, index), sign: 1 }];
    for (const v of r.received.keys()) {
      const peer = r.keys.get(v) as { sPk: Uint8Array };
      const agreed = x25519(r.s.keyObject, peer.sPk);
      // Bonawitz et al. §4: p_{u,v} = Δ·PRG(s_{u,v}), Δ = +1 if u > v else −1, so each pair cancels in the sum.
      masks.push({ key: pairwiseMaskKey(agreed, roundId, index, v), sign: index > v ? 1 : -1 });
      wipe(agreed);
    }
    const y = input.slice();
    applyMasks(y, masks);
    this.stats.maskMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    this.stats.maskCpuMs = (cpu.user + cpu.system) / 1000;
    this.stats.masks = masks.length;
    for (const m of masks) wipe(m.key);
    // The raw secrets are no longer needed; only the shares remain until unmasking.
    wipe(r.seed, r.s.secretKey, r.c.secretKey);
    const vector = uint32ToBytes(y);
    const signature = this.options.identity.sign(T.maskedInputTranscript(roundId, index, vector));
    return { type: 'secagg.masked-input', roundId, index, vector, signature };
  }

  /** Round 3 (ConsistencyCheck): sign the survivor set U3. */
  private onConsistency(msg: SecAggConsistency): SecAggConsistencySignature {
    const r = this.need();
    const { roundId, index, t, clients } = r.setup;
    const survivors = this.checkIndexList(msg.survivors, 'survivors', clients.length);
    if (!survivors.includes(index)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'survivor set omits this client, which sent its masked input');
    const partnersAlive = survivors.filter((v) => r.received.has(v)).length;
    if (partnersAlive + 1 < t) this.fail('TESSERA_ERR_SECAGG_ABORT', `only ${partnersAlive} neighbours survived; threshold ${t} needs ${t - 1}`);
    r.survivors = survivors;
    return { type: 'secagg.consistency-signature', roundId, index, signature: this.options.identity.sign(T.survivorsTranscript(roundId, index, survivors)) };
  }

  /** Round 4 (Unmasking): reveal, per neighbour, the seed share if it survived or the key share if it dropped. */
  private onUnmask(msg: SecAggUnmaskRequest): SecAggUnmaskShares {
    const r = this.need();
    const { roundId, index, t, clients, consistencyCheck } = r.setup;
    if (consistencyCheck && this.stageValue !== 'signed') this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask requested before the consistency check');
    const selfFor = this.checkIndexList(msg.selfMaskFor, 'selfMaskFor', clients.length);
    const keyFor = this.checkIndexList(msg.maskKeyFor, 'maskKeyFor', clients.length);
    const both = selfFor.filter((v) => keyFor.includes(v));
    // The heart of SecAgg's security (Bonawitz et al. §4, round 4): never reveal both shares of one client.
    if (both.length > 0) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `coordinator asked for both the self-mask and the mask-key share of client(s) ${both.join(', ')}`);
    if (keyFor.includes(index)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'coordinator asked for this client’s own mask-key share');
    for (const v of [...selfFor, ...keyFor]) {
      if (v !== index && !r.received.has(v)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `asked for shares of client ${v}, which did not share keys with this client`);
    }
    if (consistencyCheck) this.checkSurvivorSignatures(r, msg, selfFor, keyFor);
    if (selfFor.length < t) this.fail('TESSERA_ERR_SECAGG_ABORT', `only ${selfFor.length} survivors in this neighbourhood; threshold ${t}`);
    const selfMaskShares = selfFor.map((v) => ({ of: v, share: v === index ? (r.ownSeedShare as Uint8Array) : (r.received.get(v) as { seed: Uint8Array }).seed }));
    const maskKeyShares = keyFor.map((v) => ({ of: v, share: (r.received.get(v) as { sk: Uint8Array }).sk }));
    const signature = this.options.identity.sign(T.unmaskTranscript(roundId, index, selfMaskShares, maskKeyShares));
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

  private checkSurvivorSignatures(r: Round, msg: SecAggUnmaskRequest, selfFor: number[], keyFor: number[]): void {
    const { roundId, clients, t } = r.setup;
    const survivors = r.survivors as number[];
    if (msg.survivors === undefined || msg.survivorSignatures === undefined) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask request lacks the survivor signatures');
    if (msg.survivors.length !== survivors.length || msg.survivors.some((v, i) => v !== survivors[i])) {
      this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask request names a survivor set other than the one this client signed');
    }
    if (selfFor.some((v) => !survivors.includes(v)) || keyFor.some((v) => survivors.includes(v))) {
      this.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask request contradicts the signed survivor set');
    }
    const signers = new Set<number>();
    for (const { index: v, signature } of msg.survivorSignatures) {
      if (!r.received.has(v) || !survivors.includes(v) || signers.has(v)) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `unexpected survivor signature from client ${v}`);
      const owner = this.options.resolveIdentity(clients[v] as string);
      if (owner === undefined || !ed25519Verify(owner, T.survivorsTranscript(roundId, v, survivors), signature)) {
        this.fail('TESSERA_ERR_SECAGG_CRYPTO', `survivor signature of client ${clients[v]} does not verify`);
      }
      signers.add(v);
    }
    if (signers.size + 1 < t) this.fail('TESSERA_ERR_SECAGG_ABORT', `only ${signers.size} neighbours signed the survivor set; threshold ${t} needs ${t - 1}`);
  }

  private checkIndexList(list: number[], what: string, n: number): number[] {
    const sorted = [...list].sort((a, b) => a - b);
    sorted.forEach((v, i) => {
      if (v >= n) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `${what} names client ${v}, outside the roster`);
      if (i > 0 && sorted[i - 1] === v) this.fail('TESSERA_ERR_SECAGG_PROTOCOL', `${what} names client ${v} twice`);
    });
    return sorted;
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
