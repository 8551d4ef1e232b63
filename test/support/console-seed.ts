/**
 * A seeded job of committed rounds (100 by default) for the console's page-load measurement and screenshots (issue 17: "pages
 * load in under 1 s on loopback with a job of 100 rounds"). The rounds are written with the job store's own
 * functions (createJobRow, insertRoundRow, finishJobRow), so the coordinator reads them back through the same
 * codec as any job of an earlier run. Their numbers are synthetic (seeded; labelled so in the job name); the
 * fairness reports are real reports (governance/fairness) over synthetic predictions, the drift alerts have the
 * data-contract slot's shape.
 */
import { createJobRow, finishJobRow, insertRoundRow } from '../../coordinator/state/job-store.ts';
import type { RoundRecord } from '../../coordinator/round-records.ts';
import { stableJobId } from '../../coordinator/state/resume.ts';
import { countsFromPredictions, decodeCounts } from '../../governance/fairness/counts.ts';
import { countsLayout } from '../../governance/fairness/layout.ts';
import { fairnessReport, reportHash } from '../../governance/fairness/policy.ts';
import type { Db } from '../../governance/state/database.ts';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { seededRandom } from '../../privacy/random.ts';
import { parseJobSpec } from '../../protocol/job/spec.ts';

const LAYOUT = countsLayout({ attributes: [{ name: 'sex', values: ['female', 'male'] }, { name: 'age_band', values: ['<40', '40-60', '>60'] }], calibrationBins: 0, maxIntersectionOrder: 1 });
const RULES = [
  { metric: 'demographicParityDifference' as const, attribute: 'sex', max: 0.2 },
  { metric: 'accuracyGap' as const, attribute: 'age_band', max: 0.1 },
];

function fairnessSlot(round: number, rng: ReturnType<typeof seededRandom>): NonNullable<RoundRecord['extra']['fairness']> {
  const n = 600;
  const sex: string[] = [];
  const age: string[] = [];
  const labels: number[] = [];
  const predicted: number[] = [];
  const skill = 0.7 + 0.2 * (1 - Math.exp(-round / 25));
  for (let i = 0; i < n; i++) {
    const s = rng.nextFloat() < 0.45 ? 'female' : 'male';
    const a = (['<40', '40-60', '>60'] as const)[Math.floor(rng.nextFloat() * 3)] as string;
    const y = rng.nextFloat() < (s === 'male' ? 0.55 : 0.4) ? 1 : 0;
    const right = rng.nextFloat() < skill - (a === '>60' ? 0.06 : 0);
    sex.push(s);
    age.push(a);
    labels.push(y);
    predicted.push(right ? y : 1 - y);
  }
  const report = fairnessReport({ counts: decodeCounts(countsFromPredictions({ labels, predictedPositive: predicted, groups: { sex, age_band: age }, layout: LAYOUT }), LAYOUT), rules: RULES, context: { job: 'console-seeded', round } });
  const rules = report.policy.rules.map((r) => ({ ...r.rule, value: r.value, status: r.status, ...(r.reason !== undefined ? { reason: r.reason } : {}) }));
  return { ok: true, hash: reportHash(report), passed: report.policy.passed, rules, report };
}

/** Writes the job and its rounds; returns the job id. */
export function seedRounds(db: Db, rounds = 100): string {
  const spec = parseJobSpec({
    name: `seeded-${rounds}-rounds`,
    model: { kind: 'logistic', inputs: 13, classes: 2 },
    data: { dataset: 'heart', contractHash: canonicalHash({ contract: 'heart', version: 3 }) },
    rounds,
    sampling: { mode: 'poisson', rate: 0.8 },
    minClients: 2,
    dp: { enabled: true, epsilon: 8, noiseMultiplier: 1.2 },
  });
  const jobId = stableJobId(spec);
  createJobRow(db, { id: jobId, spec, specHash: canonicalHash(spec) });
  const rng = seededRandom('console-seeded-100');
  db.transaction(() => {
    for (let round = 1; round <= rounds; round++) {
      const accuracy = 0.62 + 0.22 * (1 - Math.exp(-round / 20)) + (rng.nextFloat() - 0.5) * 0.01;
      const declined = round % 17 === 0 ? [{ clientId: 'c-4', orgId: 'org-4', code: 'CONTRACT_VIOLATION', reason: 'range check failed' }] : [];
      const drifting = round >= 60;
      const record: RoundRecord = {
        round,
        attempt: round === 33 ? 2 : 1,
        eligible: 5,
        expectedParticipants: 4,
        selected: 4 + (round % 5 === 0 ? 1 : 0),
        participants: 4 - declined.length + (round % 5 === 0 ? 1 : 0),
        participantOrgs: ['org-1', 'org-2', 'org-3', 'org-5'],
        dropped: [],
        declined,
        trainLoss: 0.7 * Math.exp(-round / 30) + 0.3,
        accuracy,
        loss: 0.72 * Math.exp(-round / 28) + 0.33,
        durationMs: 900 + Math.round(rng.nextFloat() * 300),
        slowestTrainMs: 500,
        totalTrainMs: 1800,
        extra: {
          privacy: { epsilon: 0.08 * round, delta: 1e-5, budget: 8, placement: 'distributed', noiseMultiplier: 1.2, clipNorm: 1, updateNoiseMultiplier: 1.2, samplingRate: 0.8, minSurvivors: 2, participation: { expected: 4, actual: 4, population: 5, zScore: 0 }, clippedFraction: 0.3, privateNoise: true, againstCoordinator: true },
          dataContract: { checked: 5, failed: declined.length, driftAlerts: drifting ? [{ column: 'chol', statistic: 'psi', meanValue: 0.2 + (round - 60) * 0.004, threshold: 0.2, driftedClients: 2, clients: 5 }] : [] },
          ...(round % 5 === 0 ? { fairness: fairnessSlot(round, rng) } : {}),
        },
      };
      insertRoundRow(db, jobId, record, new Float32Array(28));
    }
  })();
  finishJobRow(db, jobId, 'completed', `${rounds} rounds`);
  return jobId;
}
