import { describe, expect, it } from 'vitest';
import { routesToCanary } from './canary-split.ts';

describe('routesToCanary', () => {
  it('sends exactly ⌊n·p/100⌋ of the first n requests to the canary, spread evenly', () => {
    for (const p of [1, 10, 12.5, 33, 50, 90]) {
      let canary = 0;
      for (let i = 0; i < 1000; i++) {
        if (routesToCanary(i, p)) canary++;
        expect(canary).toBe(Math.floor(((i + 1) * p) / 100));
      }
    }
    // 10%: the 10th, 20th, 30th … request.
    expect(Array.from({ length: 30 }, (_, i) => i).filter((i) => routesToCanary(i, 10))).toEqual([9, 19, 29]);
  });

  it('sends nothing at 0% and everything at 100%', () => {
    expect(routesToCanary(5, 0)).toBe(false);
    expect(routesToCanary(5, 100)).toBe(true);
  });
});
