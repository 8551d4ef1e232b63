/**
 * Deep freezing for values passed around as values (job specs): once frozen here, code that tries to change one
 * throws (ES modules run in strict mode) instead of silently changing what every other holder sees — and a cache
 * keyed by the object (isDeepFrozen) can trust that its content is what it was.
 */
const frozen = new WeakSet<object>();

/** Freezes `value` and everything it holds; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || frozen.has(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  Object.freeze(value);
  frozen.add(value);
  return value;
}

/** True when deepFreeze froze `value` (and so everything it holds). */
export function isDeepFrozen(value: unknown): boolean {
  return typeof value === 'object' && value !== null && frozen.has(value);
}
