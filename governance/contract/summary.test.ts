import { describe, expect, it } from 'vitest';
import { parseCsvText } from '../../lib/csv.ts';
import { checkData } from './check.ts';
import { inferContract } from './infer.ts';
import type { ContractCheckSummary } from './summary.ts';
import { aggregateDrift, summariseForCoordinator } from './summary.ts';

function table(rows: string[], source = 'mem.csv') {
  return parseCsvText(['height,city,label', ...rows].join('\n'), {}, source);
}

// Reference: heights 150..199 cm, cities a/b alternating, labels y/n alternating.
const ref = table(Array.from({ length: 50 }, (_, i) => `${150 + i},${i % 2 === 0 ? 'a' : 'b'},${i % 2 === 0 ? 'y' : 'n'}`));
const contract = inferContract(ref, { name: 'people', label: 'label' });

describe('summariseForCoordinator', () => {
  it('keeps codes, counts and drift numbers, and no raw value, message or row number', () => {
    const secret = 'Zürich-Secret-Street-12';
    const data = table([...Array.from({ length: 48 }, (_, i) => `${160 + (i % 30)},a,y`), `tall,${secret},y`, `999999,b,n`]);
    const report = checkData(contract, data);
    expect(report.passed).toBe(false);
    expect(JSON.stringify(report)).toContain(secret); // the local report may quote it …
    const summary = summariseForCoordinator(report);
    const wire = JSON.stringify(summary);
    expect(wire).not.toContain(secret); // … the summary never does.
    expect(wire).not.toContain('tall');
    expect(wire).not.toContain('999999');
    expect(wire).not.toContain('line');
    expect(summary.reason).toBe('TESSERA_ERR_CONTRACT_VIOLATION');
    expect(summary.contractHash).toBe(report.contract.hash);
    expect(summary.rows).toBe(50);
    expect(summary.violations).toEqual(
      expect.arrayContaining([
        { code: 'type', column: 'height', count: 1 },
        { code: 'range', column: 'height', count: 1 },
        { code: 'category', column: 'city', count: 1 },
      ]),
    );
    expect(summary.drift.every((d) => typeof d.value === 'number' && typeof d.threshold === 'number')).toBe(true);
  });

  it('a passing check gives a summary without a reason', () => {
    const summary = summariseForCoordinator(checkData(contract, ref));
    expect(summary).toMatchObject({ passed: true, violations: [] });
    expect(summary.reason).toBeUndefined();
  });
});

describe('aggregateDrift', () => {
  const hash = 'a'.repeat(64);
  const client = (n: number, value: number, drifted: boolean): ContractCheckSummary => ({
    contractHash: hash,
    passed: true,
    rows: n,
    violations: [],
    drift: [{ column: 'age', statistic: 'psi', value, threshold: 0.25, drifted, n }],
  });

  it('weights each client by its sample size and alerts when the weighted mean crosses the threshold', () => {
    // (100·0.1 + 300·0.3) / 400 = (10 + 90) / 400 = 0.25: not above 0.25, and 1 of 2 clients drifted (not more than half).
    const [calm] = aggregateDrift([client(100, 0.1, false), client(300, 0.3, true)]);
    expect(calm).toMatchObject({ column: 'age', statistic: 'psi', clients: 2, driftedClients: 1, n: 400, meanValue: 0.25, maxValue: 0.3, threshold: 0.25, alert: false });
    // (100·0.1 + 300·0.4) / 400 = 130 / 400 = 0.325 > 0.25.
    expect(aggregateDrift([client(100, 0.1, false), client(300, 0.4, true)])[0]?.alert).toBe(true);
    // Most clients drifted although the weighted mean is low: (1000·0.01 + 10·0.5 + 10·0.5) / 1020 = 0.0196.
    const spread = aggregateDrift([client(1000, 0.01, false), client(10, 0.5, true), client(10, 0.5, true)])[0];
    expect(spread?.meanValue).toBeCloseTo(20 / 1020, 6);
    expect(spread?.alert).toBe(true);
  });

  it('refuses to mix contracts', () => {
    expect(() => aggregateDrift([client(1, 0, false), { ...client(1, 0, false), contractHash: 'b'.repeat(64) }])).toThrow(/different contracts/);
  });
});
