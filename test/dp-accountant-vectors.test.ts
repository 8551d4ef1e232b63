/**
 * Every row of ../shared/vectors/dp-epsilon-reference.json, at relative error ≤ 1e-8. The rows come from
 * tensorflow/privacy rdp_accountant.py (compute_rdp + get_privacy_spent, at the commits named in each row) and
 * google/differential-privacy dp_accounting gaussian_mechanism.get_epsilon_gaussian; the file's note explains
 * that fractional orders use the sign-correct series (recent dp_accounting releases overstate them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_ORDERS, analyticGaussianEpsilon, computeRdp, epsilonFor, rdpToEpsilon } from '../privacy/accountant/index.ts';
import { SHARED_VECTORS_DIR } from './paths.ts';

const Row = z.object({
  mechanism: z.enum(['poisson_subsampled_gaussian', 'gaussian']),
  accountant: z.enum(['rdp', 'analytic_gaussian']),
  conversion: z.enum(['improved', 'classic', 'exact']),
  q: z.number(),
  sigma: z.number(),
  steps: z.number().int(),
  delta: z.number(),
  epsilon: z.number(),
  order: z.number().nullable(),
  source: z.string(),
});
const File = z.object({ about: z.string(), rows: z.array(Row).min(1) });

const vectors = File.parse(JSON.parse(readFileSync(join(SHARED_VECTORS_DIR, 'dp-epsilon-reference.json'), 'utf8')));
const MAX_REL = 1e-8;

describe('dp-epsilon-reference.json', () => {
  it('holds both accountants and both conversions', () => {
    const kinds = new Set(vectors.rows.map((r) => `${r.accountant}/${r.conversion}`));
    expect(kinds).toEqual(new Set(['rdp/improved', 'rdp/classic', 'analytic_gaussian/exact']));
  });

  for (const row of vectors.rows) {
    const name = `${row.accountant}/${row.conversion} q=${row.q} σ=${row.sigma} T=${row.steps} δ=${row.delta} → ε=${row.epsilon}`;
    it(name, () => {
      if (row.accountant === 'rdp') {
        const conversion = row.conversion === 'classic' ? 'classic' : 'improved';
        const rdp = computeRdp({ q: row.q, sigma: row.sigma, steps: row.steps });
        const direct = rdpToEpsilon({ orders: DEFAULT_ORDERS, rdp, delta: row.delta, conversion });
        expect(Math.abs(direct.epsilon - row.epsilon) / row.epsilon).toBeLessThanOrEqual(MAX_REL);
        expect(direct.order).toBe(row.order);
        const viaFront = epsilonFor({ samplingRate: row.q, noiseMultiplier: row.sigma, steps: row.steps, delta: row.delta, conversion });
        expect(viaFront.epsilon).toBe(direct.epsilon);
      } else {
        const eps = analyticGaussianEpsilon({ sigma: row.sigma, delta: row.delta, steps: row.steps });
        expect(Math.abs(eps - row.epsilon) / row.epsilon).toBeLessThanOrEqual(MAX_REL);
        const viaFront = epsilonFor({ samplingRate: 1, noiseMultiplier: row.sigma, steps: row.steps, delta: row.delta, accountant: 'analytic_gaussian' });
        expect(viaFront.epsilon).toBe(eps);
        expect(viaFront.order).toBeNull();
      }
    });
  }
});
