// parse-prometheus-text-format ships no types; test/support/prometheus.ts parses its output with zod.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown;
}
