/// <reference lib="dom" />
/**
 * Data (issue 17 §3): the chosen job's data set, contract hash and spec hash; per round how many participants'
 * contract checks arrived, passed and failed (a chart; the rounds with failures, declines or drops listed with
 * their codes, every round behind a fold); drift alerts with the column's statistic and threshold, and a chart of
 * each drifted column's statistic over rounds against its threshold.
 */
import { lineChart } from '../charts.ts';
import type { SeriesRound } from '../../schemas.ts';
import { el, num, section, short, table, type Child } from '../dom.ts';
import { jobPicker, jobs, pickJob, series } from '../jobs.ts';
import type { PageContext } from '../page.ts';

const checkRow = (r: SeriesRound): Child[] => [r.round, r.dataContract?.checked ?? '—', r.dataContract ? r.dataContract.checked - r.dataContract.failed : '—', r.dataContract?.failed ?? '—', r.declined, Object.entries(r.codes).map(([c, n]) => `${c} ×${n}`).join(', ') || '—'];

export async function data(ctx: PageContext): Promise<Node> {
  const list = await jobs();
  const chosen = pickJob(list, ctx.params);
  if (!chosen) return el('p', {}, 'No jobs yet.');
  const s = await series(chosen.jobId);
  const drift = s.rounds.flatMap((r) => (r.dataContract?.driftAlerts ?? []).map((a) => ({ round: r.round, ...a })));
  const columns = [...new Set(drift.map((d) => d.column))];
  const latest = columns.map((c) => drift.filter((d) => d.column === c).at(-1)).filter((d) => d !== undefined);
  const trouble = s.rounds.filter((r) => (r.dataContract?.failed ?? 0) > 0 || r.declined > 0 || r.dropped > 0);
  return el(
    'div',
    {},
    jobPicker(list, chosen),
    section('Contract', table(['Data set', 'Contract hash', 'Job spec hash'], [[s.spec?.dataset ?? '—', el('code', {}, s.spec?.contractHash ?? 'none'), el('code', {}, short(s.spec?.specHash))]])),
    section(
      'Checks per round',
      lineChart({ name: 'checks', title: 'Contract checks per round', values: s.rounds.flatMap((r) => (r.dataContract ? [{ round: r.round, count: r.dataContract.checked - r.dataContract.failed, kind: 'passed' }, { round: r.round, count: r.dataContract.failed, kind: 'failed' }] : [])), x: 'round', y: 'count', series: 'kind' }),
      trouble.length === 0 ? el('p', {}, 'No round had a failed check, a decline or a drop.') : table(['Round', 'Checked', 'Passed', 'Failed', 'Declined', 'Codes'], trouble.map(checkRow), { 'data-testid': 'checks' }),
      el('details', {}, el('summary', {}, `All ${s.rounds.length} rounds`), table(['Round', 'Checked', 'Passed', 'Failed', 'Declined', 'Codes'], s.rounds.map(checkRow))),
    ),
    section(
      'Drift alerts',
      drift.length === 0 ? el('p', {}, 'No drift alerts.') : table(['Column', 'Statistic', 'Rounds alerted', 'Latest round', 'Latest value', 'Threshold', 'Drifted clients'], latest.map((d) => [d.column, d.statistic, drift.filter((x) => x.column === d.column).length, d.round, num(d.meanValue), num(d.threshold), `${d.driftedClients} of ${d.clients}`]), { 'data-testid': 'drift' }),
      ...columns.map((c) => {
        const rows = drift.filter((d) => d.column === c);
        const threshold = rows[0]?.threshold ?? 0;
        return lineChart({ name: `drift-${c}`, title: `${c}: ${rows[0]?.statistic ?? ''} over rounds`, values: rows.map((d) => ({ round: d.round, value: d.meanValue })), x: 'round', y: 'value', rule: { value: threshold, label: `threshold ${threshold}` } });
      }),
      drift.length === 0 ? null : el('details', {}, el('summary', {}, `Every alert (${drift.length})`), table(['Round', 'Column', 'Statistic', 'Mean value', 'Threshold', 'Drifted clients'], drift.map((d) => [d.round, d.column, d.statistic, num(d.meanValue), num(d.threshold), `${d.driftedClients} of ${d.clients}`]))),
    ),
  );
}
