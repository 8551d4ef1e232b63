/**
 * Secure extensions (issue 21 §3): the one definition of the numeric feature data a client adds to its update,
 * so the plain and the secure paths carry the same thing. A feature (the data-contract drift sums, the
 * adaptive-clipping indicator …) declares a fixed-length vector of segments; each segment has a public
 * per-client range derived from the job spec, so every client's vector has the same layout and the same
 * integer encoding. The plain path sends the real-valued vector and the coordinator adds them up; the secure
 * path encodes it into integers, appends it to the quantised update before masking (one SecAgg run over
 * everything) and the coordinator decodes the unmasked SUM — it never sees one client's vector.
 *
 * Two kinds of segment, each reusing the secure sum's existing encodings:
 *  - `count`: non-negative integers ≤ `bound` (integer-sum.ts): exact, and n·bound ≤ 2^32 − 1 keeps the sum
 *    from wrapping;
 *  - `real`: real numbers quantised like the update (quantize.ts: stochastic rounding, unbiased, at the finest
 *    scale whose n-fold sum cannot wrap for values in [−range, range]); `clamp` clips to the range first (a
 *    statistic with a public bound), `modular` does not (a noised DP value: clamping would cut its noise;
 *    quantize.ts explains why a wrap is post-processing).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { UpdateExtensions } from '../../protocol/messages.ts';
import type { RandomSource } from '../random.ts';
import { dequantizeSum, quantizationParams, quantize, type QuantizationParams } from './quantize.ts';

const UINT32_MAX = 2 ** 32 - 1;

export type ExtensionSegment =
  | { readonly name: string; readonly kind: 'count'; readonly length: number; readonly bound: number }
  | { readonly name: string; readonly kind: 'real'; readonly length: number; readonly range: number; readonly mode: 'clamp' | 'modular' };

/** The wire keys of the extensions (protocol/messages.ts), in the one order both sides lay them out. */
export const EXTENSION_KEYS = UpdateExtensions.keyof().options;
export type ExtensionKey = keyof UpdateExtensions;

export interface UpdateExtension {
  readonly key: ExtensionKey;
  readonly segments: readonly ExtensionSegment[];
}

/** A client's values for each extension of the round (real numbers; counts must be integers): the wire type. */
export type ExtensionValues = UpdateExtensions;

/** What the coordinator learns of an extension: the sum over `reports` clients, never one client's vector. */
export interface ExtensionSum {
  readonly values: Float64Array;
  readonly reports: number;
}
export type ExtensionSums = { readonly [K in ExtensionKey]?: ExtensionSum };

export function extensionLength(ext: UpdateExtension): number {
  return ext.segments.reduce((s, g) => s + g.length, 0);
}

export function extensionsLength(exts: readonly UpdateExtension[]): number {
  return exts.reduce((s, e) => s + extensionLength(e), 0);
}

/** Extensions in the canonical order (EXTENSION_KEYS), each key at most once. */
export function orderExtensions(exts: readonly UpdateExtension[]): UpdateExtension[] {
  const seen = new Set<ExtensionKey>();
  for (const e of exts) {
    if (seen.has(e.key)) throw new TesseraError('TESSERA_ERR_INTERNAL', `two definitions of the update extension '${e.key}'`);
    seen.add(e.key);
  }
  return [...exts].sort((a, b) => EXTENSION_KEYS.indexOf(a.key) - EXTENSION_KEYS.indexOf(b.key));
}

function realParams(seg: Extract<ExtensionSegment, { kind: 'real' }>, clients: number): QuantizationParams {
  return quantizationParams({ clipRange: seg.range, clients, mode: seg.mode });
}

/** Refuses a layout whose sums could wrap for `clients` summands (both sides check, like integer-sum.ts). */
export function checkExtensions(exts: readonly UpdateExtension[], clients: number): void {
  for (const e of exts) {
    for (const s of e.segments) {
      if (!Number.isInteger(s.length) || s.length < 0) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `extension ${e.key}.${s.name}: length must be a non-negative integer`);
      if (s.kind === 'count' && (!Number.isInteger(s.bound) || s.bound < 0 || clients * s.bound > UINT32_MAX)) {
        throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `extension ${e.key}.${s.name}: ${clients} clients × per-client bound ${s.bound} can wrap modulo 2^32`, { details: { extension: e.key, segment: s.name, clients } });
      }
      if (s.kind === 'real') realParams(s, clients);
    }
  }
}

/** Checks a client's plain values against the layout: right length, finite, counts integral within bounds. */
export function checkExtensionValues(ext: UpdateExtension, values: readonly number[]): void {
  if (values.length !== extensionLength(ext)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `extension ${ext.key} has ${values.length} values, the job's layout ${extensionLength(ext)}`);
  let i = 0;
  for (const s of ext.segments) {
    for (let j = 0; j < s.length; j++, i++) {
      const v = values[i] as number;
      if (!Number.isFinite(v)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `extension ${ext.key}.${s.name}[${j}] is ${v}`);
      if (s.kind === 'count' && (!Number.isInteger(v) || v < 0 || v > s.bound)) {
        throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `extension ${ext.key}.${s.name}[${j}] is ${v}, outside the public per-client range [0, ${s.bound}]`);
      }
    }
  }
}

/**
 * The integers a client appends to its masked input: every extension of the round, in order. A missing
 * extension is refused (the layout is the job's, not the client's choice).
 */
export function encodeExtensions(exts: readonly UpdateExtension[], values: ExtensionValues, clients: number, rng: RandomSource): Uint32Array {
  const out = new Uint32Array(extensionsLength(exts));
  let at = 0;
  for (const e of exts) {
    const v = values[e.key];
    if (v === undefined) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the job's secure input includes the ${e.key} extension; this client has no values for it`);
    checkExtensionValues(e, v);
    let i = 0;
    for (const s of e.segments) {
      const part = v.slice(i, i + s.length);
      if (s.kind === 'count') out.set(part, at);
      else quantize(part, realParams(s, clients), rng, { out: out.subarray(at, at + s.length) });
      i += s.length;
      at += s.length;
    }
  }
  return out;
}

/** The sums of the extensions from the unmasked tail of the vector (`survivors` summands; exact for counts). */
export function decodeExtensionSums(exts: readonly UpdateExtension[], sum: Uint32Array, clients: number, survivors: number): ExtensionSums {
  if (sum.length !== extensionsLength(exts)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the extension sum has ${sum.length} coordinates, the layout ${extensionsLength(exts)}`);
  if (survivors > clients) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `${survivors} summands exceed the ${clients} the layout was checked for`);
  const out: { [K in ExtensionKey]?: ExtensionSum } = {};
  let at = 0;
  for (const e of exts) {
    const values = new Float64Array(extensionLength(e));
    let i = 0;
    for (const s of e.segments) {
      const part = sum.subarray(at, at + s.length);
      if (s.kind === 'count') values.set(part, i);
      else values.set(dequantizeSum(part, realParams(s, clients), survivors), i);
      i += s.length;
      at += s.length;
    }
    out[e.key] = { values, reports: survivors };
  }
  return out;
}

/** Plain path: adds one client's checked values into the running sums (float64, in the caller's order). */
export function addExtensionValues(sums: Map<ExtensionKey, { values: Float64Array; reports: number }>, ext: UpdateExtension, values: readonly number[]): void {
  checkExtensionValues(ext, values);
  let s = sums.get(ext.key);
  if (s === undefined) {
    s = { values: new Float64Array(values.length), reports: 0 };
    sums.set(ext.key, s);
  }
  for (let i = 0; i < values.length; i++) s.values[i] = (s.values[i] as number) + (values[i] as number);
  s.reports++;
}
