import { describe, expect, it } from 'vitest';
import { parseCsvText } from '../../lib/csv.ts';
import { checkData } from './check.ts';
import { inferContract } from './infer.ts';
import { summariseForCoordinator } from './summary.ts';

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
