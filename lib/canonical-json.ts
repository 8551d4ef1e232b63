/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): one byte sequence per JSON value, so that hashes and
 * signatures over JSON are reproducible by anyone. Object members are sorted by their UTF-16 code units
 * (§3.2.3), numbers are serialised as ECMAScript's Number.prototype.toString does (§3.2.2.3), strings use
 * the minimal JSON escapes (§3.2.2.2) and no whitespace is emitted (§3.2.1). The `canonicalize` package
 * (by two of the RFC's authors) implements exactly this; we wrap it to refuse values JSON cannot carry.
 */
import canonicalizeModule from 'canonicalize';
import { TesseraError } from '../protocol/errors.ts';
import { sha256Hex } from './hash.ts';

type Serialize = (input: unknown) => string | undefined;

// `canonicalize` is CommonJS whose typings declare `export default`; under NodeNext TypeScript types the
// default import as the module namespace, while Node hands us `module.exports` (the function) itself.
const loaded: unknown = canonicalizeModule;
const serialize: Serialize =
  typeof loaded === 'function' ? (loaded as Serialize) : (loaded as { default: Serialize }).default;

/**
 * The RFC 8785 canonical form of `value`. Throws TESSERA_ERR_INVALID_ARGUMENT for values that have no JSON
 * form (undefined, functions, NaN, ±Infinity, BigInt), rather than silently hashing something else.
 */
export function canonicalJson(value: unknown): string {
  let out: string | undefined;
  try {
    out = serialize(value);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Value cannot be canonicalised as JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (out === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'Value has no JSON form (undefined, a function or a symbol)');
  return out;
}

/** SHA-256 (lower-case hex) of the UTF-8 bytes of the RFC 8785 canonical form of `value`. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
