import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../protocol/errors.ts';
import { DEFAULT_ORDERS, computeRdp, rdpSubsampledGaussian } from './rdp.ts';
import { rdpToEpsilon } from './conversion.ts';

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

describe('DEFAULT_ORDERS', () => {
  it('is {1.1,…,10.9} ∪ {11,…,63} ∪ {128,256,512,1024}', () => {
    expect(DEFAULT_ORDERS).toHaveLength(99 + 53 + 4);
    expect(DEFAULT_ORDERS[0]).toBe(1.1);
    expect(DEFAULT_ORDERS[36]).toBe(4.7);
    expect(DEFAULT_ORDERS[98]).toBe(10.9);
    expect(DEFAULT_ORDERS.slice(99, 101)).toEqual([11, 12]);
    expect(DEFAULT_ORDERS.slice(-5)).toEqual([63, 128, 256, 512, 1024]);
  });
});

describe('rdpSubsampledGaussian against high-precision values', () => {
  // Integer orders: the exact binomial sum of Mironov, Talwar & Zhang 2019 §3.2, evaluated with mpmath 1.3.0
  // at mp.dps = 60 (log(Σ_k C(α,k)(1−q)^{α−k}q^k e^{(k²−k)/(2σ²)})/(α−1)).
  it.each([
    [0.001, 0.6, 1024, '1415.30771449428702345262'],
    [0.00001, 3, 20, '1.175216521033109091045837e-10'], // A_α − 1 ≈ 2e-9: needs the expm1 form
    [0.01, 4, 20, '0.00006526312957280386721167517'],
    [0.5, 1, 63, '30.79567302620521299335736'],
  ])('q=%d σ=%d α=%d', (q, sigma, order, ref) => {
    expect(rel(rdpSubsampledGaussian(q, sigma, order), Number(ref))).toBeLessThan(1e-12);
  });

  // Fractional orders: log(∫ μ0^{1−α} μ^α dz)/(α−1) by mpmath.quad at mp.dps = 40 (μ0 = N(0,σ²),
  // μ = (1−q)N(0,σ²) + qN(1,σ²)), the definition the series of §3.3 expands.
  it.each([
    [0.001, 0.6, 1.1, '0.00000786642538827546084227585'],
    [0.5, 5, 1.1, '0.005532842306232030024782991'],
    [0.2, 10, 1.1, '0.0002207395419927808644316317'],
    [0.01, 1.1, 4.7, '0.0003177880718219469754519511'],
  ])('q=%d σ=%d α=%d', (q, sigma, order, ref) => {
    expect(rel(rdpSubsampledGaussian(q, sigma, order), Number(ref))).toBeLessThan(1e-9);
  });

  // q near 1/2 with large σ: the series tail decays only polynomially and is cut off with a sound upper bound
  // (Leibniz bracket, else the convexity chord). Reference: mpmath.quad as above.
  it.each([
    [0.5, 50, 1.1, '0.00005500329984051842571316152'],
    [0.5, 512, 1.5, '0.0000007152564194257680397789532'],
  ])('slow tail q=%d σ=%d α=%d: never below the true value, and within 1e-6 of it', (q, sigma, order, ref) => {
    const v = rdpSubsampledGaussian(q, sigma, order);
    expect(v).toBeGreaterThanOrEqual(Number(ref) * (1 - 1e-12));
    expect(rel(v, Number(ref))).toBeLessThan(1e-6);
  });

  it('q = 1 is the Gaussian mechanism α/(2σ²) (Mironov 2017, Prop. 7); q = 0 costs nothing', () => {
    expect(rdpSubsampledGaussian(1, 2, 3.5)).toBe(3.5 / 8);
    expect(rdpSubsampledGaussian(0, 2, 3.5)).toBe(0);
    expect(rdpSubsampledGaussian(0.1, 0, 3.5)).toBe(Infinity);
  });

  it('fractional orders interpolate their integer neighbours (RDP is non-decreasing in α)', () => {
    const rdp = computeRdp({ q: 0.05, sigma: 1.3, steps: 1 });
    for (let i = 1; i < rdp.length; i++) expect(rdp[i] as number).toBeGreaterThanOrEqual((rdp[i - 1] as number) * (1 - 1e-12));
  });

  it('composes linearly over steps', () => {
    const one = computeRdp({ q: 0.02, sigma: 1.1, steps: 1 });
    const many = computeRdp({ q: 0.02, sigma: 1.1, steps: 250 });
    one.forEach((v, i) => expect(many[i]).toBeCloseTo(v * 250, 10));
  });

  it('refuses nonsense with TESSERA_ERR_ACCOUNTANT', () => {
    for (const bad of [() => rdpSubsampledGaussian(1.5, 1, 2), () => rdpSubsampledGaussian(0.1, 1, 1), () => computeRdp({ q: 0.1, sigma: 1, steps: 1.5 })]) {
      try {
        bad();
        expect.unreachable();
      } catch (e) {
        expect(isTesseraError(e) && e.code === 'TESSERA_ERR_ACCOUNTANT').toBe(true);
      }
    }
  });
});

describe('rdpToEpsilon', () => {
  it('classic is Mironov 2017 Prop. 3 at the best order', () => {
    const orders = [2, 4, 8];
    const rdp = [0.1, 0.3, 1.0];
    const { epsilon, order } = rdpToEpsilon({ orders, rdp, delta: 1e-5, conversion: 'classic' });
    const expected = Math.min(...orders.map((a, i) => (rdp[i] as number) + Math.log(1e5) / (a - 1)));
    expect(epsilon).toBeCloseTo(expected, 14);
    expect(order).toBe(8);
  });
  it('improved is never worse than classic for orders > 1.01', () => {
    const rdp = computeRdp({ q: 0.01, sigma: 1, steps: 1000 });
    const classic = rdpToEpsilon({ orders: DEFAULT_ORDERS, rdp, delta: 1e-5, conversion: 'classic' });
    const improved = rdpToEpsilon({ orders: DEFAULT_ORDERS, rdp, delta: 1e-5 });
    expect(improved.epsilon).toBeLessThan(classic.epsilon);
  });
  it('returns 0 when δ² ≥ 1 − e^{−rdp} (the KL bound)', () => {
    expect(rdpToEpsilon({ orders: [2], rdp: [1e-12], delta: 1e-5 }).epsilon).toBe(0);
  });
});
