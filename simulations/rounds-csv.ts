/**
 * rounds.csv (issue 18 §5): one row per committed round carrying every per-round figure of results.json's
 * `rounds` — the record's counts and timings, the cost per round, and each feature slot (ε, held-out accuracy,
 * fairness disparities, secure-aggregation parameters …) flattened to dotted column names. Lists of clients
 * (dropped, declined, organisations taking part) become their counts: the CSV carries figures, not identities.
 * The first seven columns keep their historical names (round, accuracy, loss, participants, dropped, declined,
 * duration_ms) so that existing readers of the file keep working.
 */
import type { SimulationSummary } from './report.ts';

type Scalar = string | number | boolean | null;

const LEADING = ['round', 'accuracy', 'loss', 'participants', 'dropped', 'declined', 'duration_ms'] as const;

/** Flattens `value` into `out` under dotted names; arrays by index, objects by key. */
function flatten(prefix: string, value: unknown, out: Map<string, Scalar>): void {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    out.set(prefix, value);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(`${prefix}.${i}`, v, out));
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(prefix === '' ? k : `${prefix}.${k}`, v, out);
  }
}

/** The columns of one summary round, in a stable order. */
export function roundColumns(r: SimulationSummary['rounds'][number]): Map<string, Scalar> {
  const { round, accuracy, loss, participants, durationMs, dropped, declined, participantOrgs, extra, ...rest } = r;
  const out = new Map<string, Scalar>([
    ['round', round],
    ['accuracy', accuracy],
    ['loss', loss],
    ['participants', participants],
    ['dropped', dropped],
    ['declined', declined],
    ['duration_ms', durationMs],
    ['organisations', participantOrgs],
  ]);
  flatten('', rest, out);
  flatten('extra', extra, out);
  return out;
}

function cell(v: Scalar | undefined): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  // RFC 4180 §2: fields holding a comma, quote or line break are quoted, quotes doubled.
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV text: the union of every round's columns (first appearance order after the leading seven). */
export function roundsCsv(rounds: SimulationSummary['rounds']): string {
  const rows = rounds.map(roundColumns);
  const header: string[] = [...LEADING];
  const seen = new Set<string>(header);
  for (const row of rows) {
    for (const k of row.keys()) {
      if (seen.has(k)) continue;
      seen.add(k);
      header.push(k);
    }
  }
  return `${[header.join(','), ...rows.map((row) => header.map((h) => cell(row.get(h))).join(','))].join('\n')}\n`;
}
