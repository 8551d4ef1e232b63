/**
 * Whether a value is plain JSON data: objects with Object.prototype or null prototypes, arrays (without holes),
 * strings, numbers, booleans and null — nothing JSON.stringify would drop, change or blur (undefined, functions,
 * symbols, bigints, class instances, binary). With `finite`, NaN and ±Infinity (which JSON writes as null) are
 * refused too. Iterative: a value nested deeper than the stack allows (JSON.parse builds one) cannot overflow it.
 */
export function isJsonData(value: unknown, options: { readonly finite?: boolean } = {}): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (options.finite === true && !Number.isFinite(v)) return false;
      continue;
    }
    if (typeof v !== 'object') return false;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    for (const x of Object.values(v)) stack.push(x);
  }
  return true;
}
