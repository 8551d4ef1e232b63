/**
 * Issue 19 §3–4: what `tessera simulate --audit-privacy` measures of the final model — the canary ε lower bound
 * beside the accountant's ε and the membership-inference AUC and advantage, with their intervals — goes into the
 * model card of the version the run registered (governance/registry/privacy-audit.ts, registry-002). The record is
 * append-only: a second audit of the same version, or an edit through raw SQL, is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { generateModelCard } from '../governance/model-card/generate.ts';
import { recordPrivacyAudit } from '../governance/registry/privacy-audit.ts';
import { getModel } from '../governance/registry/registry.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation } from '../simulations/simulate.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-audit-card-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the privacy audit in the model card', () => {
  it('a registered, audited simulation shows its empirical ε and membership-inference figures in the card', async () => {
    const stateDir = join(dir, 'state');
    const sim = await runSimulation(
      { dataset: 'mnist', clients: 4, rounds: 1, seed: 3, trainLimit: 1200, testLimit: 300, stateDir, auditPrivacy: { canaries: 4, heldOutCanaries: 100 } },
      { logger: silentLogger() },
    );
    const audit = sim.privacyAudit;
    const version = sim.registered?.version;
    expect(audit && version).toBeTruthy();
    if (!audit || !version) return;
    const db = openDatabase(stateDir);
    try {
      const model = getModel(db, version);
      if (!model) throw new Error('registered model not found');
      const card = generateModelCard(db, model);
      expect(card.measuredPrivacy?.canary.epsilonLowerBound).toBe(audit.canary.epsilonLowerBound);
      expect(card.measuredPrivacy?.canary.epsilonInterval95).toEqual(audit.canary.epsilonInterval95);
      expect(card.measuredPrivacy?.accountantEpsilon).toBeNull();
      expect(card.measuredPrivacy?.membershipInference.auc).toBe(audit.membershipInference.auc);
      expect(card.measuredPrivacy?.membershipInference.advantageInterval95).toEqual(audit.membershipInference.advantageInterval95);
      const md = renderModelCardMarkdown(card);
      expect(md).toMatch(/## Measured privacy/);
      expect(md).toMatch(/Empirical ε \(4 canary clients/);
      expect(md).toMatch(/no DP: no guarantee/);
      expect(md).toMatch(/Membership inference \(loss-threshold/);
      expect(() => recordPrivacyAudit(db, version, audit)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_PRIVACY_AUDIT_RECORD' }));
      expect(() => db.prepare("UPDATE model_privacy_audits SET audit = '{}'").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM model_privacy_audits').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  }, 180_000);
});
