/**
 * Vega-Lite specs for the HTML reports of runs and sweeps (issue 18 §5), rendered to SVG at report time by
 * lib/chart.ts (no browser, no network). Two shapes cover every chart of the reports: lines with optional 95 %
 * intervals (a band, or error bars on a sparse x) and labelled horizontal reference lines (baselines, policy
 * thresholds); and stacked bars (participation per organisation, bytes per round). Every chart carries its run's
 * configuration as a subtitle, so a chart copied out of the report still says what it shows.
 */
import { renderSvg, type VegaLiteSpec } from '../lib/chart.ts';

export interface IntervalPoint {
  readonly x: number;
  readonly y: number | null;
  /** 95 % interval around y, when known. */
  readonly low?: number | null;
  readonly high?: number | null;
}

export interface LineSeries {
  readonly name: string;
  readonly points: readonly IntervalPoint[];
}

export interface ReferenceLine {
  readonly name: string;
  readonly y: number;
}

export interface LinesChart {
  readonly title: string;
  readonly subtitle: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  readonly references?: readonly ReferenceLine[];
  /** 'band' (default) for dense x such as rounds, 'bars' for a few x values such as a sweep's ε. */
  readonly intervals?: 'band' | 'bars';
  readonly xScale?: 'linear' | 'log';
  readonly yDomain?: readonly [number, number];
}

const CONFIG = {
  background: 'white',
  font: 'sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'right', labelLimit: 260 },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
} as const;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

export function linesSpec(c: LinesChart): VegaLiteSpec {
  const names = [...c.series.map((s) => s.name), ...(c.references ?? []).map((r) => r.name)];
  const points = c.series.flatMap((s) => s.points.filter((p) => finite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })));
  const intervals = c.series.flatMap((s) => s.points.filter((p) => finite(p.low) && finite(p.high)).map((p) => ({ series: s.name, x: p.x, low: p.low, high: p.high })));
  const refs = (c.references ?? []).filter((r) => finite(r.y)).map((r) => ({ series: r.name, y: r.y }));
  const x = { field: 'x', type: 'quantitative', title: c.xLabel, scale: c.xScale === 'log' ? { type: 'log' } : { zero: false }, ...(c.xScale === 'log' ? {} : { axis: { tickMinStep: 1 } }) };
  const yScale = c.yDomain ? { domain: [...c.yDomain], nice: false } : { zero: false };
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: names }, sort: names };
  const layers: unknown[] = [];
  if (intervals.length > 0) {
    layers.push({
      data: { values: intervals },
      mark: c.intervals === 'bars' ? { type: 'errorbar', ticks: true } : { type: 'errorband', opacity: 0.2 },
      encoding: { x, y: { field: 'low', type: 'quantitative', title: c.yLabel, scale: yScale }, y2: { field: 'high' }, color },
    });
  }
  layers.push({ data: { values: points }, mark: { type: 'line', point: true, strokeWidth: 2 }, encoding: { x, y: { field: 'y', type: 'quantitative', title: c.yLabel, scale: yScale }, color } });
  if (refs.length > 0) {
    layers.push({ data: { values: refs }, mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'y', type: 'quantitative' }, color } });
  }
  return { $schema: SCHEMA, title: { text: c.title, subtitle: c.subtitle }, width: 560, height: 280, layer: layers, config: CONFIG } as VegaLiteSpec;
}

export interface BarDatum {
  readonly category: string;
  readonly part: string;
  readonly value: number;
}

export interface StackedBarsChart {
  readonly title: string;
  readonly subtitle: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly data: readonly BarDatum[];
  /** Side by side instead of stacked (parts that do not add up, e.g. bytes in and out). */
  readonly grouped?: boolean;
}

export function barsSpec(c: StackedBarsChart): VegaLiteSpec {
  const categories = [...new Set(c.data.map((d) => d.category))];
  const parts = [...new Set(c.data.map((d) => d.part))];
  return {
    $schema: SCHEMA,
    title: { text: c.title, subtitle: c.subtitle },
    width: Math.max(320, Math.min(900, categories.length * (c.grouped ? 28 : 18))),
    height: 260,
    data: { values: c.data.map((d) => ({ ...d })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'category', type: 'ordinal', title: c.xLabel, sort: categories, axis: { labelAngle: categories.length > 12 ? -60 : 0 } },
      ...(c.grouped ? { xOffset: { field: 'part', type: 'nominal', sort: parts } } : {}),
      y: { field: 'value', type: 'quantitative', title: c.yLabel, ...(c.grouped ? {} : { stack: 'zero' }) },
      color: { field: 'part', type: 'nominal', title: null, scale: { domain: parts }, sort: parts },
    },
    config: CONFIG,
  } as VegaLiteSpec;
}

/** Renders a spec to SVG without its XML prologue, ready to inline in HTML. */
export async function inlineSvg(spec: VegaLiteSpec): Promise<string> {
  return (await renderSvg(spec)).replace(/^<\?xml[^>]*>\s*/, '');
}
