import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../protocol/errors.ts';
import { clipL2, clippingReport, l2Norm } from './clip.ts';

describe('clipL2', () => {
  it('never returns an update with norm above C (+1e-6), for any float32 vector and C', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        (values, C) => {
          const r = clipL2(Float32Array.from(values), C);
          expect(l2Norm(r.clipped)).toBeLessThanOrEqual(C + 1e-6);
          // Stronger than required: the float64 norm of the float32 result is ≤ C exactly.
          expect(l2Norm(r.clipped)).toBeLessThanOrEqual(C);
          expect(r.wasClipped).toBe(r.norm > C);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keeps direction and lands on C when clipping', () => {
    const u = Float32Array.from([3, 4]); // norm 5
    const r = clipL2(u, 1);
    expect(r.norm).toBe(5);
    expect(r.wasClipped).toBe(true);
    expect(r.clipped[0]).toBeCloseTo(0.6, 6);
    expect(r.clipped[1]).toBeCloseTo(0.8, 6);
    expect(l2Norm(r.clipped)).toBeCloseTo(1, 6);
  });

  it('leaves a small update unchanged but returns a copy', () => {
    const u = Float32Array.from([0.1, -0.2, 0]);
    const r = clipL2(u, 1);
    expect(r.wasClipped).toBe(false);
    expect(Array.from(r.clipped)).toEqual(Array.from(u));
    expect(r.clipped).not.toBe(u);
  });

  it('holds at large C where float32 rounding alone would overshoot', () => {
    // 1000 coordinates of equal size: after scaling, rounding errors add up in the norm.
    const u = new Float32Array(1000).fill(7.123456);
    for (const C of [1234.5678, 99999.99, 3.3333333]) expect(l2Norm(clipL2(u, C).clipped)).toBeLessThanOrEqual(C);
  });

  it('refuses NaN and infinite updates with TESSERA_ERR_UPDATE_NONFINITE', () => {
    for (const bad of [Number.NaN, Infinity]) {
      try {
        clipL2(Float32Array.from([1, bad]), 1);
        expect.unreachable();
      } catch (e) {
        expect(isTesseraError(e) && e.code).toBe('TESSERA_ERR_UPDATE_NONFINITE');
      }
    }
  });

  it('reports the fraction clipped', () => {
    const results = [Float32Array.from([3, 4]), Float32Array.from([0.1]), Float32Array.from([2])].map((u) => clipL2(u, 1));
    expect(clippingReport(results)).toEqual({ clients: 3, clipped: 2, fraction: 2 / 3 });
    expect(clippingReport([]).fraction).toBe(0);
  });
});
