/**
 * Issue 19 §4, attribute inference: a deliberately overfit Adult model (300 training rows over 2 clients, a
 * 256-unit MLP, 10 rounds × 20 local epochs, no DP) lets the lowest-loss attack (Yeom et al. 2018 §4) recover `sex`
 * more often on its training rows than on held-out rows — the advantage is positive and its 95 % Newcombe interval
 * excludes zero — and the registered model's card shows those figures. (The strong-DP run where it vanishes is in
 * simulations/attribute-inference.test.ts.) A record written before the attribute attack still reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { generateModelCard } from '../governance/model-card/generate.ts';
import { ModelPrivacyAudit } from '../governance/registry/privacy-audit.ts';
import { getModel } from '../governance/registry/registry.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation } from '../simulations/simulate.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-attrinf-card-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('attribute inference against an overfit Adult model, in the model card', () => {
  it('recovers sex better on training rows than on held-out rows (interval above zero), and the card says so', async () => {
    const stateDir = join(dir, 'state');
    const sim = await runSimulation(
      {
        dataset: 'adult',
        clients: 2,
        rounds: 10,
        seed: 5,
        trainLimit: 300,
        testLimit: 1000,
        checkContract: false,
        stateDir,
        auditPrivacy: { canaries: 2, heldOutCanaries: 10 },
        job: { model: { kind: 'mlp', hidden: [256] }, training: { epochs: 20, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' } },
      },
      { logger: silentLogger() },
    );
    const ai = sim.privacyAudit?.attributeInference;
    const version = sim.registered?.version;
    const sex = ai?.attributes.find((r) => r.attribute === 'sex');
    expect(sex && version).toBeTruthy();
    if (!sex || !version) return;
    expect(sex.members).toBe(300);
    expect(sex.nonMembers).toBe(300);
    expect(sex.advantage).toBeGreaterThan(0);
    expect(sex.advantageInterval95.low).toBeGreaterThan(0);
    expect(sex.memberAccuracy).toBeGreaterThan(sex.nonMemberAccuracy);
    // The majority baseline is reported beside it (Adult's rows are two-thirds male).
    expect(sex.baseline.value).toBe('Male');
    expect(sex.baseline.memberAccuracy).toBeGreaterThan(0.6);

    const db = openDatabase(stateDir);
    try {
      const model = getModel(db, version);
      if (!model) throw new Error('registered model not found');
      const card = generateModelCard(db, model);
      expect(card.measuredPrivacy?.attributeInference).toEqual(JSON.parse(JSON.stringify(ai)));
      const md = renderModelCardMarkdown(card);
      const line = md.split('\n').find((l) => l.startsWith('- Attribute inference of `sex`'));
      expect(line).toBeDefined();
      expect(line).toContain(`advantage ${Number(sex.advantage.toFixed(3))} (95 % ${Number(sex.advantageInterval95.low.toFixed(3))}–`);
      expect(line).toContain(`majority value "Male"`);
      // The prior-weighted variant is on the same line, with the contract's prior.
      expect(sex.priorWeighted.prior.source).toBe('contract-reference');
      expect(line).toContain(`Weighted by each value's prior (the data contract's reference frequencies; Fredrikson et al. 2014): accuracy ${Number(sex.priorWeighted.memberAccuracy.toFixed(3))} (95 % `);
      expect(md).toMatch(/- Attribute inference of `race`/);
    } finally {
      db.close();
    }
  }, 240_000);

  it('an audit record written before the attribute attack (no attributeInference) still parses', () => {
    const old = {
      canary: { method: 'one-shot canaries (Andrew et al., ICLR 2024)', canaries: 4, delta: 1e-5, epsilonLowerBound: 1, epsilonInterval95: { low: 0, high: 2 } },
      accountantEpsilon: null,
      membershipInference: { attack: 'loss-threshold', members: 10, nonMembers: 10, auc: 0.5, aucInterval95: { low: 0.4, high: 0.6 }, advantage: 0.1, advantageInterval95: { low: 0, high: 0.2 } },
    };
    expect(ModelPrivacyAudit.parse(old).attributeInference).toBeUndefined();
    expect(() => ModelPrivacyAudit.parse({ ...old, attributeInference: { attack: 'x', attributes: [{ attribute: 'sex' }] } })).toThrow();
    // Written after the attribute attack but before its prior-weighted variant: still parses, without it.
    const iv = { low: 0, high: 1 };
    const plain = { attribute: 'sex', values: ['Female', 'Male'], members: 10, nonMembers: 10, memberAccuracy: 0.5, memberAccuracyInterval95: iv, nonMemberAccuracy: 0.5, nonMemberAccuracyInterval95: iv, advantage: 0, advantageInterval95: iv, baseline: { value: 'Male', memberAccuracy: 0.6, nonMemberAccuracy: 0.6 } };
    expect(ModelPrivacyAudit.parse({ ...old, attributeInference: { attack: 'loss-minimising value', attributes: [plain] } }).attributeInference?.attributes[0]?.priorWeighted).toBeUndefined();
  });
});
