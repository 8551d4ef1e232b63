import { describe, expect, it } from 'vitest';
import { deepFreeze, isDeepFrozen } from './deep-freeze.ts';

describe('deepFreeze', () => {
  it('freezes every level, so changing any of them throws', () => {
    const v = deepFreeze({ a: { b: [1, { c: 2 }] }, d: 'x' });
    expect(isDeepFrozen(v)).toBe(true);
    expect(() => {
      (v.a.b[1] as { c: number }).c = 3;
    }).toThrow(TypeError);
    expect(() => {
      (v.a.b as number[]).push(4);
    }).toThrow(TypeError);
    expect(v).toEqual({ a: { b: [1, { c: 2 }] }, d: 'x' });
  });

  it('does not count an object someone else froze shallowly as deeply frozen', () => {
    const shallow = Object.freeze({ inner: { x: 1 } });
    expect(isDeepFrozen(shallow)).toBe(false);
    deepFreeze(shallow);
    expect(isDeepFrozen(shallow)).toBe(true);
    expect(Object.isFrozen(shallow.inner)).toBe(true);
  });
});
