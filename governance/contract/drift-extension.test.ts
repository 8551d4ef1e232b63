import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../protocol/job/spec.ts';
import type { ContractCheckSummary } from '../../protocol/data-check.ts';
import { decodeExtensionSums, encodeExtensions } from '../../privacy/secagg/extension.ts';
import { cryptoRandom } from '../../privacy/random.ts';
import { dataContractContribution, dataContractExtension, decodeDataContractSum, DRIFT_VALUE_CAP, type DriftKey } from './drift-extension.ts';

const job = parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data: { dataset: 'heart' }, rounds: 1, sampling: { mode: 'poisson', rate: 1 }, secagg: { maxExamplesPerClient: 1000 } });
const layout: DriftKey[] = [
  { column: 'age', statistic: 'psi' },
  { column: 'age', statistic: 'ks' },
];
const client = (n: number, value: number, drifted: boolean, passed = true): ContractCheckSummary => ({
  contractHash: 'a'.repeat(64),
  passed,
  rows: n,
  violations: [],
  drift: [{ column: 'age', statistic: 'psi', value, threshold: 0.25, drifted, n }],
});
const sumOf = (summaries: ContractCheckSummary[]): number[] =>
  summaries.map((s) => dataContractContribution(s, layout, job)).reduce((a, v) => a.map((x, i) => x + (v[i] as number)));

describe('drift alerts from sums', () => {
  it('weights each client by its sample size and alerts when the weighted mean crosses the threshold', () => {
    // (100·0.1 + 300·0.3) / 400 = 0.25: not above 0.25, and 1 of 2 clients drifted (not more than half).
    const calm = decodeDataContractSum(sumOf([client(100, 0.1, false), client(300, 0.3, true)]), layout);
    expect(calm.drift).toEqual([{ column: 'age', statistic: 'psi', clients: 2, driftedClients: 1, n: 400, meanValue: 0.25, threshold: 0.25, alert: false }]);
    expect(calm).toMatchObject({ checked: 2, passed: 2 });
    // (100·0.1 + 300·0.4) / 400 = 0.325 > 0.25.
    expect(decodeDataContractSum(sumOf([client(100, 0.1, false), client(300, 0.4, true)]), layout).drift[0]?.alert).toBe(true);
    // Most clients drifted although the weighted mean is low: (1000·0.01 + 10·0.5 + 10·0.5) / 1020.
    const spread = decodeDataContractSum(sumOf([client(1000, 0.01, false), client(10, 0.5, true), client(10, 0.5, true)]), layout).drift[0];
    expect(spread?.meanValue).toBeCloseTo(20 / 1020, 4);
    expect(spread?.alert).toBe(true);
  });

  it('counts checked and passed clients; a statistic never reported gives no aggregate', () => {
    const d = decodeDataContractSum(sumOf([client(50, 0.1, false), client(50, 0.9, true, false)]), layout);
    expect(d).toMatchObject({ checked: 2, passed: 1 });
    expect(d.drift.map((a) => a.statistic)).toEqual(['psi']);
  });

  it('clips each contribution to the public ranges (n ≤ W, statistic ≤ cap) so the secure sum cannot wrap', () => {
    const v = dataContractContribution(client(5000, 1e6, true), layout, job);
    // [checked, passed, reported×2, drifted×2, n×2, n·v×2, n·τ×2]
    expect(v.slice(6, 8)).toEqual([1000, 0]);
    expect(v[8]).toBe(1000 * DRIFT_VALUE_CAP);
  });

  it('refuses a statistic outside the layout', () => {
    expect(() => dataContractContribution({ ...client(10, 0.1, false), drift: [{ column: 'chol', statistic: 'ks', value: 0.1, threshold: 0.2, drifted: false, n: 10 }] }, layout, job)).toThrow(/drift layout/);
  });

  it('the secure encoding decodes to the same sums: counts exactly, n-weighted statistics within a quantisation step', () => {
    const ext = dataContractExtension(job, layout.length);
    const summaries = [client(100, 0.1, false), client(300, 0.4, true), client(77, 0.33, true)];
    const clients = summaries.length;
    const encoded = summaries.map((s) => encodeExtensions([ext], { dataContract: dataContractContribution(s, layout, job) }, clients, cryptoRandom()));
    const masked = new Uint32Array(encoded[0]?.length ?? 0);
    for (const e of encoded) for (let i = 0; i < e.length; i++) masked[i] = ((masked[i] as number) + (e[i] as number)) >>> 0;
    const secure = decodeExtensionSums([ext], masked, clients, clients).dataContract?.values;
    const plain = sumOf(summaries);
    expect(secure).toBeDefined();
    const step = (1000 * DRIFT_VALUE_CAP * clients) / 2 ** 31;
    plain.forEach((x, i) => expect(Math.abs((secure?.[i] ?? Number.NaN) - x)).toBeLessThanOrEqual(i < 2 + 3 * layout.length ? 0 : clients * step));
    expect(decodeDataContractSum(secure ?? [], layout)).toEqual(decodeDataContractSum(plain, layout));
  });
});
