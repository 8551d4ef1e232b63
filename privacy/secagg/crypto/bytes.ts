/**
 * Byte helpers shared by the SecAgg primitives: concatenation, constant-time comparison, and the
 * length-prefixed transcript encoding that every signature and AEAD associated-data string is built from
 * (length prefixes make the encoding injective, so two different field lists never sign the same bytes).
 */
import { timingSafeEqual } from 'node:crypto';

const TEXT = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return TEXT.encode(s);
}

export function concatBytes(...parts: ReadonlyArray<Uint8Array>): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time equality for secrets and tags; false (not a throw) when lengths differ. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function u32be(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32be: ${v} is not a uint32`);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('hexToBytes: not a hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Overwrites secret material we no longer need (best effort: JS may have copied it elsewhere). */
export function wipe(...arrays: ReadonlyArray<Uint8Array | undefined>): void {
  for (const a of arrays) a?.fill(0);
}

/**
 * An injective encoding of a list of fields: each field is a 4-byte big-endian length then its bytes, and
 * numbers are 4-byte big-endian. Used for everything that is signed, MACed or bound as associated data.
 */
export class Transcript {
  private readonly parts: Uint8Array[] = [];

  constructor(label: string) {
    this.bytes(utf8(label));
  }

  bytes(b: Uint8Array): this {
    this.parts.push(u32be(b.length), b);
    return this;
  }

  string(s: string): this {
    return this.bytes(utf8(s));
  }

  u32(v: number): this {
    this.parts.push(u32be(4), u32be(v));
    return this;
  }

  u32List(values: ReadonlyArray<number>): this {
    const out = new Uint8Array(4 * values.length);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => view.setUint32(4 * i, v, false));
    return this.bytes(out);
  }

  finish(): Uint8Array {
    return concatBytes(...this.parts);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Uint32 vector → little-endian bytes (the wire format of masked vectors). Zero-copy on little-endian hosts. */
export function uint32ToBytes(v: Uint32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const out = new Uint8Array(v.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < v.length; i++) view.setUint32(4 * i, v[i] as number, true);
  return out;
}

/** Little-endian bytes → Uint32 vector (copies when the input is unaligned or the host is big-endian). */
export function bytesToUint32(b: Uint8Array): Uint32Array {
  if (b.length % 4 !== 0) throw new RangeError(`bytesToUint32: length ${b.length} is not a multiple of 4`);
  if (LITTLE_ENDIAN) {
    if (b.byteOffset % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    return new Uint32Array(b.slice().buffer);
  }
  const out = new Uint32Array(b.length / 4);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}
