/**
 * `tessera policy show|check` as child processes (node --import tsx cli/main.ts): the effective policy with its
 * defaults, every failing rule of a job with the ε the client recomputes, and the exit codes 0 ok / 1 refused /
 * 2 unusable input; `--help` on each command.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ClientPolicyFile, DEFAULT_CLIENT_POLICY, policyDocument } from '../client/policy/schema.ts';
import { cli } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-policy-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, value: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
};
const base = { name: 'j', model: { kind: 'logistic', inputs: 15, classes: 2 }, data: { dataset: 'heart' }, sampling: { mode: 'poisson', rate: 1 } };
const strong = { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' };
const Check = z.strictObject({
  ok: z.boolean(),
  policy: z.string(),
  recomputedEpsilon: z.number().nullable(),
  declaredEpsilon: z.number().nullable(),
  epsilonBasis: z.string(),
  violations: z.array(z.strictObject({ rule: z.string(), code: z.string(), message: z.string() })),
});

describe('tessera policy', () => {
  it('show prints the strict default with every field, or a file with its defaults filled in', async () => {
    const d = await cli('policy', 'show', '--json');
    expect(d.code).toBe(0);
    const shown = z.strictObject({ source: z.string(), policy: ClientPolicyFile }).parse(JSON.parse(d.stdout));
    expect(shown).toEqual({ source: 'default', policy: policyDocument(DEFAULT_CLIENT_POLICY) });
    const f = await cli('policy', 'show', '--json', '--policy', file('p.json', { version: 1, dp: { maxEpsilon: 3 } }));
    expect(JSON.parse(f.stdout)).toMatchObject({ policy: { dp: { maxEpsilon: 3, maxTotalEpsilon: 30 }, secagg: { required: true } } });
  }, 60_000);

  it('check: exit 1 with every failing rule and the recomputed ε; exit 0 for a job that meets the policy', async () => {
    const lie = file('lie.json', { ...base, rounds: 100, secagg: strong, dp: { enabled: true, epsilon: 1, noiseMultiplier: 0.05 } });
    const r = await cli('policy', 'check', '--job', lie, '--json');
    expect(r.code).toBe(1);
    const out = Check.parse(JSON.parse(r.stdout));
    expect(out.violations.map((v) => v.code)).toEqual(['TESSERA_ERR_POLICY_EPSILON', 'TESSERA_ERR_POLICY_DP_NOISE']);
    expect(out.declaredEpsilon).toBe(1);
    expect(out.recomputedEpsilon).toBeGreaterThan(20_000);
    const fair = file('fair.json', { ...base, rounds: 20, sampling: { mode: 'poisson', rate: 0.2 }, secagg: strong, dp: { enabled: true, epsilon: 5, noiseMultiplier: 1.1 } });
    const ok = await cli('policy', 'check', '--job', fair);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/meets the client policy \(default\)/);
  }, 60_000);

  it('exit 2 for an invalid policy file or job file; --help on each command', async () => {
    const fair = file('fair2.json', { ...base, rounds: 1, secagg: strong });
    const typo = await cli('policy', 'check', '--job', fair, '--policy', file('typo.json', { version: 1, dp: { maxEpsilonn: 3 } }));
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/TESSERA_ERR_POLICY_INVALID.*maxEpsilonn/);
    expect((await cli('policy', 'check', '--job', file('bad-job.json', '{"rounds": 0}'))).code).toBe(2);
    for (const c of ['show', 'check']) {
      const h = await cli('policy', c, '--help');
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/--policy <file>/);
    }
  }, 60_000);
});
