/// <reference lib="dom" />
/**
 * Data (issue 17 §3): the chosen job's data set, contract hash and spec hash; per round how many participants'
 * contract checks arrived, passed and failed, with declines by code; drift alerts with the column's statistic
 * and threshold, and a chart of each drifted column's statistic over rounds against its threshold.
 */
import { lineChart } from '../charts.ts';
import { el, num, section, short, table } from '../dom.ts';
import { jobPicker, jobs, pickJob, series } from '../jobs.ts';
import type { PageContext } from '../page.ts';

export async function data(ctx: PageContext): Promise<Node> {
  const list = await jobs();
  const chosen = pickJob(list, ctx.params);
  if (!chosen) return el('p', {}, 'No jobs yet.');
  const s = await series(chosen.jobId);
  const drift = s.rounds.flatMap((r) => (r.dataContract?.driftAlerts ?? []).map((a) => ({ round: r.round, ...a })));
  const columns = [...new Set(drift.map((d) => d.column))];
  return el(
    'div',
    {},
    jobPicker(list, chosen),
    section('Contract', table(['Data set', 'Contract hash', 'Job spec hash'], [[s.spec?.dataset ?? '—', el('code', {}, s.spec?.contractHash ?? 'none'), el('code', {}, short(s.spec?.specHash))]])),
    section(
      'Checks per round',
      table(
        ['Round', 'Checked', 'Passed', 'Failed', 'Declined', 'Codes'],
        s.rounds.map((r) => [r.round, r.dataContract?.checked ?? '—', r.dataContract ? r.dataContract.checked - r.dataContract.failed : '—', r.dataContract?.failed ?? '—', r.declined, Object.entries(r.codes).map(([c, n]) => `${c} ×${n}`).join(', ') || '—']),
        { 'data-testid': 'checks' },
      ),
    ),
    section(
      'Drift alerts',
      drift.length === 0
        ? el('p', {}, 'No drift alerts.')
        : table(['Round', 'Column', 'Statistic', 'Mean value', 'Threshold', 'Drifted clients'], drift.map((d) => [d.round, d.column, d.statistic, num(d.meanValue), num(d.threshold), `${d.driftedClients} of ${d.clients}`])),
      ...columns.map((c) => {
        const rows = drift.filter((d) => d.column === c);
        const threshold = rows[0]?.threshold ?? 0;
        return lineChart({ name: `drift-${c}`, title: `${c}: ${rows[0]?.statistic ?? ''} over rounds`, values: rows.map((d) => ({ round: d.round, value: d.meanValue })), x: 'round', y: 'value', rule: { value: threshold, label: `threshold ${threshold}` } });
      }),
    ),
  );
}
