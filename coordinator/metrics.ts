/**
 * Operator metrics: monotone counters and last-value gauges with labels, exposed at GET /v1/metrics in the
 * Prometheus text format (https://prometheus.io/docs/instrumenting/exposition_formats/). Counts and
 * aggregate statistics only — never anything about a single client's data.
 */
type Labels = Readonly<Record<string, string>>;

/** Label values escape backslash, double quote and line feed (exposition format, "Text format details"). */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function key(name: string, labels: Labels): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `${name}{${parts.join(',')}}` : name;
}

export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();
  private readonly help = new Map<string, { type: 'counter' | 'gauge'; text: string }>();

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    this.help.set(name, { type: 'counter', text: help });
    const k = key(name, labels);
    this.counters.set(k, (this.counters.get(k) ?? 0) + by);
  }

  set(name: string, help: string, labels: Labels, value: number): void {
    this.help.set(name, { type: 'gauge', text: help });
    this.gauges.set(key(name, labels), value);
  }

  value(name: string, labels: Labels = {}): number | undefined {
    const k = key(name, labels);
    return this.counters.get(k) ?? this.gauges.get(k);
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [name, h] of this.help) {
      lines.push(`# HELP ${name} ${escapeHelp(h.text)}`, `# TYPE ${name} ${h.type}`);
      const source = h.type === 'counter' ? this.counters : this.gauges;
      for (const [k, v] of source) if (k === name || k.startsWith(`${name}{`)) lines.push(`${k} ${v}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
