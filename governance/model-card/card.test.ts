import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { parseJobSpec } from '../../protocol/job/spec.ts';
import { keyPairFromSeed } from '../identity/ed25519.ts';
import { openDatabase, type Db } from '../state/database.ts';
import { registerModel, type RegisteredModel } from '../registry/registry.ts';
import { createApproval } from '../approvals/record.ts';
import { recordApproval } from '../approvals/store.ts';
import { deployModel } from '../deploy/deployments.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, tempStateDir, initTestRegistry } from '../../test/governance-fixtures.ts';
import { privacyStatement, renderModelCardMarkdown } from './card.ts';
import { generateModelCard } from './generate.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let model: RegisteredModel;
const officer = keyPairFromSeed(new Uint8Array(32).fill(21));
const owner = keyPairFromSeed(new Uint8Array(32).fill(22));

beforeAll(async () => {
  state = tempStateDir();
  db = openDatabase(state.dir);
  const jobSpec = parseJobSpec({
    name: 'heart',
    purpose: 'cardiology-research',
    model: HEART_LOGISTIC,
    data: { dataset: 'heart' },
    rounds: 3,
    sampling: { mode: 'poisson', rate: 1 },
    modelCard: {
      intendedUse: 'Decision support for cardiologists estimating the risk of coronary artery disease.',
      limitations: ['Trained on four hospitals from 1988; Switzerland has no cholesterol values.'],
      outOfScope: ['Diagnosing patients without a clinician', 'Insurance pricing'],
    },
  });
  model = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'card'), lineage: fixtureLineage({ jobSpecHash: canonicalHash(jobSpec) }), jobSpec });
  initTestRegistry(db, [
    { name: 'Olivia Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Mo Owner', key: owner, roles: ['model-owner'] },
  ]);
  recordApproval(db, createApproval({ model, role: 'privacy-officer', decision: 'approve', key: officer, validForMs: 86_400_000 }));
  recordApproval(db, createApproval({ model, role: 'model-owner', decision: 'approve', key: owner, validForMs: 86_400_000 }));
  expect(deployModel(db, state.dir, { version: model.version, stage: 'production', actor: 'ops' }).ok).toBe(true);
});

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('model card', () => {
  it('builds the JSON card from the registry, approvals and deployments', () => {
    const card = generateModelCard(db, model);
    expect(card.model).toMatchObject({ name: 'heart', version: model.version, stage: 'production', parameters: 28 });
    expect(card.purpose).toBe('cardiology-research');
    expect(card.outOfScope).toEqual(['Diagnosing patients without a clinician', 'Insurance pricing']);
    expect(card.participation.organisations).toEqual(['cleveland', 'hungarian', 'switzerland', 'va']);
    expect(card.participation.perRound.map((r) => r.organisations)).toEqual([4, 3, 4]);
    expect(card.privacy).toMatchObject({ epsilon: 2.5, delta: 1e-5, unit: 'organisation' });
    expect(card.fairness?.groups).toHaveLength(2);
    expect(card.approvals.map((a) => `${a.name}:${a.role}:${a.status}`)).toEqual(['Olivia Officer:privacy-officer:valid', 'Mo Owner:model-owner:valid']);
    expect(card.deployments).toEqual([expect.objectContaining({ action: 'deploy', stage: 'production', version: model.version })]);
    // Approvals expire: a day later the same card shows them as expired.
    expect(generateModelCard(db, model, new Date(Date.now() + 2 * 86_400_000)).approvals.map((a) => a.status)).toEqual(['expired', 'expired']);
  });

  it('states the privacy guarantee in plain words with ε, δ and the unit of privacy', () => {
    const s = privacyStatement({ epsilon: 2.5, delta: 1e-5, placement: 'distributed', accountant: 'rdp', unit: 'organisation' }, 3);
    expect(s).toContain('ε = 2.5, δ = 0.00001, over 3 rounds');
    expect(s).toContain("one organisation's whole contribution");
    // e^2.5 = 12.1825
    expect(s).toContain('e^ε ≈ 12.18');
    expect(privacyStatement({ epsilon: null, delta: null, placement: 'none', accountant: null, unit: 'organisation' }, 3)).toMatch(/without differential privacy/);
  });

  it('says whether the coordinator saw individual updates (secure aggregation on or off)', () => {
    const p = { epsilon: 2.5, delta: 1e-5, placement: 'distributed' as const, accountant: 'rdp', unit: 'organisation' as const };
    expect(privacyStatement(p, 3, true)).toMatch(/saw only their sum/);
    expect(privacyStatement(p, 3, false)).toMatch(/Secure aggregation was off: the coordinator saw each update with only its share of the noise/);
    expect(privacyStatement(p, 3)).not.toMatch(/secure aggregation/i);
  });

  it('renders Markdown with every section', () => {
    const md = renderModelCardMarkdown(generateModelCard(db, model));
    for (const heading of ['# Model card: heart', '## Purpose and intended use', '## Limitations', '## Out-of-scope uses', '## Data', '## Participation', '## Privacy guarantee', '## Fairness', '## Approvals', '## Deployment history']) {
      expect(md).toContain(heading);
    }
    expect(md).toContain('- Insurance pricing');
    expect(md).toContain('| sex | 0 | 60 | 0.8 | 0.3 | 0.75 | 0.1 |');
    expect(md).toContain('| Olivia Officer |');
  });
});
