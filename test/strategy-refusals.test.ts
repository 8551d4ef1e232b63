/**
 * ATTACK (a job that asks for what secure aggregation hides): a robust aggregator needs each client's update; a
 * job that also turns on secure aggregation asks the coordinator to take a median of values it must never see.
 * The claim: such a job is refused with TESSERA_ERR_STRATEGY_INCOMPATIBLE before any round — by preflight (`tessera
 * jobs check`, the job service's submission check), and by `tessera simulate` — never run with the median quietly
 * replaced by the mean. Likewise with DP (the ledger's ε covers the clipped SUM, not a median of updates), and Krum
 * whose f needs more clients than minClients guarantees. Controls: the same job without secure aggregation or DP
 * has no such finding; server optimisers (FedAdam) and FedProx combine with DP + secure aggregation.
 * It fails if the check is dropped from either path or if a robust aggregator is accepted under secure aggregation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { preflight } from '../coordinator/preflight.ts';
import { cli } from './support/cli.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-strategy-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  name: 'heart-risk',
  purpose: 'cardiology-research',
  model: { kind: 'logistic', inputs: 13, classes: 2 },
  data: { dataset: 'heart' },
  rounds: 3,
  sampling: { mode: 'poisson', rate: 1 },
  minClients: 3,
};
const secure = { secagg: { enabled: true, weighting: 'uniform' } };
const dp = { dp: { enabled: true, epsilon: 5, noiseMultiplier: 1, placement: 'distributed' } };
const strategyFindings = (spec: unknown) => preflight(spec).findings.filter((f) => f.code === 'TESSERA_ERR_STRATEGY_INCOMPATIBLE');

describe('robust aggregators are refused where the coordinator cannot or may not see individual updates', () => {
  it('preflight: median under secure aggregation, trimmed mean under DP, Krum with too few clients', () => {
    const median = strategyFindings({ ...base, ...secure, strategy: { aggregator: { kind: 'median' } } });
    expect(median).toHaveLength(1);
    expect(median[0]).toMatchObject({ level: 'error', where: 'strategy.aggregator' });
    expect(median[0]?.message).toMatch(/only their sum/);
    expect(preflight({ ...base, ...secure, strategy: { aggregator: { kind: 'median' } } }).ok).toBe(false);
    const trimmed = strategyFindings({ ...base, ...dp, strategy: { aggregator: { kind: 'trimmed-mean', trimFraction: 0.1 } } });
    expect(trimmed.map((f) => f.where)).toEqual(['strategy.aggregator']);
    expect(trimmed[0]?.fix).toMatch(/local placement/);
    expect(strategyFindings({ ...base, strategy: { aggregator: { kind: 'krum', byzantine: 1 } } }).map((f) => f.where)).toEqual(['minClients']);
    // Controls.
    expect(strategyFindings({ ...base, minClients: 5, strategy: { aggregator: { kind: 'krum', byzantine: 1 } } })).toEqual([]);
    expect(strategyFindings({ ...base, strategy: { aggregator: { kind: 'median' } } })).toEqual([]);
    expect(strategyFindings({ ...base, ...secure, ...dp, strategy: { name: 'fedadam', proximalMu: 0.01 } })).toEqual([]);
  });

  it('`tessera jobs check` names the code and exits 1; `tessera simulate --secagg --aggregator median` refuses with it (exit 2)', async () => {
    const file = join(dir, 'median-secagg.json');
    writeFileSync(file, JSON.stringify({ ...base, ...secure, strategy: { aggregator: { kind: 'median' } } }));
    const check = await cli('jobs', 'check', file);
    expect(check.code).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/error \[TESSERA_ERR_STRATEGY_INCOMPATIBLE\] strategy\.aggregator/);
    const sim = await cli('simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--rounds', '1', '--secagg', '--aggregator', 'median', '--json');
    expect(sim.code).toBe(2);
    expect(sim.stderr).toMatch(/TESSERA_ERR_STRATEGY_INCOMPATIBLE/);
    expect(sim.stdout).not.toMatch(/"accuracy"/);
  }, 120_000);
});
