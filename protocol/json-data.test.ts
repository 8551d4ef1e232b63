import { describe, expect, it } from 'vitest';
import { isJsonData } from './json-data.ts';

describe('isJsonData', () => {
  it('accepts plain JSON data, null-prototype objects included', () => {
    expect(isJsonData({ a: [1, 'x', true, null, { b: -0 }], c: Object.assign(Object.create(null) as object, { d: 2 }) })).toBe(true);
  });

  it('refuses what JSON.stringify would drop, change or blur', () => {
    for (const v of [undefined, { a: undefined }, [1, , 2], () => 1, { f: () => 1 }, 1n, Symbol('s'), new Date(0), new Map(), new Uint8Array(1), { b: Buffer.from([1]) }]) { // eslint-disable-line no-sparse-arrays
      expect(isJsonData(v)).toBe(false);
    }
  });

  it('refuses non-finite numbers only when asked', () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(isJsonData({ n })).toBe(true);
      expect(isJsonData({ n }, { finite: true })).toBe(false);
    }
  });

  it('walks a value nested deeper than the stack without overflowing', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(isJsonData(deep)).toBe(true);
  });
});
