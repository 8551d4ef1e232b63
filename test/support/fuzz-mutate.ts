/**
 * Mutations of valid wire messages for the fuzz tests: fast-check picks a few places in a message (any field,
 * nested ones and binary tensors included) and breaks each — wrong type, NaN / ±Infinity / −0 / huge numbers,
 * huge arrays, deep nesting, truncated or lengthened binary, a deleted field, an unknown field, another
 * message's `type` (out of stage). With no mutation the message is sent again as it was: a replay.
 */
import fc from 'fast-check';

type Json = unknown;
type Path = ReadonlyArray<string | number>;

/** Every path into a value (objects, arrays, typed arrays' owners), the root included. */
function paths(v: Json, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return out;
  if (Array.isArray(v)) v.slice(0, 8).forEach((x, i) => out.push(...paths(x, [...at, i])));
  else for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** A structural copy (typed arrays copied) that mutations may edit in place. */
export function cloneMessage<T>(v: T): T {
  if (ArrayBuffer.isView(v)) return new Uint8Array((v as unknown as Uint8Array).slice()) as unknown as T;
  if (Array.isArray(v)) return v.map((x: unknown) => cloneMessage(x)) as unknown as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneMessage(x)])) as T;
  return v;
}

const deep = (depth: number): Json => {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

/**
 * One mutation. Huge arrays and deep nesting are described by their size and built when applied, so that a
 * counterexample prints short (fast-check's printer recurses into the values it shows).
 */
export type Replacement =
  | { kind: 'value'; value: Json }
  | { kind: 'huge-array'; length: number }
  | { kind: 'deep'; depth: number }
  | { kind: 'delete' }
  | { kind: 'extra'; key: string; value: Json }
  | { kind: 'binary'; cut: number; extra: number };

const junkValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 2 ** 53 + 1, -1, 1e308, null, true, '', '\u0000', '\ud800', [], {}),
  fc.string({ maxLength: 40 }),
  fc.double(),
  fc.integer(),
  fc.uint8Array({ maxLength: 70 }),
  fc.jsonValue({ maxDepth: 3 }),
);

export const replacement = (types: readonly string[]): fc.Arbitrary<Replacement> =>
  fc.oneof(
    { weight: 5, arbitrary: junkValue.map((value): Replacement => ({ kind: 'value', value })) },
    { weight: 2, arbitrary: fc.constantFrom(...types).map((value): Replacement => ({ kind: 'value', value })) },
    { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((length): Replacement => ({ kind: 'huge-array', length })) },
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 5_000 }).map((depth): Replacement => ({ kind: 'deep', depth })) },
    { weight: 2, arbitrary: fc.constant<Replacement>({ kind: 'delete' }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'extra', 'type'), junkValue).map(([key, value]): Replacement => ({ kind: 'extra', key, value })) },
    { weight: 3, arbitrary: fc.tuple(fc.nat(64), fc.nat(9)).map(([cut, extra]): Replacement => ({ kind: 'binary', cut, extra })) },
  );

/** A list of (where, what) mutations; empty = a replay of the message unchanged. */
export const mutations = (types: readonly string[]): fc.Arbitrary<Array<[number, Replacement]>> => fc.array(fc.tuple(fc.nat(), replacement(types)), { maxLength: 3 });

/** Placeholder for a deep value in a message that is then sent as raw text (`deepJsonText` fills it in). */
const DEEP_SENTINEL = /"__tessera_deep_(\d+)__"/g;

/**
 * The JSON text of a message with every deep placeholder replaced by nesting of that depth, built without
 * recursion (JSON.stringify itself overflows the stack a few thousand levels down).
 */
export function deepJsonText(value: unknown): { text: string; deep: boolean } {
  const text = JSON.stringify(value);
  const deep = DEEP_SENTINEL.test(text);
  DEEP_SENTINEL.lastIndex = 0;
  return { text: text.replace(DEEP_SENTINEL, (_m, d: string) => `${'{"a":'.repeat(Number(d))}1${'}'.repeat(Number(d))}`), deep };
}

/**
 * Applies the mutations to a copy of `message`. `deep: 'placeholder'` leaves deep values as placeholders for
 * `deepJsonText` (for senders that write raw text); `deep: number` builds them, at most that deep (for senders
 * whose encoder recurses: a coordinator's socket.io server).
 */
export function mutate<T>(message: T, ops: ReadonlyArray<[number, Replacement]>, o: { deep: 'placeholder' | number } = { deep: 'placeholder' }): unknown {
  let root: Json = cloneMessage(message);
  for (const [where, r] of ops) {
    const all = paths(root);
    const path = all[where % all.length] as Path;
    const binaries = all.filter((p) => ArrayBuffer.isView(get(root, p)));
    if (r.kind === 'binary') {
      const p = binaries.length > 0 ? (binaries[where % binaries.length] as Path) : path;
      const b = get(root, p);
      if (!ArrayBuffer.isView(b)) continue;
      const bytes = b as Uint8Array;
      // Truncated (cut bytes off the end) or lengthened (extra bytes): a tensor whose length is wrong.
      const next = new Uint8Array(Math.max(0, bytes.length - r.cut) + r.extra);
      next.set(bytes.subarray(0, Math.min(bytes.length, next.length)));
      root = set(root, p, next);
    } else if (r.kind === 'delete') root = path.length === 0 ? undefined : del(root, path);
    else if (r.kind === 'extra') {
      const owner = get(root, path);
      if (owner !== null && typeof owner === 'object' && !ArrayBuffer.isView(owner) && !Array.isArray(owner)) Object.defineProperty(owner, r.key, { value: r.value, enumerable: true, configurable: true, writable: true });
    } else if (r.kind === 'huge-array') root = set(root, path, new Array<number>(r.length).fill(7));
    else if (r.kind === 'deep') root = set(root, path, o.deep === 'placeholder' ? `__tessera_deep_${r.depth}__` : deep(Math.min(r.depth, o.deep)));
    else root = set(root, path, r.value);
  }
  return root;
}

function get(v: Json, p: Path): Json {
  let cur: Json = v;
  for (const k of p) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, Json>)[k] : undefined;
  return cur;
}
function set(v: Json, p: Path, value: Json): Json {
  if (p.length === 0) return value;
  const owner = get(v, p.slice(0, -1));
  if (owner !== null && typeof owner === 'object') (owner as Record<string | number, Json>)[p[p.length - 1] as string | number] = value;
  return v;
}
function del(v: Json, p: Path): Json {
  const owner = get(v, p.slice(0, -1));
  if (owner !== null && typeof owner === 'object') delete (owner as Record<string | number, Json>)[p[p.length - 1] as string | number];
  return v;
}
