/**
 * The quantity-skew and noise-based feature-skew partitioners (Li, Diao, Chen & He 2022, ICDE, §III; NIID-Bench):
 * every row dealt exactly once, client sizes that actually differ for small β, a split reproduced by its seed,
 * and feature noise whose measured std is σ·i/(N − 1) for client i.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../privacy/random.ts';
import { featureNoiseStd, parsePartition, partitionQuantity, withFeatureNoise } from './partition.ts';

describe('quantity skew', () => {
  it('deals every row once, at least 10 per client, with sizes drawn from Dir(β)', () => {
    const parts = partitionQuantity(5000, 10, 0.5, seededRandom('q'));
    const all = parts.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    const sizes = parts.map((p) => p.length);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(3);
    expect(partitionQuantity(5000, 10, 0.5, seededRandom('q'))).toEqual(parts);
    // Large β: nearly equal sizes.
    const even = partitionQuantity(5000, 10, 1000, seededRandom('q')).map((p) => p.length);
    expect(Math.max(...even) / Math.min(...even)).toBeLessThan(1.3);
  });

  it('parses the schemes and refuses a bad value', () => {
    expect(parsePartition('quantity:0.5')).toEqual({ kind: 'quantity', beta: 0.5 });
    expect(parsePartition('feature-noise:0.1')).toEqual({ kind: 'feature-noise', sigma: 0.1 });
    expect(parsePartition('dirichlet:1e-1')).toEqual({ kind: 'dirichlet', alpha: 0.1 });
    expect(() => parsePartition('quantity:0')).toThrow(/quantity:BETA/);
    expect(() => parsePartition('feature-noise:')).toThrow(/feature-noise:SIGMA/);
  });
});

describe('feature skew by noise', () => {
  it('client i of N gets noise of std σ·i/(N − 1), measured on 100 000 values', () => {
    expect(featureNoiseStd(0.5, 0, 5)).toBe(0);
    expect(featureNoiseStd(0.5, 4, 5)).toBe(0.5);
    expect(featureNoiseStd(0.5, 0, 1)).toBe(0);
    const x = new Float32Array(100_000).fill(0.25);
    const noisy = withFeatureNoise(x, 0.3, seededRandom('f'));
    let sq = 0;
    for (const v of noisy) sq += (v - 0.25) ** 2;
    // Sample std of n normals: relative standard error ≈ 1/√(2n) ≈ 0.0022; 5 standard errors.
    expect(Math.abs(Math.sqrt(sq / x.length) / 0.3 - 1)).toBeLessThan(0.011);
    expect(x[0]).toBe(0.25); // the input is not modified
  });
});
