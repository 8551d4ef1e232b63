/// <reference lib="dom" />
/**
 * Privacy (issue 17 §2; privacy officers, auditors, operators — the API refuses other roles with 403 and the page
 * says so): ε and δ spent against each job's budget, as a chart over rounds with the budget line; the ledger's
 * charged rounds; the accountant's settings (q, σ, clip norm, placement, m); each organisation's cumulative ε
 * across jobs over the charged rounds (a line per organisation, its cap as a dashed rule) and in total against
 * its cap; consent records with purpose, expiry and cap, those about to expire first.
 */
import type { PrivacyOverview } from '../../schemas.ts';
import { getJson } from '../api.ts';
import { barChart, lineChart } from '../charts.ts';
import { badge, el, num, section, table } from '../dom.ts';
import { jobs, type JobSummary } from '../jobs.ts';
import type { PageContext } from '../page.ts';

const CONSENT_TONE = { active: 'ok', expiring: 'warn', expired: 'bad', revoked: 'bad' } as const;

function job(j: PrivacyOverview['jobs'][number], hosted: JobSummary | undefined): HTMLElement {
  // The round loop's own verdict: it stops when the next round's charge would pass the budget.
  const exhausted = hosted?.outcome === 'budget-exhausted' || j.epsilonRemaining <= 0;
  const s = j.settings;
  return el(
    'article',
    { class: 'job', 'data-job': j.jobId },
    el('h3', {}, `Job ${hosted?.name ?? ''} `, el('code', {}, `${j.jobId.slice(0, 12)}…`)),
    el(
      'p',
      { class: 'summary' },
      'ε spent ',
      el('strong', { class: 'epsilon-spent' }, num(j.epsilonSpent)),
      ` of ${num(j.budget.epsilon)} (δ ${j.budget.delta}) · remaining ${num(j.epsilonRemaining)} · ${j.roundsCharged} rounds charged `,
      exhausted ? badge('stopped at the budget: the next round would pass it', 'warn') : badge(hosted?.state === 'running' ? 'running, within budget' : 'within budget', 'ok'),
      j.notPrivateRounds > 0 ? badge(`${j.notPrivateRounds} rounds with seeded noise: NOT private`, 'bad') : null,
    ),
    table(
      ['Accountant', 'Placement', 'q (sampling rate)', 'σ (noise multiplier)', 'Clip norm', 'm (min survivors)', 'Conversion'],
      [[j.budget.accountant, s?.placement ?? j.budget.placement, num(s?.samplingRate), num(s?.noiseMultiplier), num(s?.clipNorm), s?.minSurvivors ?? '—', j.budget.conversion]],
      { class: 'settings' },
    ),
    lineChart({ name: `epsilon-${j.jobId}`, title: 'ε spent over rounds', values: j.rounds.map((r) => ({ round: r.round, epsilon: r.epsilonAfter })), x: 'round', y: 'epsilon', yTitle: 'ε', rule: { value: j.budget.epsilon, label: `budget ε = ${j.budget.epsilon}` } }),
    el('details', {}, el('summary', {}, 'Ledger rows'), table(
      ['Round', 'ε after', 'δ', 'q', 'σ', 'Eligible', 'Participants', 'Private noise', 'Charged at'],
      j.rounds.map((r) => [r.round, el('span', { class: 'eps', 'data-round': String(r.round), 'data-epsilon': String(r.epsilonAfter) }, num(r.epsilonAfter, 6)), r.delta, num(r.samplingRate), num(r.noiseMultiplier), r.eligible, r.participants, r.privateNoise ? 'yes' : 'NO', r.chargedAt]),
      { class: 'ledger' },
    )),
  );
}

export async function privacy(_ctx: PageContext): Promise<Node> {
  const [p, hosted] = await Promise.all([getJson<PrivacyOverview>('/v1/privacy'), jobs()]);
  const expiring = p.consents.filter((c) => c.status === 'expiring');
  return el(
    'div',
    {},
    section('Budgets per job', p.jobs.length === 0 ? el('p', {}, 'No job has a privacy budget yet.') : el('div', {}, ...p.jobs.map((j) => job(j, hosted.find((h) => h.jobId === j.jobId))))),
    section(
      'Organisations (cumulative across jobs)',
      p.orgs.length === 0
        ? el('p', {}, 'No organisation has spent ε or has a cap.')
        : el(
            'div',
            {},
            lineChart({
              name: 'org-epsilon-rounds',
              title: 'ε per organisation over charged rounds, cumulative across jobs (dashed: its cap)',
              // One line per organisation, as before the payload shared identical trajectories (schemas.ts).
              values: p.orgSeries.flatMap((g) => g.organisations.flatMap((o) => g.points.map((x) => ({ step: x.step, epsilon: x.totalEpsilon, organisation: o.orgId })))),
              x: 'step',
              y: 'epsilon',
              xTitle: 'charged round (all jobs, in charge order)',
              yTitle: 'ε (sequential composition over jobs)',
              series: 'organisation',
              limits: { values: p.orgSeries.flatMap((g) => g.organisations).filter((o) => o.cap !== null).map((o) => ({ organisation: o.orgId, cap: o.cap })), field: 'cap' },
            }),
            barChart({ name: 'org-epsilon', title: 'ε per organisation across jobs (red tick: its cap)', values: p.orgs.map((o) => ({ organisation: o.orgId, epsilon: o.totalEpsilon, cap: o.cap })), category: 'organisation', value: 'epsilon', valueTitle: 'ε (sequential composition over jobs)', limit: 'cap' }),
            table(
            ['Organisation', 'Cap', 'Total ε', 'Total δ', 'Per job'],
            p.orgs.map((o) => [o.orgId, o.cap === null ? 'none' : num(o.cap), el('span', { class: o.cap !== null && o.totalEpsilon > o.cap * 0.9 ? 'near-cap' : '' }, num(o.totalEpsilon)), o.totalDelta, o.spend.map((s) => `${s.jobId.slice(0, 8)}…: ε ${num(s.epsilon)} over ${s.rounds} rounds`).join('; ')]),
              { 'data-testid': 'orgs' },
            ),
          ),
    ),
    section(
      'Consent',
      expiring.length > 0 ? el('p', { class: 'warn' }, `Expiring within ${p.expiringWithinDays} days: ${expiring.map((c) => `${c.organisation} (${c.expiresAt})`).join(', ')}`) : null,
      p.consents.length === 0
        ? el('p', {}, 'No consent records.')
        : table(['Organisation', 'Data set', 'Purposes', 'Expires', 'ε cap', 'Retention (days)', 'Status'], p.consents.map((c) => [c.organisation, c.dataset, c.purposes.join(', '), c.expiresAt, num(c.maxEpsilon), c.retentionDays, badge(c.status, CONSENT_TONE[c.status])]), { 'data-testid': 'consents' }),
    ),
  );
}
