/**
 * Reads a /v1/metrics body with an independent Prometheus text parser (parse-prometheus-text-format, a port of the
 * Prometheus Python client's parser) and checks its output shape, so a test asserts on what a scraper would see.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { z } from 'zod';

const Family = z.object({
  name: z.string(),
  help: z.string(),
  type: z.enum(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED']),
  metrics: z.array(z.object({ value: z.string().optional(), labels: z.record(z.string(), z.string()).optional() }).loose()),
});
export type PrometheusFamily = z.infer<typeof Family>;

export function parsePrometheus(text: string): Map<string, PrometheusFamily> {
  const families = z.array(Family).parse(parsePrometheusTextFormat(text));
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of the sample of `family` whose labels equal `labels` (undefined when absent). */
export function sampleValue(families: Map<string, PrometheusFamily>, family: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels);
  const m = families.get(family)?.metrics.find((s) => {
    const got = s.labels ?? {};
    return Object.keys(got).length === want.length && want.every(([k, v]) => got[k] === v);
  });
  return m?.value === undefined ? undefined : Number(m.value);
}
