/**
 * The one definition of every secure-aggregation (SecAgg+) message and of the stage tables of both sides
 * (house rules 1 and 7). Binary fields are Uint8Array (socket.io carries them as binary attachments), never
 * JSON arrays of numbers. Every client → coordinator message carries an Ed25519 signature by the client's
 * long-term identity over a transcript that names the round, the sender and the stage (see
 * privacy/secagg/transcripts.ts), so a message replayed into another round, stage or sender fails.
 *
 * Stages (Bonawitz et al., CCS 2017, Fig. 4; Bell et al., CCS 2020 §4 for the neighbour graph):
 *   setup → advertise keys → share keys → masked input → [consistency check] → unmask → done.
 */
import { z } from 'zod';

const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected binary data (Uint8Array/Buffer)' });
const BytesOf = (n: number) => Bytes.refine((b) => b.length === n, { message: `expected exactly ${n} bytes` });

/** Position of a client in the round's roster (its Shamir x-coordinate is index + 1 ≤ 65 535). */
export const ClientIndex = z.number().int().min(0).max(65_533);
const IndexList = z.array(ClientIndex).max(65_534);
export const RoundId = z.string().min(1).max(160).regex(/^[A-Za-z0-9._:@/-]+$/, 'round ids use letters, digits and . _ : @ / -');
const ClientId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'ids use letters, digits and . _ : @ -');

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const SHARE_BYTES = 32;
export const NONCE_BYTES = 12;
/** Sealed share pair: Shamir share of the mask key s_sk ‖ share of the self-mask seed b, plus the 16-byte tag. */
export const SEALED_SHARES_BYTES = 2 * SHARE_BYTES + 16;

// ---- coordinator → client ----

export const SecAggSetup = z.object({
  type: z.literal('secagg.setup'),
  roundId: RoundId,
  /** The roster: clients[i] is the client with index i. */
  clients: z.array(ClientId).min(2).max(65_534),
  /** The recipient's own index (it checks clients[index] is itself). */
  index: ClientIndex,
  /** Neighbour degree (n − 1 = complete graph) and Shamir threshold. */
  k: z.number().int().min(1),
  t: z.number().int().min(2),
  /** Length of the quantised vector; arithmetic is modulo 2^modulusBits. */
  dim: z.number().int().min(1).max(1 << 28),
  modulusBits: z.literal(32),
  /** Public seed of the neighbour graph (privacy/secagg/graph.ts). */
  graphSeed: BytesOf(32),
  consistencyCheck: z.boolean(),
});
export type SecAggSetup = z.infer<typeof SecAggSetup>;

export const Advertisement = z.object({
  index: ClientIndex,
  /** X25519 key for encrypting shares (c_pk) and for pairwise masks (s_pk). */
  cPk: BytesOf(PUBLIC_KEY_BYTES),
  sPk: BytesOf(PUBLIC_KEY_BYTES),
  /** SHA-256 commitment to the self-mask seed b, so a wrongly reconstructed b is detected. */
  commitment: BytesOf(32),
  /**
   * The hash of the setup this client accepted (privacy/secagg/transcripts.ts setupHash); also inside the
   * signed transcript. A neighbour with another setup hash is refused (the coordinator split the setup).
   */
  setupHash: BytesOf(32),
  signature: BytesOf(SIGNATURE_BYTES),
});
export type Advertisement = z.infer<typeof Advertisement>;

export const SecAggKeys = z.object({
  type: z.literal('secagg.keys'),
  roundId: RoundId,
  /** The advertisements of the recipient's neighbours that advertised (each signed by its owner). */
  keys: z.array(Advertisement).max(65_534),
});
export type SecAggKeys = z.infer<typeof SecAggKeys>;

export const RoutedShares = z.object({
  from: ClientIndex,
  nonce: BytesOf(NONCE_BYTES),
  ciphertext: BytesOf(SEALED_SHARES_BYTES),
});

export const SecAggShares = z.object({
  type: z.literal('secagg.shares'),
  roundId: RoundId,
  shares: z.array(RoutedShares).max(65_534),
});
export type SecAggShares = z.infer<typeof SecAggShares>;

export const SecAggConsistency = z.object({
  type: z.literal('secagg.consistency'),
  roundId: RoundId,
  /** U3: the clients whose masked input is in the sum, ascending. */
  survivors: IndexList,
});
export type SecAggConsistency = z.infer<typeof SecAggConsistency>;

export const SecAggUnmaskRequest = z.object({
  type: z.literal('secagg.unmask'),
  roundId: RoundId,
  /** Neighbours (and the recipient itself) whose self-mask seed share is wanted: they survived. */
  selfMaskFor: IndexList,
  /** Neighbours whose mask-key share is wanted: they dropped. Never overlaps `selfMaskFor`. */
  maskKeyFor: IndexList,
  /** With the consistency check: the neighbours' signatures over the same survivor set. */
  survivors: IndexList.optional(),
  survivorSignatures: z.array(z.object({ index: ClientIndex, signature: BytesOf(SIGNATURE_BYTES) })).max(65_534).optional(),
});
export type SecAggUnmaskRequest = z.infer<typeof SecAggUnmaskRequest>;

export const SecAggAbort = z.object({
  type: z.literal('secagg.abort'),
  roundId: RoundId,
  code: z.string().max(64),
  reason: z.string().max(500),
});
export type SecAggAbort = z.infer<typeof SecAggAbort>;

export const SecAggServerMessage = z.discriminatedUnion('type', [SecAggSetup, SecAggKeys, SecAggShares, SecAggConsistency, SecAggUnmaskRequest, SecAggAbort]);
export type SecAggServerMessage = z.infer<typeof SecAggServerMessage>;

// ---- client → coordinator ----

export const SecAggAdvertise = Advertisement.extend({
  type: z.literal('secagg.advertise'),
  roundId: RoundId,
});
export type SecAggAdvertise = z.infer<typeof SecAggAdvertise>;

export const SecAggShareKeys = z.object({
  type: z.literal('secagg.share-keys'),
  roundId: RoundId,
  index: ClientIndex,
  /** One sealed share pair per neighbour that advertised. */
  shares: z.array(z.object({ to: ClientIndex, nonce: BytesOf(NONCE_BYTES), ciphertext: BytesOf(SEALED_SHARES_BYTES) })).max(65_534),
  signature: BytesOf(SIGNATURE_BYTES),
});
export type SecAggShareKeys = z.infer<typeof SecAggShareKeys>;

export const SecAggMaskedInput = z.object({
  type: z.literal('secagg.masked-input'),
  roundId: RoundId,
  index: ClientIndex,
  /** The masked vector: dim little-endian uint32 words. */
  vector: Bytes,
  signature: BytesOf(SIGNATURE_BYTES),
});
export type SecAggMaskedInput = z.infer<typeof SecAggMaskedInput>;

export const SecAggConsistencySignature = z.object({
  type: z.literal('secagg.consistency-signature'),
  roundId: RoundId,
  index: ClientIndex,
  signature: BytesOf(SIGNATURE_BYTES),
});
export type SecAggConsistencySignature = z.infer<typeof SecAggConsistencySignature>;

const RevealedShare = z.object({ of: ClientIndex, share: BytesOf(SHARE_BYTES) });

export const SecAggUnmaskShares = z.object({
  type: z.literal('secagg.unmask-shares'),
  roundId: RoundId,
  index: ClientIndex,
  selfMaskShares: z.array(RevealedShare).max(65_534),
  maskKeyShares: z.array(RevealedShare).max(65_534),
  signature: BytesOf(SIGNATURE_BYTES),
});
export type SecAggUnmaskShares = z.infer<typeof SecAggUnmaskShares>;

export const SecAggClientMessage = z.discriminatedUnion('type', [SecAggAdvertise, SecAggShareKeys, SecAggMaskedInput, SecAggConsistencySignature, SecAggUnmaskShares]);
export type SecAggClientMessage = z.infer<typeof SecAggClientMessage>;

// ---- stage tables ----

export const SECAGG_CLIENT_STAGES = ['awaiting-setup', 'advertised', 'shared', 'masked', 'signed', 'done', 'aborted'] as const;
export type SecAggClientStage = (typeof SECAGG_CLIENT_STAGES)[number];

/**
 * Client transitions: the coordinator message each stage accepts and the stage it leads to. `secagg.abort`
 * is accepted in every stage that is not final. A `secagg.unmask` in stage `masked` is accepted only when the
 * round has no consistency check (the client checks that flag).
 */
export const SECAGG_CLIENT_TRANSITIONS: Readonly<Record<SecAggClientStage, Readonly<Partial<Record<SecAggServerMessage['type'], SecAggClientStage>>>>> = {
  'awaiting-setup': { 'secagg.setup': 'advertised' },
  advertised: { 'secagg.keys': 'shared' },
  shared: { 'secagg.shares': 'masked' },
  masked: { 'secagg.consistency': 'signed', 'secagg.unmask': 'done' },
  signed: { 'secagg.unmask': 'done' },
  done: {},
  aborted: {},
};

export const SECAGG_SERVER_STAGES = ['advertise', 'share-keys', 'masked-input', 'consistency', 'unmask', 'done', 'aborted'] as const;
export type SecAggServerStage = (typeof SECAGG_SERVER_STAGES)[number];

/** Server: the one client message each collecting stage accepts, and the stage that follows it. */
export const SECAGG_SERVER_TRANSITIONS: Readonly<Record<SecAggServerStage, { accepts: SecAggClientMessage['type']; next: SecAggServerStage } | undefined>> = {
  advertise: { accepts: 'secagg.advertise', next: 'share-keys' },
  'share-keys': { accepts: 'secagg.share-keys', next: 'masked-input' },
  // Without the consistency check, masked-input is followed directly by unmask.
  'masked-input': { accepts: 'secagg.masked-input', next: 'consistency' },
  consistency: { accepts: 'secagg.consistency-signature', next: 'unmask' },
  unmask: { accepts: 'secagg.unmask-shares', next: 'done' },
  done: undefined,
  aborted: undefined,
};

/**
 * Approximate bytes of a message on the wire: binary fields at their length, everything else as JSON text
 * (socket.io sends binary attachments raw, next to a JSON header).
 */
export function approximateWireBytes(message: unknown): number {
  let binary = 0;
  // `this[key]` is the value before toJSON, which Buffer defines (it would otherwise arrive as a number array).
  const json = JSON.stringify(message, function (this: Record<string, unknown>, key: string, value: unknown) {
    const original = this[key];
    if (original instanceof Uint8Array) {
      binary += original.length;
      return { _placeholder: true, num: 0 };
    }
    if (value instanceof Uint8Array) {
      binary += value.length;
      return { _placeholder: true, num: 0 };
    }
    return value;
  });
  return binary + (json === undefined ? 0 : Buffer.byteLength(json));
}
