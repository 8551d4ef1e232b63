/// <reference lib="dom" />
/**
 * Fairness (issue 17 §4): the latest federated evaluation's per-group table with Wilson intervals, the
 * disparity metrics over rounds, and the policy's rules with pass/fail — all from the fairness slot of the
 * round records (counts summed across organisations; groups below the minimum size are suppressed there).
 */
import type { SeriesRound } from '../../schemas.ts';
import { lineChart, type Row } from '../charts.ts';
import { badge, el, num, section, table } from '../dom.ts';
import { jobPicker, jobs, pickJob, series } from '../jobs.ts';
import type { PageContext } from '../page.ts';

type Fair = Extract<NonNullable<SeriesRound['fairness']>, { ok: true }>;

const interval = (v: number | null, i: readonly [number, number] | null | undefined): string => (v === null ? '—' : i ? `${num(v, 3)} [${num(i[0], 3)}, ${num(i[1], 3)}]` : num(v, 3));

function groups(f: Fair): HTMLElement[] {
  return Object.entries(f.report.groups).map(([attribute, byGroup]) =>
    el(
      'div',
      {},
      el('h3', {}, attribute),
      table(
        ['Group', 'Examples', 'Accuracy', 'Selection rate', 'TPR', 'FPR'],
        Object.entries(byGroup).map(([g, m]) => (m.suppressed ? [g, `suppressed: ${m.reason}`, '', '', '', ''] : [g, m.count, interval(m.accuracy, m.intervals.accuracy), interval(m.selectionRate, m.intervals.selectionRate), interval(m.tpr, m.intervals.tpr), interval(m.fpr, m.intervals.fpr)])),
      ),
    ),
  );
}

export async function fairness(ctx: PageContext): Promise<Node> {
  const list = await jobs();
  const chosen = pickJob(list, ctx.params);
  if (!chosen) return el('p', {}, 'No jobs yet.');
  const s = await series(chosen.jobId);
  const evaluated = s.rounds.flatMap((r) => (r.fairness?.ok ? [{ round: r.round, f: r.fairness }] : []));
  const latest = evaluated[evaluated.length - 1];
  if (!latest) return el('div', {}, jobPicker(list, chosen), el('p', {}, 'This job has no fairness evaluation (fairness section of the job spec).'));
  const disparity: Row[] = evaluated.flatMap(({ round, f }) =>
    Object.entries(f.report.disparities).flatMap(([attribute, d]) => [
      { round, attribute, metric: 'demographic parity difference', value: d.demographicParityDifference },
      { round, attribute, metric: 'equalized odds difference', value: d.equalizedOddsDifference },
      { round, attribute, metric: 'accuracy gap', value: d.accuracyGap },
    ]),
  );
  const attributes = [...new Set(disparity.map((d) => String(d.attribute)))];
  return el(
    'div',
    {},
    jobPicker(list, chosen),
    section(
      `Policy (round ${latest.round})`,
      el('p', {}, latest.f.passed ? badge('policy passed', 'ok') : badge('policy FAILED', 'bad'), ` report ${latest.f.hash.slice(0, 16)}…`),
      table(['Attribute', 'Metric', 'Bound', 'Value', 'Status'], latest.f.rules.map((r) => [r.attribute, r.metric, [r.min !== undefined ? `≥ ${r.min}` : '', r.max !== undefined ? `≤ ${r.max}` : ''].filter(Boolean).join(' '), num(r.value), badge(r.status, r.status === 'pass' ? 'ok' : r.status === 'fail' ? 'bad' : 'warn')]), { 'data-testid': 'rules' }),
    ),
    section(`Groups (round ${latest.round}, 95 % Wilson intervals)`, ...groups(latest.f)),
    section('Disparities over rounds', ...attributes.map((a) => lineChart({ name: `disparity-${a}`, title: a, values: disparity.filter((d) => d.attribute === a && d.value !== null), x: 'round', y: 'value', series: 'metric' }))),
  );
}
