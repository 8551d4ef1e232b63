/// <reference lib="dom" />
/**
 * Governance (issue 17 §5; ML leads, auditors, privacy officers): each model version with its lineage, exactly
 * the evidence an approver signs, its approvals (signer, role, expiry, whether each counts), what the deployment
 * gate still needs; deployments with the canary share and health flags; the audit log's verification with the
 * last checkpoint; the model card as `tessera models card` renders it.
 */
import type { GovernanceOverview } from '../../schemas.ts';
import { getJson } from '../api.ts';
import { badge, el, num, section, short, table } from '../dom.ts';
import type { PageContext } from '../page.ts';

type Model = GovernanceOverview['models'][number];

function evidence(m: Model): HTMLElement {
  const e = m.evidence;
  const p = e.privacy;
  return table(
    ['Evidence signed', 'Value'],
    [
      ['Privacy', p.epsilon === null ? 'no differential privacy' : `ε ${num(p.epsilon)}, δ ${p.delta}, ${p.placement}, ${p.accountant ?? '?'} accountant, unit ${p.unit}`],
      ['Fairness report', e.fairness === null ? 'none' : el('span', {}, e.fairness.passed ? badge('passed', 'ok') : badge('FAILED', 'bad'), ' ', el('code', {}, e.fairness.reportHash))],
      ['Contract checks', e.contractChecks === null ? 'not recorded' : `${e.contractChecks.passed ? 'passed' : 'FAILED'} (${e.contractChecks.checked ?? '?'} checked, ${e.contractChecks.passedChecks ?? '?'} passed, ${e.contractChecks.declined ?? 0} declined, ${e.contractChecks.violations} violations)`],
      ['Held-out performance', e.performance === undefined ? 'not recorded' : `accuracy ${num(e.performance.accuracy)} vs majority ${num(e.performance.majorityAccuracy)} on ${e.performance.examples} examples`],
      ['Job spec hash', el('code', {}, e.jobSpecHash)],
      ['Data contract hash', el('code', {}, e.dataContractHash ?? 'none')],
    ],
    { class: 'evidence' },
  );
}

function gate(m: Model): HTMLElement {
  const g = m.gate;
  return el(
    'div',
    { class: 'gate', 'data-gate': g.ok ? 'satisfied' : 'pending', 'data-version': m.version },
    el('p', {}, g.ok ? badge(`gate satisfied for ${g.stage}`, 'ok') : badge(`gate pending for ${g.stage}`, 'warn'), ` policy: ${g.policySource}`),
    table(['Role', 'Needed', 'Approved by'], g.roles.map((r) => [r.role, `${r.min}${r.of !== null ? ` of ${r.of}` : ''}`, `${r.approvals}: ${r.people.join(', ') || '—'}`])),
    g.unmet.length === 0 ? null : el('ul', { class: 'unmet' }, ...g.unmet.map((u) => el('li', {}, `${u.code}${u.role ? ` (${u.role})` : ''}: ${u.message}`))),
  );
}

function model(m: Model): HTMLElement {
  const l = m.lineage;
  return el(
    'article',
    { class: 'model', 'data-version': m.version },
    el('h3', {}, `${m.name} `, el('code', {}, short(m.version)), ' ', badge(m.stage, m.stage === 'production' ? 'ok' : 'info')),
    table(['Lineage', 'Value'], [['Job', l.jobId ?? '—'], ['Purpose', l.purpose ?? '—'], ['Data set', l.dataset ?? '—'], ['Rounds', l.rounds], ['Organisations', l.organisations.join(', ') || '—'], ['Model', `${m.kind}, ${m.parameters} parameters`], ['Lineage hash', el('code', {}, m.lineageHash)], ['Registered', m.registeredAt]]),
    evidence(m),
    m.approvals.length === 0 ? el('p', { class: 'approvals-none' }, 'No approvals yet.') : table(['Signer', 'Key', 'Role', 'Decision', 'Stage', 'Expires', 'Status'], m.approvals.map((a) => [a.name ?? '?', short(a.keyId), a.role ?? '?', a.decision ?? '?', a.stage ?? '?', a.expiresAt ?? '?', badge(a.status, a.status === 'valid' ? 'ok' : 'bad')]), { class: 'approvals' }),
    gate(m),
    el('details', {}, el('summary', {}, 'Model card'), el('pre', { class: 'card' }, m.card)),
  );
}

export async function governance(_ctx: PageContext): Promise<Node> {
  const g = await getJson<GovernanceOverview>('/v1/governance');
  const a = g.audit;
  return el(
    'div',
    {},
    section(
      'Audit log',
      el('p', { 'data-testid': 'audit' }, a.ok ? badge('verified', 'ok') : badge('verification FAILED', 'bad'), ` ${a.entries} entries, ${a.checkpoints} checkpoints${a.reason ? ` — ${a.reason}` : ''}`),
      a.lastCheckpoint ? el('p', {}, `Last checkpoint: entry ${a.lastCheckpoint.seq}, head `, el('code', {}, short(a.lastCheckpoint.hash)), ` at ${a.lastCheckpoint.time}`) : el('p', {}, 'No checkpoint yet.'),
    ),
    section(
      'Deployments',
      g.deployments.length === 0 ? el('p', {}, 'Nothing deployed.') : table(['Model', 'Production', 'Canary', 'Canary share', 'Health'], g.deployments.map((d) => [d.name, short(d.production), short(d.canary), d.canaryPercent === null ? '—' : `${d.canaryPercent} %`, d.flags.length === 0 ? badge('healthy', 'ok') : badge(d.flags.map((f) => `${short(f.version)}: ${f.reason}`).join('; '), 'bad')])),
    ),
    section('Models', g.models.length === 0 ? el('p', {}, 'No registered models.') : el('div', {}, ...g.models.map(model))),
  );
}
