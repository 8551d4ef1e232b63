/**
 * Operator metrics through prom-client, exposed at GET /v1/metrics in the Prometheus text format. Each
 * coordinator owns its Registry (never prom-client's global one: several coordinators run in one test process
 * and must not see each other's counts), with every family of metric-families.ts registered at construction.
 * prom-client does the exposition (escaping of label values and help text included).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '../governance/monitoring/latency.ts';
import { METRIC_FAMILIES, type CounterName, type GaugeName, type HistogramName, type LabelsOf, type MetricName } from './metric-families.ts';

export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();

  constructor() {
    for (const [name, f] of Object.entries(METRIC_FAMILIES)) {
      const config = { name, help: f.help, labelNames: [...f.labelNames], registers: [this.registry] };
      if (f.type === 'counter') this.counters.set(name, new Counter(config));
      // Histograms are latencies: the bounds the durable counters use too (governance/monitoring/latency.ts).
      else if (f.type === 'histogram') this.histograms.set(name, new Histogram({ ...config, buckets: [...LATENCY_BUCKETS_SECONDS] }));
      else this.gauges.set(name, new Gauge(config));
    }
  }

  /** Adds one observation to a histogram. */
  observe<N extends HistogramName>(name: N, labels: LabelsOf<N>, value: number): void {
    this.histograms.get(name)?.observe(this.known(name, labels), value);
  }

  /**
   * Adds `by` to a counter. `help` documents the call site; the family's declared help text is what is served.
   * Labels the family does not declare are dropped rather than thrown on: a metric must never fail a round.
   */
  inc<N extends CounterName>(name: N, _help: string, labels: LabelsOf<N> = {}, by = 1): void {
    this.counters.get(name)?.inc(this.known(name, labels), by);
  }

  /** Sets a gauge (last value wins). */
  set<N extends GaugeName>(name: N, _help: string, labels: LabelsOf<N>, value: number): void {
    this.gauges.get(name)?.set(this.known(name, labels), value);
  }

  /** Computes a gauge at each scrape (e.g. clients connected now). */
  collect(name: GaugeName, read: () => number): void {
    const gauge = this.gauges.get(name);
    if (gauge === undefined) return;
    this.registry.removeSingleMetric(name);
    const f = METRIC_FAMILIES[name];
    this.gauges.set(
      name,
      new Gauge({
        name,
        help: f.help,
        labelNames: [...f.labelNames],
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      }),
    );
  }

  /** The current value of one series (undefined when it has no sample yet). */
  async value<N extends MetricName>(name: N, labels: LabelsOf<N> = {}): Promise<number | undefined> {
    const metric = this.counters.get(name) ?? this.gauges.get(name);
    if (metric === undefined) return undefined;
    const want = Object.entries(labels);
    const { values } = await metric.get();
    const hit = values.find((v) => want.length === Object.keys(v.labels).length && want.every(([k, x]) => String(v.labels[k]) === x));
    return hit?.value;
  }

  /** Prometheus text exposition (format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private known(name: MetricName, labels: Readonly<Record<string, string | undefined>>): Record<string, string> {
    const allowed: readonly string[] = METRIC_FAMILIES[name].labelNames;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) if (v !== undefined && allowed.includes(k)) out[k] = v;
    return out;
  }
}
