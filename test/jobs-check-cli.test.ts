/**
 * `tessera jobs check` (issue 15 §2) in child processes, on each broken example of the issue: the README's
 * `"fairness": {"rules": …}` (an unknown key, named with the key it should be), a DP job whose secure aggregation
 * weights by examples, secure aggregation whose parameters have no safe (k, t) at minClients, a missing roster,
 * a roster with too few organisations, and a federation whose organisations have no consent on the coordinator
 * (CONSENT_MISSING ×3), then with consent the operator typed in unsigned (CONSENT_UNSIGNED ×3). Each prints its specific finding with a fix and exits 1; a sound job exits 0. Also
 * `tessera jobs schema`: the JSON Schema refuses unknown keys, as the coordinator does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientRosterDocument } from '../governance/identity/client-roster.ts';
import { grantConsent, recordSignedConsent } from '../governance/consent/store.ts';
import { signConsent } from '../governance/consent/signed.ts';
import { clientRoster } from '../governance/identity/client-roster.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { openDatabase } from '../governance/state/database.ts';
import { evaluatePolicy } from '../client/policy/rules.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { preflight } from '../coordinator/preflight.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { cli, type CliResult } from './support/cli.ts';


/** `tessera …` as a child process, as a user's shell would run it. */
const tessera = (args: readonly string[]): Promise<CliResult> => cli('jobs', ...args);

const dir = mkdtempSync(join(tmpdir(), 'tessera-jobs-check-'));
const stateDir = join(dir, 'state');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown): string => {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(content));
  return p;
};

const ORGS = ['cleveland', 'hungarian', 'va'];
const orgKey = (i: number) => keyPairFromSeed(new Uint8Array(32).fill(i + 1));
const rosterDocument = clientRosterDocument(ORGS.map((o, i) => ({ clientId: o, orgId: o, publicKey: orgKey(i).publicKey })));
/** A sound DP + secure-aggregation heart job for three organisations (docs/operator.md's). */
const good = {
  name: 'heart-risk',
  purpose: 'cardiology-research',
  model: { kind: 'logistic', inputs: 13, classes: 2 },
  data: { dataset: 'heart' },
  rounds: 3,
  sampling: { mode: 'poisson', rate: 1 },
  minClients: 3,
  dp: { enabled: true, epsilon: 5, noiseMultiplier: 1, placement: 'distributed' },
  secagg: { enabled: true, weighting: 'uniform' },
};

beforeAll(() => {
  // The coordinator's state: a roster of three organisations, each with a real key (they sign consent below).
  const db = openDatabase(stateDir);
  db.close();
  writeFileSync(join(stateDir, 'secagg-identities.json'), JSON.stringify(rosterDocument));
});

describe('tessera jobs check', () => {
  it('names each unknown key and the key it should be (the README once wrote fairness.rules; a typo of minClients)', async () => {
    const r = await tessera(['check', file('rules.json', { ...good, minClient: 3, fairness: { enabled: true, sensitive: ['sex'], rules: [] } })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error [TESSERA_ERR_INVALID_JOB_SPEC] fairness.rules: unknown key "fairness.rules"; did you mean "policy"?');
    expect(r.stdout).toMatch(/fix: rename it to "fairness\.policy"/);
    expect(r.stdout).toContain('unknown key "minClient"; did you mean "minClients"?');
  }, 60_000);

  it('refuses DP with secure aggregation weighted by examples, with the fix', async () => {
    const r = await tessera(['check', file('weighting.json', { ...good, secagg: { enabled: true, weighting: 'examples' } })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/error \[TESSERA_ERR_DP_CONFIG\] dp: with DP on, secure aggregation must use secagg.weighting = "uniform"/);
    expect(r.stdout).toContain('fix: set secagg.weighting to "uniform"');
  }, 60_000);

  it('names the fewest clients the secure-aggregation parameters allow: an error when the roster can never reach it', async () => {
    const r = await tessera(['check', file('secagg-n.json', { ...good, minClients: 2, secagg: { enabled: true, weighting: 'uniform', dropoutRate: 0.3, corruptRate: 0.45 } }), '--roster', join(stateDir, 'secagg-identities.json'), '--json']);
    const doc = JSON.parse(r.stdout) as { ok: boolean; findings: Array<{ level: string; code: string; where: string; fix: string }> };
    expect(r.code).toBe(1);
    expect(doc.ok).toBe(false);
    expect(doc.findings).toContainEqual(expect.objectContaining({ level: 'error', code: 'TESSERA_ERR_SECAGG_PARAMS', where: 'minClients', fix: 'raise minClients to at least 4 and admit at least 4 organisations' }));
    // The clients' default policy refuses rounds under 3: a warning, since an organisation may allow it.
    expect(doc.findings).toContainEqual(expect.objectContaining({ level: 'warning', code: 'TESSERA_ERR_SECAGG_POLICY' }));
  }, 60_000);

  it('refuses a missing roster and a roster with too few organisations', async () => {
    const missing = await tessera(['check', file('ok1.json', good), '--roster', join(dir, 'nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/error \[TESSERA_ERR_INVALID_ARGUMENT\] roster: no consortium roster at .*nope\.json/);
    const small = file('small-roster.json', clientRosterDocument([{ clientId: 'cleveland', orgId: 'cleveland', publicKey: new Uint8Array(32).fill(1) }]));
    const few = await tessera(['check', file('ok2.json', good), '--roster', small]);
    expect(few.code).toBe(1);
    expect(few.stdout).toContain('the roster admits 1 organisation(s) (cleveland); the job needs 3 per round');
  }, 60_000);

  it('names every organisation without consent on the coordinator (CONSENT_MISSING ×3); operator-entered consent does not count (CONSENT_UNSIGNED ×3); it passes once each organisation signed its consent', async () => {
    const job = file('heart.json', good);
    const r = await tessera(['check', job, '--state', stateDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('consent covers 0 of 3 organisation(s), the job needs 3: CONSENT_MISSING ×3 (cleveland, hungarian, va)');
    expect(r.stdout).toMatch(/fix: va signs: tessera consent sign --org va --client CLIENT --key KEY --dataset heart --purposes cardiology-research .*; then tessera consent record --state DIR --file FILE --roster ROSTER/);
    // The insider's shortcut: consent typed in by the operator, unsigned. The round loop would exclude every
    // organisation (the coordinator checks signatures against the roster), so the preflight refuses it too.
    const db = openDatabase(stateDir);
    for (const organisation of ORGS) grantConsent(db, { organisation, dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2099-01-01', maxEpsilon: 10, retentionDays: 30, actor: 'test' });
    db.close();
    const unsigned = await tessera(['check', job, '--state', stateDir]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toContain('CONSENT_UNSIGNED ×3 (cleveland, hungarian, va)');
    // A signed consent must be issued after the organisation's latest recorded grant (the unsigned one above), or it
    // is refused as a replay: sign strictly later than that grant, however fast the machine.
    await new Promise((r) => setTimeout(r, 5));
    const db2 = openDatabase(stateDir);
    const roster = clientRoster(rosterDocument);
    ORGS.forEach((organisation, i) => {
      const signed = signConsent({ organisation, clientId: organisation, dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2099-01-01T00:00:00Z', maxEpsilon: 10, retentionDays: 30 }, orgKey(i), new Date());
      recordSignedConsent(db2, signed, { roster, actor: 'test' });
    });
    db2.close();
    const ok = await tessera(['check', job, '--state', stateDir]);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/^ok: heart-risk-[0-9a-f]{12} passes the preflight/m)]);
  }, 60_000);

  it('a job without DP: warned that the default client policy declines it, and no consent with an ε cap covers it', async () => {
    const r = await tessera(['check', file('nodp.json', { ...good, name: 'nodp', dp: { enabled: false } }), '--state', stateDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/warning \[TESSERA_ERR_POLICY_DP_REQUIRED\] dp.enabled/);
    expect(r.stdout).toMatch(/CONSENT_EPSILON ×3 \(cleveland, hungarian, va\)/);
  }, 60_000);
});

describe('tessera jobs schema', () => {
  it('prints a JSON Schema generated from the job spec that refuses unknown keys', async () => {
    const r = await tessera(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { $schema: string; required: string[]; additionalProperties: unknown; properties: Record<string, { additionalProperties?: unknown }> };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.required).toEqual(expect.arrayContaining(['model', 'data', 'rounds', 'sampling']));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.fairness?.additionalProperties).toBe(false);
  }, 60_000);
});

/**
 * A DP job whose evaluation sums carry no noise: the default client policy (dp.requireEvaluationNoise) declines
 * every federated evaluation of it, so the registry and the gate would get no held-out figures — a warning.
 */
describe('preflight and evaluation noise', () => {
  const noiseWarnings = (spec: unknown) => preflight(spec).findings.filter((f) => f.code === 'TESSERA_ERR_POLICY_EVALUATION_NOISE');

  it('warns about a DP job without evaluation.noise, which default-policy clients decline to evaluate', () => {
    const w = noiseWarnings(good);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ level: 'warning', where: 'evaluation.noise' });
    expect(w[0]?.fix).toMatch(/"noise": \{"noiseMultiplier"/);
    expect(preflight(good).ok).toBe(true);
    // The warning says what the client's own policy does with an evaluation task of this job.
    const decision = evaluatePolicy(DEFAULT_CLIENT_POLICY, parseJobSpec(good), { jobId: 'job-1', round: 1, task: 'evaluate' });
    expect(decision.violations.map((v) => v.code)).toContain('TESSERA_ERR_POLICY_EVALUATION_NOISE');
  });

  it('does not warn with evaluation.noise, nor for a job without DP', () => {
    expect(noiseWarnings({ ...good, evaluation: { noise: { noiseMultiplier: 1, maxExamplesPerClient: 200 } } })).toEqual([]);
    expect(noiseWarnings({ ...good, dp: { enabled: false } })).toEqual([]);
  });
});
