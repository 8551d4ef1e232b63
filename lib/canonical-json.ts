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
  const lone = findLoneSurrogate(value, '$');
  if (lone !== undefined) {
    // RFC 8785 §3.2.2.2 serialises strings as UTF-8; a lone surrogate has no UTF-8 form (RFC 3629 §3), so two
    // different strings would hash to the same replacement-character bytes. Refuse rather than collide.
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Value cannot be canonicalised as JSON: ${lone} holds a lone UTF-16 surrogate (not Unicode text)`);
  }
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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first string (value or member name) holding a lone surrogate, if any. */
function findLoneSurrogate(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findLoneSurrogate(v, `${path}[${i}]`);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (LONE_SURROGATE.test(k)) return `${path} (a member name)`;
      const hit = findLoneSurrogate(v, `${path}.${k}`);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

/**
 * Parses JSON a person wrote (a policy, an approval record, a change request) and refuses duplicate member
 * names: RFC 8259 §4 leaves their meaning undefined and JSON.parse keeps the last silently, so a reviewer and
 * the code could read two different documents from one file. Throws TESSERA_ERR_INVALID_ARGUMENT naming the
 * duplicated member and where it is.
 */
export function parseJsonStrict(text: string, where: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `${where} is not JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `${where}: the member "${duplicate.key}" appears twice in one object (at ${duplicate.path})`);
  return value;
}

interface Frame {
  readonly keys: Set<string> | null; // null: an array
  expectKey: boolean;
  lastKey: string;
  index: number;
}

/** Scans JSON text that JSON.parse accepted and returns the first duplicated member name. */
function findDuplicateKey(text: string): { key: string; path: string } | undefined {
  const stack: Frame[] = [];
  const pathOf = (): string => stack.map((f) => (f.keys === null ? `[${f.index}]` : `.${f.lastKey}`)).join('') || '$';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, path: `$${pathOf().replace(/^\$/, '')}` };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === '{') stack.push({ keys: new Set(), expectKey: true, lastKey: '', index: 0 });
    else if (c === '[') stack.push({ keys: null, expectKey: false, lastKey: '', index: 0 });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  return undefined;
}
