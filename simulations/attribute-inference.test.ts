/**
 * The attribute-inference attack (Yeom et al. 2018 §4): its intervals against published values, the candidate
 * values the contract's transforms write, the attack's guesses on real Heart rows under models whose answer is
 * known, and real simulations — Heart (the default federation) and Adult under strong DP, where the attack must
 * find nothing the held-out rows do not also show.
 */
import { describe, expect, it } from 'vitest';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { trainLocal } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { attributeCandidates, attributeInference, newcombeDifference, wilsonInterval } from './attribute-inference.ts';
import { runSimulation } from './simulate.ts';

const close = (a: { low: number; high: number }, low: number, high: number): void => {
  expect(a.low).toBeCloseTo(low, 4);
  expect(a.high).toBeCloseTo(high, 4);
};

describe('intervals', () => {
  it('Wilson and Newcombe (method 10) reproduce Newcombe 1998 (Stat. Med. 17:857 Table I and 17:873 Table II)', () => {
    close(wilsonInterval(81, 263), 0.2553, 0.3662);
    close(wilsonInterval(15, 148), 0.0624, 0.1605);
    close(wilsonInterval(0, 20), 0, 0.1611);
    close(wilsonInterval(1, 29), 0.0061, 0.1718);
    close(newcombeDifference(56, 70, 48, 80), 0.0524, 0.3339);
    close(newcombeDifference(9, 10, 3, 10), 0.1705, 0.809);
    close(newcombeDifference(6, 7, 2, 7), 0.0582, 0.8062);
    close(newcombeDifference(5, 56, 0, 29), -0.0381, 0.1926);
  });
});

describe('candidates from the data contract', () => {
  it("Adult's sex is a one-hot pair, Heart's a 0/1 passthrough, each at its feature's position", () => {
    const adult = compileContract(loadBuiltinContract('adult'));
    const a = attributeCandidates(adult, 'sex');
    expect(a?.labels).toEqual(['Female', 'Male']);
    const female = adult.featureNames.indexOf('sex=Female');
    expect(a?.writes[0]).toEqual([{ offset: female, values: Float32Array.from([1, 0]) }]);
    expect(a?.writes[1]).toEqual([{ offset: female, values: Float32Array.from([0, 1]) }]);
    expect(attributeCandidates(adult, 'race')?.labels).toHaveLength(5);
    const heart = compileContract(loadBuiltinContract('heart'));
    const h = attributeCandidates(heart, 'sex');
    expect(h?.labels).toEqual(['female', 'male']);
    expect(h?.writes.map((w) => [w[0]?.offset, w[0]?.values[0]])).toEqual([[heart.featureNames.indexOf('sex'), 0], [heart.featureNames.indexOf('sex'), 1]]);
    // Not a model input (the label) or not a column: nothing to attack.
    expect(attributeCandidates(heart, 'num')).toBeUndefined();
    expect(attributeCandidates(heart, 'nope')).toBeUndefined();
  });
});

describe('the attack on real Heart rows, under models whose answer is known', () => {
  it('a model blind to sex scores exactly the majority baseline; one whose logit is sex scores the sex–label agreement', async () => {
    await initBackend();
    const data = loadDataset('heart', { seed: 1 });
    const compiled = compileContract(loadBuiltinContract('heart'));
    const d = compiled.featureCount;
    const model = buildModel({ kind: 'logistic', inputs: d, classes: 2, l2: 0 }, { seed: 1 });
    const sexAt = compiled.featureNames.indexOf('sex');
    const weights = (sexWeight: number): Float32Array => {
      // Kernel [d × 2] then bias [2]: class 1's logit is sexWeight·sex − sexWeight/2, class 0's is 0.
      const w = new Float32Array(getFlatWeights(model).length);
      w[sexAt * 2 + 1] = sexWeight;
      w[d * 2 + 1] = -sexWeight / 2;
      return w;
    };
    try {
      setFlatWeights(model, weights(0));
      const blind = attributeInference({ model, compiled, attributes: ['sex'], members: data.train, nonMembers: data.test, rng: seededRandom('blind') }).attributes[0];
      expect(blind?.baseline.value).toBe('male');
      expect(blind?.memberAccuracy).toBe(blind?.baseline.memberAccuracy);
      expect(blind?.nonMemberAccuracy).toBe(blind?.baseline.nonMemberAccuracy);

      setFlatWeights(model, weights(6));
      const sighted = attributeInference({ model, compiled, attributes: ['sex'], members: data.test, nonMembers: data.test, rng: seededRandom('sighted') }).attributes[0];
      // Every test row is used (equal counts), so the accuracy is the share of rows with male ⇔ disease.
      const agree = data.test.y.filter((y, i) => (y === 1) === (data.test.sensitive.sex?.[i] === 'male')).length / data.test.n;
      expect(sighted?.members).toBe(data.test.n);
      expect(sighted?.memberAccuracy).toBeCloseTo(agree, 10);
      expect(sighted?.nonMemberAccuracy).toBeCloseTo(agree, 10);
      expect(sighted?.advantage).toBeCloseTo(0, 10);
      expect(sighted?.advantageInterval95.low).toBeLessThan(0);
      expect(sighted?.advantageInterval95.high).toBeGreaterThan(0);

      // The prior-weighted guess maximises ln p(v) + ln f(x_v)_y. Heart's contract gives p(male)/p(female) =
      // 0.679868/0.320132, ln ≈ 0.753. With weight w, male's score minus female's is 0.753 + w/2 when y = 1 and
      // 0.753 − w/2 when y = 0: at w = 6 the model outweighs the prior, so the guess is the plain attack's …
      expect(sighted?.priorWeighted.prior).toEqual({ source: 'contract-reference', shares: [0.320132, 0.679868] });
      expect(sighted?.priorWeighted.memberAccuracy).toBe(sighted?.memberAccuracy);
      // … at w = 1 (< 2 · 0.753) the prior wins on every row: always male, so its accuracy is the share of men,
      // while the plain attack still follows the label.
      setFlatWeights(model, weights(1));
      const weak = attributeInference({ model, compiled, attributes: ['sex'], members: data.test, nonMembers: data.test, rng: seededRandom('weak') }).attributes[0];
      const men = (data.test.sensitive.sex ?? []).filter((s) => s === 'male').length / data.test.n;
      expect(weak?.memberAccuracy).toBeCloseTo(agree, 10);
      expect(weak?.priorWeighted.memberAccuracy).toBeCloseTo(men, 10);
      expect(weak?.priorWeighted.memberAccuracy).toBe(weak?.baseline.memberAccuracy);
      expect(men).not.toBeCloseTo(agree, 2); // the two answers differ, so the check can tell them apart
    } finally {
      model.dispose();
    }
  });
});

describe('the prior-weighted attack on real Adult rows (Fredrikson et al. 2014 §4: argmax_v p(v) · f(x_v)_y)', () => {
  it("race: the plain attack, drawn to rare values whose weight fits the label, scores far below guessing White; the contract's prior lifts it to at least that", async () => {
    await initBackend();
    const data = loadDataset('adult', { trainLimit: 5000, testLimit: 2000 });
    const compiled = compileContract(loadBuiltinContract('adult'));
    const model = buildModel({ kind: 'logistic', inputs: compiled.featureCount, classes: 2, l2: 0 }, { seed: 1 });
    try {
      await trainLocal(model, data.train, { epochs: 3, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', shuffleSeed: 1 });
      const [sex, race] = attributeInference({ model, compiled, attributes: ['sex', 'race'], members: data.train, nonMembers: data.test, rng: seededRandom('prior') }).attributes;
      if (!sex || !race) throw new Error('both attributes are model inputs');
      expect(race.priorWeighted.prior.source).toBe('contract-reference');
      expect(race.baseline.value).toBe('White');
      // Measured: plain 0.098 / 0.085, prior-weighted 0.839 / 0.851 (= the White share, 0.839 / 0.851).
      for (const side of ['memberAccuracy', 'nonMemberAccuracy'] as const) {
        expect(race[side]).toBeLessThan(0.3);
        expect(race.priorWeighted[side]).toBeGreaterThan(race[side] + 0.5);
        expect(race.priorWeighted[side]).toBeGreaterThanOrEqual(race.baseline[side] - 0.01);
        // sex: the plain attack is a coin toss (0.50), the prior-weighted one reaches the male share (0.67).
        expect(sex.priorWeighted[side]).toBeGreaterThan(sex[side] + 0.1);
      }
      // A model that generalises gives the prior-weighted attacker no edge on training rows either.
      expect(race.priorWeighted.advantageInterval95.low).toBeLessThan(0);
      expect(race.priorWeighted.advantageInterval95.high).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  }, 120_000);
});

describe('tessera simulate --audit-privacy on tabular data', () => {
  it('Heart (the default four-hospital federation) reports the attack on sex', async () => {
    const sim = await runSimulation({ dataset: 'heart', rounds: 2, seed: 3, auditPrivacy: { canaries: 2, heldOutCanaries: 10 } }, { logger: silentLogger() });
    const ai = sim.privacyAudit?.attributeInference;
    expect(ai?.attributes.map((r) => r.attribute)).toEqual(['sex']);
    const sex = ai?.attributes[0];
    expect(sex?.members).toBeGreaterThan(100);
    expect(sex?.members).toBe(sex?.nonMembers);
    expect(sex?.advantage).toBeCloseTo((sex?.memberAccuracy ?? 0) - (sex?.nonMemberAccuracy ?? 0), 12);
    expect(sex?.advantageInterval95.low).toBeLessThanOrEqual(sex?.advantage ?? NaN);
    expect(sex?.advantageInterval95.high).toBeGreaterThanOrEqual(sex?.advantage ?? NaN);
    // Both attacks are reported, the prior-weighted one with the contract's prior.
    expect(sex?.priorWeighted.prior.source).toBe('contract-reference');
    expect(sex?.priorWeighted.advantage).toBeCloseTo((sex?.priorWeighted.memberAccuracy ?? 0) - (sex?.priorWeighted.nonMemberAccuracy ?? 0), 12);
  }, 120_000);

  it("Adult under strong DP (σ = 5, C = 0.5): the attack's advantage is near zero, its interval holding zero", async () => {
    const sim = await runSimulation(
      {
        dataset: 'adult',
        clients: 1,
        rounds: 1,
        seed: 5,
        trainLimit: 300,
        testLimit: 1000,
        checkContract: false,
        samplingRate: 1,
        seededNoise: true,
        auditPrivacy: { canaries: 2, heldOutCanaries: 10 },
        job: {
          model: { kind: 'mlp', hidden: [256] },
          training: { epochs: 10, batchSize: 32, learningRate: 0.01, optimizer: 'adam' },
          dp: { enabled: true, epsilon: 1e6, noiseMultiplier: 5, clipNorm: 0.5, placement: 'central', trustedCoordinator: true },
        },
      },
      { logger: silentLogger() },
    );
    const ai = sim.privacyAudit?.attributeInference;
    // The job names no fairness attributes: the contract's sensitive columns are attacked.
    expect(ai?.attributes.map((r) => r.attribute)).toEqual(['sex', 'race']);
    for (const r of ai?.attributes ?? []) {
      expect(r.members).toBe(300);
      expect(Math.abs(r.advantage)).toBeLessThan(0.08);
      expect(r.advantageInterval95.low).toBeLessThan(0);
      expect(r.advantageInterval95.high).toBeGreaterThan(0);
    }
  }, 120_000);
});
