/// <reference lib="dom" />
/**
 * Overview (issue 17 §1): jobs with state and current round; the chosen job's participants, accuracy and loss per
 * round as charts that grow while it runs; organisations connected and disconnected with when each was last
 * seen (operators and auditors — others see the counts); alerts (drift, retried rounds, declines and drops by
 * code, failed jobs).
 */
import type { ClientsResponse, PresenceCounts } from '../../../../protocol/api.ts';
import type { JobSeries } from '../../schemas.ts';
import { getJson } from '../api.ts';
import { lineChart } from '../charts.ts';
import { badge, el, num, section, short, table } from '../dom.ts';
import { jobs, pickJob, series } from '../jobs.ts';
import type { PageContext } from '../page.ts';

const STATE_TONE = { queued: 'info', running: 'warn', completed: 'ok', failed: 'bad', cancelled: 'info' } as const;

function alerts(s: JobSeries): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (s.job.state === 'failed') out.push(el('li', { class: 'bad' }, `job ${s.job.name} failed: ${s.job.reasonCode ?? 'no code'}`));
  for (const r of s.rounds) {
    if (r.attempt > 1) out.push(el('li', { class: 'warn' }, `round ${r.round} ran ${r.attempt} times: earlier attempts were aborted`));
    for (const a of r.dataContract?.driftAlerts ?? []) out.push(el('li', { class: 'warn' }, `round ${r.round}: drift in ${a.column} (${a.statistic} ${num(a.meanValue)} > ${num(a.threshold)}; ${a.driftedClients} of ${a.clients} clients)`));
    const codes = Object.entries(r.codes);
    if (codes.length > 0) out.push(el('li', { class: 'info' }, `round ${r.round}: ${codes.map(([c, n]) => `${c} ×${n}`).join(', ')}`));
  }
  return out;
}

async function organisations(ctx: PageContext): Promise<HTMLElement> {
  const roles = ctx.who.access['/v1/clients'];
  if (roles === undefined || roles.includes(ctx.who.role)) {
    const c = await getJson<ClientsResponse>('/v1/clients');
    return section(
      'Organisations',
      c.organisations.length === 0
        ? el('p', {}, `No organisation has connected since ${c.since}.`)
        : table(
            ['Organisation', 'State', 'Clients connected', 'Last seen'],
            c.organisations.map((o) => [o.orgId, badge(o.connected ? 'connected' : 'disconnected', o.connected ? 'ok' : 'warn'), o.connectedClients, el('span', { class: 'last-seen', 'data-org': o.orgId, 'data-at': o.lastSeenAt }, o.lastSeenAt)]),
            { 'data-testid': 'organisations' },
          ),
      el('p', { class: 'note' }, `Last seen: the organisation's last connect, message or disconnect, recorded by this coordinator since ${c.since}.`),
      c.clients.length === 0 ? null : table(['Client', 'Organisation', 'Connected since'], c.clients.map((x) => [x.clientId, x.orgId, x.connectedAt]), { 'data-testid': 'clients' }),
    );
  }
  const p = await getJson<PresenceCounts>('/v1/presence');
  return section(
    'Organisations',
    el('p', { 'data-testid': 'clients-count' }, `${p.clients} client(s) connected; ${p.organisations.connected} organisation(s) connected, ${p.organisations.disconnected} seen since ${p.since} and now disconnected. Their names and last-seen times are shown to ${(roles ?? []).join(' and ')} only (your role: ${ctx.who.role}).`),
  );
}

export async function overview(ctx: PageContext): Promise<Node> {
  const list = await jobs();
  const chosen = pickJob(list, ctx.params);
  const rows = [...list].reverse().map((j) => [
    el('a', { href: `/console/overview?job=${encodeURIComponent(j.jobId)}` }, j.name),
    short(j.jobId),
    badge(j.state, STATE_TONE[j.state]),
    el('span', { class: 'rounds', 'data-job': j.jobId }, String(j.roundsCompleted)),
    j.outcome ?? '—',
    j.startedAt ?? '—',
  ]);
  const parts: Node[] = [section('Jobs', list.length === 0 ? el('p', {}, 'No jobs yet.') : table(['Job', 'Id', 'State', 'Rounds', 'Outcome', 'Started'], rows, { 'data-testid': 'jobs' }))];
  if (chosen) {
    const s = await series(chosen.jobId);
    const last = s.rounds[s.rounds.length - 1];
    parts.push(
      section(
        `Job ${chosen.name}`,
        el('p', { class: 'summary' }, 'State ', badge(s.job.state, STATE_TONE[s.job.state]), ' · round ', el('strong', { 'data-testid': 'current-round' }, String(s.rounds.length)), ` · participants ${last?.participants ?? '—'} · accuracy ${num(last?.accuracy)} · loss ${num(last?.loss)}`),
        el(
          'div',
          { class: 'charts' },
          lineChart({ name: 'accuracy', title: 'Accuracy per round', values: s.rounds.map((r) => ({ round: r.round, accuracy: r.accuracy })), x: 'round', y: 'accuracy' }),
          lineChart({ name: 'loss', title: 'Loss per round', values: s.rounds.flatMap((r) => [{ round: r.round, loss: r.loss, kind: 'evaluation' }, { round: r.round, loss: r.trainLoss, kind: 'training' }]).filter((v) => v.loss !== null), x: 'round', y: 'loss', series: 'kind' }),
          lineChart({ name: 'participants', title: 'Participants per round', values: s.rounds.map((r) => ({ round: r.round, participants: r.participants })), x: 'round', y: 'participants' }),
        ),
      ),
    );
    const a = alerts(s);
    parts.push(section('Alerts', a.length === 0 ? el('p', {}, 'None.') : el('ul', { class: 'alerts', 'data-testid': 'alerts' }, ...a)));
  }
  parts.push(await organisations(ctx));
  return el('div', {}, ...parts);
}
