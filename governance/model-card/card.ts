/**
 * Model cards (Mitchell et al., "Model Cards for Model Reporting", FAT* 2019), generated per version from the
 * registry: what the model is for and not for (the job spec's modelCard section), the data contract,
 * participation, the privacy guarantee in plain words, the fairness table, approvals and deployment history.
 * Pure: `buildModelCard` takes records already read; `renderModelCardMarkdown` turns the JSON into Markdown.
 */
import { z } from 'zod';
import { ModelCardSection } from '../../protocol/job/governance.ts';
import type { ModelSpec } from '../../protocol/job/model.ts';
import { describeUserLayers } from '../../protocol/job/layers-topology.ts';
import type { PrivacySpent } from '../registry/lineage.ts';
import type { RegisteredModel } from '../registry/registry.ts';
import type { ModelPrivacyAudit } from '../registry/privacy-audit.ts';
import { participatingOrganisations, reportRuleHeadlines } from '../registry/lineage.ts';

export const MODEL_CARD_SCHEMA = 'tessera.model-card/v1';

export interface CardApproval {
  readonly id: string | null;
  readonly name: string | null;
  readonly keyId: string | null;
  readonly role: string | null;
  readonly decision: string | null;
  readonly issuedAt: string | null;
  readonly expiresAt: string | null;
  /** 'valid', or why the record does not count today (expired, key-revoked, …). */
  readonly status: string;
}

export interface CardDeploymentEvent {
  readonly at: string;
  readonly action: string;
  readonly stage: string | null;
  readonly version: string | null;
  readonly previous: string | null;
  readonly percent: number | null;
  readonly actor: string;
}

export interface CardFairnessRow {
  readonly attribute: string;
  readonly group: string;
  readonly count: number | null;
  readonly accuracy: number | null;
  readonly selectionRate: number | null;
  readonly tpr: number | null;
  readonly fpr: number | null;
  readonly suppressed: string | null;
}

/** A registered model (its registry record) plus what the card adds: stage, approvals, deployments. */
export interface ModelCardInput extends RegisteredModel {
  readonly stage: string;
  readonly approvals: readonly CardApproval[];
  readonly deployments: readonly CardDeploymentEvent[];
  readonly generatedAt: Date;
  /** What a simulation's `--audit-privacy` measured of this model (absent: never audited). */
  readonly privacyAudit?: ModelPrivacyAudit | null;
}

export function describeArchitecture(spec: ModelSpec): string {
  switch (spec.kind) {
    case 'logistic':
      return `multinomial logistic regression: ${spec.inputs} inputs → softmax over ${spec.classes} classes${spec.l2 > 0 ? `, L2 ${spec.l2}` : ''}`;
    case 'mlp':
      return `multilayer perceptron: ${[spec.inputs, ...spec.hidden].join(' → ')} (${spec.activation}) → softmax over ${spec.classes} classes`;
    case 'cnn':
      return `convolutional network: input ${spec.inputShape.join('×')}, 3×3 conv blocks of ${spec.filters.join(', ')} filters, dense ${spec.dense.join(', ') || 'none'} → softmax over ${spec.classes} classes`;
    case 'layers':
      return `your own tfjs layers model: ${describeUserLayers(spec.topology, spec.classes)} → softmax over ${spec.classes} classes`;
  }
}

const PLACEMENT_WORDS: Readonly<Record<PrivacySpent['placement'], string>> = {
  distributed: 'each organisation added its share of the noise to its own update before sending it, so that the sum carries the full noise',
  central: 'the coordinator, trusted for this job, added the noise to the aggregated update',
  local: 'each organisation added the full noise to its own update before sending it',
  none: 'no noise was added',
};

/** What secure aggregation adds to the statement: whether the coordinator saw individual (partly noised) updates. */
function secureAggregationWords(p: PrivacySpent, secureAggregation: boolean | null): string {
  if (secureAggregation === null) return '';
  if (secureAggregation) return ' Updates were combined by secure aggregation: the coordinator saw only their sum, never an individual update.';
  return p.placement === 'distributed'
    ? ' Secure aggregation was off: the coordinator saw each update with only its share of the noise, so the guarantee against the coordinator itself is weaker than the figure above.'
    : ' Secure aggregation was off: the coordinator saw individual updates.';
}

/** The privacy guarantee in plain words, with ε, δ and the unit of privacy. */
export function privacyStatement(p: PrivacySpent, rounds: number, secureAggregation: boolean | null = null): string {
  if (p.epsilon === null || p.placement === 'none') {
    return 'This model was trained without differential privacy. It carries no formal guarantee about what it may reveal of any organisation\'s data; only the protections of secure aggregation, if used, apply.';
  }
  const unit = p.unit === 'organisation' ? "one organisation's whole contribution (all of its records, in every round it joined)" : 'one example (a single record)';
  const factor = Math.exp(p.epsilon);
  return [
    `This model was trained with differential privacy: ε = ${p.epsilon}, δ = ${p.delta ?? 'unknown'}, over ${rounds} round${rounds === 1 ? '' : 's'}${p.accountant ? `, accounted with the ${p.accountant} accountant` : ''}.`,
    `The unit of privacy is ${unit}.`,
    `In plain words: whether or not that contribution was included, the chance of training any particular model changes by at most a factor of e^ε ≈ ${factor < 1000 ? factor.toFixed(2) : factor.toExponential(2)}, except with a probability of at most δ.`,
    `Noise placement: ${PLACEMENT_WORDS[p.placement]}.${secureAggregationWords(p, secureAggregation)}`,
  ].join(' ');
}

const NumOrNull = z.number().nullable().optional();
const GroupShape = z.union([
  z.object({ suppressed: z.literal(true), reason: z.string() }),
  z.object({ suppressed: z.literal(false), count: z.number(), accuracy: NumOrNull, selectionRate: NumOrNull, tpr: NumOrNull, fpr: NumOrNull }),
]);
const ReportGroups = z.object({ groups: z.record(z.string(), z.record(z.string(), GroupShape)) });

/** Per-group rows of a governance/fairness report (suppressed groups are shown as suppressed, not numbers). */
export function fairnessTable(report: unknown): CardFairnessRow[] {
  const r = ReportGroups.safeParse(report);
  if (!r.success) return [];
  const rows: CardFairnessRow[] = [];
  for (const [attribute, groups] of Object.entries(r.data.groups)) {
    for (const [group, g] of Object.entries(groups)) {
      rows.push(
        g.suppressed
          ? { attribute, group, count: null, accuracy: null, selectionRate: null, tpr: null, fpr: null, suppressed: g.reason }
          : { attribute, group, count: g.count, accuracy: g.accuracy ?? null, selectionRate: g.selectionRate ?? null, tpr: g.tpr ?? null, fpr: g.fpr ?? null, suppressed: null },
      );
    }
  }
  return rows;
}

function section(jobSpec: unknown): { purpose: string | null; card: ModelCardSection; secureAggregation: boolean | null } {
  const s = z.object({ purpose: z.string().optional(), modelCard: ModelCardSection.optional(), secagg: z.object({ enabled: z.boolean() }).optional() }).safeParse(jobSpec);
  return {
    purpose: s.success ? (s.data.purpose ?? null) : null,
    card: s.success && s.data.modelCard ? s.data.modelCard : ModelCardSection.parse({}),
    secureAggregation: s.success && s.data.secagg ? s.data.secagg.enabled : null,
  };
}

export function buildModelCard(input: ModelCardInput) {
  const { lineage } = input;
  const { purpose, card, secureAggregation } = section(input.jobSpec);
  const orgs = participatingOrganisations(lineage);
  return {
    schema: MODEL_CARD_SCHEMA,
    generatedAt: input.generatedAt.toISOString(),
    model: {
      name: input.name,
      version: input.version,
      registeredAt: input.registeredAt,
      architecture: describeArchitecture(input.modelSpec),
      parameters: input.parameters,
      stage: input.stage,
    },
    purpose: purpose ?? lineage.purpose,
    description: card.description,
    intendedUse: card.intendedUse,
    limitations: card.limitations,
    outOfScope: card.outOfScope,
    data: {
      dataset: lineage.dataset,
      contractHash: lineage.dataContractHash,
      contractChecks: lineage.contractChecks,
    },
    participation: {
      rounds: lineage.rounds,
      organisations: orgs,
      perRound: lineage.participation.map((p) => ({ round: p.round, organisations: p.organisations.length })),
    },
    privacy: { ...lineage.privacy, statement: privacyStatement(lineage.privacy, lineage.rounds, secureAggregation) },
    measuredPrivacy: input.privacyAudit ?? null,
    fairness: lineage.fairness === null
      ? null
      : { reportHash: lineage.fairness.reportHash, passed: lineage.fairness.passed, rules: reportRuleHeadlines(lineage.fairness.report), groups: fairnessTable(lineage.fairness.report) },
    metrics: lineage.metrics,
    derivedFrom: lineage.derivedFrom ?? null,
    featureImportance: lineage.featureImportance === undefined ? null : { ...lineage.featureImportance, features: [...lineage.featureImportance.features].sort((a, b) => b.importance - a.importance) },
    approvals: input.approvals,
    deployments: input.deployments,
    provenance: { jobId: lineage.jobId, jobSpecHash: lineage.jobSpecHash, lineageHash: input.lineageHash, code: lineage.code, runtime: lineage.runtime },
  };
}

export type ModelCard = ReturnType<typeof buildModelCard>;

const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined ? '—' : Number(x.toFixed(digits)).toString());
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const list = (items: readonly string[], none: string): string => (items.length ? items.map((i) => `- ${i}`).join('\n') : `_${none}_`);

export function renderModelCardMarkdown(card: ModelCard): string {
  const out: string[] = [];
  out.push(`# Model card: ${card.model.name}`, '');
  out.push(`Version \`${card.model.version}\` · registered ${card.model.registeredAt} · stage **${card.model.stage}**`, '');
  out.push('## Purpose and intended use', '');
  out.push(`**Purpose:** ${card.purpose ?? '_not stated_'}`, '');
  if (card.description) out.push(card.description, '');
  out.push(`**Intended use:** ${card.intendedUse || '_not stated in the job spec_'}`, '');
  out.push('## Limitations', '', list(card.limitations, 'none stated in the job spec'), '');
  out.push('## Out-of-scope uses', '', list(card.outOfScope, 'none stated in the job spec'), '');
  out.push('## Model', '', `- Architecture: ${card.model.architecture}`, `- Parameters: ${card.model.parameters}`);
  for (const [k, v] of Object.entries(card.metrics)) out.push(`- ${k}: ${num(v, 4)}`);
  out.push('');
  out.push('## Data', '', `- Data set: ${card.data.dataset ?? '_unknown_'}`, `- Data contract: ${card.data.contractHash ? `\`${card.data.contractHash}\`` : '_none_'}`);
  const cc = card.data.contractChecks;
  out.push(`- Contract checks: ${cc === null ? '_not recorded_' : `${cc.passed ? 'passed' : 'FAILED'} (${cc.violations} violation${cc.violations === 1 ? '' : 's'})${cc.summary ? ` — ${cc.summary}` : ''}`}`, '');
  out.push('## Participation', '', `${card.participation.organisations.length} organisations over ${card.participation.rounds} rounds: ${card.participation.organisations.join(', ') || '_none recorded_'}.`, '');
  if (card.participation.perRound.length) {
    out.push('| Round | Organisations |', '|---:|---:|', ...card.participation.perRound.map((r) => `| ${r.round} | ${r.organisations} |`), '');
  }
  out.push('## Privacy guarantee', '', card.privacy.statement, '');
  out.push(...measuredPrivacyMarkdown(card.measuredPrivacy));
  out.push('## Fairness', '');
  if (card.fairness === null) out.push('_No fairness report in the lineage._', '');
  else {
    out.push(`Report \`${card.fairness.reportHash}\`: the fairness policy **${card.fairness.passed ? 'passed' : 'failed'}**.`, '');
    if (card.fairness.rules.length) {
      out.push('| Attribute | Metric | Value | Status |', '|---|---|---:|---|', ...card.fairness.rules.map((r) => `| ${cell(r.attribute)} | ${r.metric} | ${num(r.value)} | ${r.status} |`), '');
    }
    if (card.fairness.groups.length) {
      out.push('| Attribute | Group | Count | Accuracy | Selection rate | TPR | FPR |', '|---|---|---:|---:|---:|---:|---:|');
      for (const g of card.fairness.groups) {
        out.push(g.suppressed !== null
          ? `| ${cell(g.attribute)} | ${cell(g.group)} | suppressed (${cell(g.suppressed)}) | | | | |`
          : `| ${cell(g.attribute)} | ${cell(g.group)} | ${g.count ?? '—'} | ${num(g.accuracy)} | ${num(g.selectionRate)} | ${num(g.tpr)} | ${num(g.fpr)} |`);
      }
      out.push('');
    }
  }
  if (card.derivedFrom !== null) {
    const d = card.derivedFrom;
    out.push('## Derived version', '', `Made from \`${d.parent}\` by ${d.transform} (${d.scheme}), not by training: weights ${d.sizeBytes.parent} → ${d.sizeBytes.int8} bytes, largest weight change ${num(d.maxAbsWeightError, 6)}.`);
    out.push(...derivedEvidenceLines(d));
  }
  if (card.featureImportance !== null) {
    const f = card.featureImportance;
    out.push('## Global feature importance', '', `Permutation importance on ${f.examples} held-out rows of ${f.clients} organisations${f.secureAggregation ? ', summed by secure aggregation (no organisation\'s figures were seen)' : ''}: the drop in accuracy from ${num(f.baselineAccuracy, 4)} when one feature is shuffled within each organisation's split.`, '');
    // Features named by the data contract carry the column they are computed from (a one-hot block's inputs share it).
    if (f.features.some((x) => x.column !== undefined)) {
      out.push('| Feature | Data-contract column | Accuracy when shuffled | Importance |', '|---|---|---:|---:|', ...f.features.map((x) => `| ${cell(x.feature)} | ${cell(x.column ?? '—')} | ${num(x.permutedAccuracy, 4)} | ${num(x.importance, 4)} |`), '');
    } else {
      out.push('| Feature | Accuracy when shuffled | Importance |', '|---|---:|---:|', ...f.features.map((x) => `| ${cell(x.feature)} | ${num(x.permutedAccuracy, 4)} | ${num(x.importance, 4)} |`), '');
    }
  }
  out.push('## Approvals', '');
  if (card.approvals.length === 0) out.push('_No approval records._', '');
  else {
    out.push('| Signer | Key | Role | Decision | Issued | Expires | Status |', '|---|---|---|---|---|---|---|');
    for (const a of card.approvals) out.push(`| ${cell(a.name ?? '?')} | \`${a.keyId ?? '?'}\` | ${a.role ?? '?'} | ${a.decision ?? '?'} | ${a.issuedAt ?? '?'} | ${a.expiresAt ?? '?'} | ${a.status} |`);
    out.push('');
  }
  out.push('## Deployment history', '');
  if (card.deployments.length === 0) out.push('_Never deployed._', '');
  else {
    out.push('| When | Action | Stage | Version | Previous production | Share | By |', '|---|---|---|---|---|---:|---|');
    for (const d of card.deployments) out.push(`| ${d.at} | ${d.action} | ${d.stage ?? ''} | ${d.version ? `\`${d.version.slice(0, 12)}\`` : ''} | ${d.previous ? `\`${d.previous.slice(0, 12)}\`` : ''} | ${d.percent === null ? '' : `${d.percent}%`} | ${cell(d.actor)} |`);
    out.push('');
  }
  out.push('## Provenance', '', `- Job: ${card.provenance.jobId ?? '_unknown_'} (spec \`${card.provenance.jobSpecHash}\`)`, `- Lineage hash: \`${card.provenance.lineageHash}\``);
  out.push(`- Code: tessera ${card.provenance.code.version}${card.provenance.code.gitCommit ? ` (commit ${card.provenance.code.gitCommit})` : ''}`);
  out.push(`- Runtime: TensorFlow.js ${card.provenance.runtime.tfjsVersion} on ${card.provenance.runtime.tfjsBackend}, Node ${card.provenance.runtime.node}`, '');
  out.push(`_Generated ${card.generatedAt} by tessera from the model registry._`, '');
  return out.join('\n');
}

const iv = (i: { low: number; high: number }, digits = 3): string => `${num(i.low, digits)}–${num(i.high, digits)}`;

type PriorWeighted = NonNullable<NonNullable<ModelPrivacyAudit['attributeInference']>['attributes'][number]['priorWeighted']>;

/** The prior-weighted attack's sentence (Fredrikson et al. 2014), appended to the plain attack's line; empty for records before it. */
function priorWeightedMarkdown(p: PriorWeighted | undefined): string {
  if (p === undefined) return '';
  const prior = p.prior.source === 'contract-reference' ? "the data contract's reference frequencies" : "the training rows' frequencies";
  return ` Weighted by each value's prior (${prior}; Fredrikson et al. 2014): accuracy ${num(p.memberAccuracy)} (95 % ${iv(p.memberAccuracyInterval95)}) / ${num(p.nonMemberAccuracy)} (95 % ${iv(p.nonMemberAccuracyInterval95)}); advantage ${num(p.advantage)} (95 % ${iv(p.advantageInterval95)}).`;
}

/** The audit's figures (Andrew et al. 2024; Yeom et al. 2018), worded as measurements beside the guarantee. */
function measuredPrivacyMarkdown(a: ModelPrivacyAudit | null): string[] {
  if (a === null) return ['## Measured privacy', '', '_Not audited (`tessera simulate --audit-privacy` records it for simulated runs)._', ''];
  const c = a.canary;
  const m = a.membershipInference;
  // The attribute attack (tabular data; absent from records written before it): one line per sensitive attribute.
  const ai = a.attributeInference ?? null;
  return [
    '## Measured privacy',
    '',
    'Measured on the final model by a simulated audit — observations of this run, not guarantees: an empirical ε is a lower bound on the true ε, the accountant\'s ε an upper bound.',
    '',
    `- Empirical ε (${c.canaries} canary clients, ${c.method}): ≥ ${num(c.epsilonLowerBound)} (95 % interval ${iv(c.epsilonInterval95)}) at δ = ${c.delta}; accountant's ε ${a.accountantEpsilon === null ? '— (no DP: no guarantee)' : num(a.accountantEpsilon)}.`,
    `- Membership inference (${m.attack}, ${m.members} training and ${m.nonMembers} held-out rows): AUC ${num(m.auc)} (95 % ${iv(m.aucInterval95)}), advantage ${num(m.advantage)} (95 % ${iv(m.advantageInterval95)}).`,
    ...(ai?.attributes ?? []).map(
      (r) =>
        `- Attribute inference of \`${r.attribute}\` (${ai?.attack ?? ''}, Yeom et al. 2018 §4; ${r.members} training and ${r.nonMembers} held-out rows): accuracy ${num(r.memberAccuracy)} (95 % ${iv(r.memberAccuracyInterval95)}) on training rows, ${num(r.nonMemberAccuracy)} (95 % ${iv(r.nonMemberAccuracyInterval95)}) on held-out rows; advantage ${num(r.advantage)} (95 % ${iv(r.advantageInterval95)}); guessing the majority value "${r.baseline.value}": ${num(r.baseline.memberAccuracy)} / ${num(r.baseline.nonMemberAccuracy)}.${priorWeightedMarkdown(r.priorWeighted)}`,
    ),
    '',
  ];
}

/**
 * A derived version's own evidence beside its parent's on the same rows (governance/registry/derived-evidence.ts).
 * The card's performance and fairness sections are copies of the parent's; the gate reads only these figures.
 */
function derivedEvidenceLines(d: NonNullable<ModelCard['derivedFrom']>): string[] {
  const e = d.evidence;
  if (e === undefined) {
    return ['', `**No held-out evidence of its own.** The performance and fairness sections above are the parent's and do not count for this version: the deployment gate refuses it (\`derived-evidence-missing\`) until \`tessera models quantize ${d.parent.slice(0, 12)} --dataset NAME\` registers a version with its own figures.`, ''];
  }
  const row = (name: string, own: number, parent: number): string => `| ${name} | ${num(own, 4)} | ${num(parent, 4)} | ${num(own - parent, 4)} |`;
  const lines = [
    '',
    `Its own held-out evidence, on ${e.examples} rows of ${e.dataset}, with the parent measured on the same rows (the performance and fairness sections above are the parent's federated figures; the deployment gate judges this version by these):`,
    '',
    '| Figure | This version | Parent | Difference |',
    '|---|---:|---:|---:|',
    row('Accuracy', e.model.accuracy, e.parent.accuracy),
    row('Loss (cross-entropy)', e.model.loss, e.parent.loss),
    row('Brier score', e.model.brier, e.parent.brier),
    '',
    `Majority-class baseline on these rows: ${num(e.majority.accuracy, 4)} (always class ${e.majority.class}).`,
  ];
  lines.push(e.fairness === null ? '_No fairness report of its own (the parent\'s job states no fairness evaluation)._' : `Its own fairness report \`${e.fairness.reportHash.slice(0, 12)}…\` on these rows: ${e.fairness.passed ? 'passes' : 'fails'} the job's fairness policy (the parent's on the same rows ${e.fairness.parentPassed ? 'passes' : 'fails'}).`, '');
  return lines;
}
