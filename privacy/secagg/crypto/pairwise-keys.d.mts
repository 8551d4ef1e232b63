/** Types of pairwise-keys.mjs (plain JavaScript, shared with the mask worker threads). */
import type { KeyObject } from 'node:crypto';

export declare const PAIRWISE_MASK_LABEL: string;
export declare const MASK_KEY_BYTES: number;
export declare function importX25519Private(secretKey: Uint8Array): KeyObject;
export declare function importX25519Public(publicKey: Uint8Array): KeyObject;
/** X25519(sk, pk), or null for an all-zero / refused (low-order) result. */
export declare function x25519Agree(privateKey: KeyObject, publicKey: KeyObject): Uint8Array | null;
export declare function pairwiseInfoPrefix(roundId: string): Uint8Array;
export declare function pairwiseInfoBuffer(prefix: Uint8Array): Uint8Array;
export declare function pairwiseMaskKeyInto(agreed: Uint8Array, info: Uint8Array, a: number, b: number, out: Uint8Array): void;
