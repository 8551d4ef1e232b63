/**
 * Charts for reports (simulation output, fairness reports, model cards): build a Vega-Lite spec, compile it
 * to Vega and render SVG server-side — no browser, no canvas, no network. vega and vega-lite are ESM-only
 * and heavy, so they are loaded by `import()` on first use and cached; code that never draws a chart never
 * pays for them. (vega 6.4.0 / vega-lite 6.4.0 are pinned: later versions need Node 22.)
 *
 * Values may be null (a metric undefined in some round): such points are left out, so lines show the gap
 * as a straight segment between the defined neighbours and bars are simply missing.
 */
import type { TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

export interface ChartPoint {
  x: number | string;
  y: number | null;
}

export interface ChartSeries {
  name: string;
  points: readonly ChartPoint[];
}

interface CommonOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Plot area size in pixels. Defaults 560 × 300. */
  width?: number;
  height?: number;
  /** Fixed y range, e.g. [0, 1] for rates; default: fitted to the data (including 0). */
  yDomain?: readonly [number, number];
}

export interface LineChartOptions extends CommonOptions {
  series: readonly ChartSeries[];
}

export interface BarDatum {
  /** The x category (e.g. a metric or a round). */
  category: string;
  /** The bar within the category (e.g. a group). */
  group: string;
  value: number | null;
}

export interface GroupedBarChartOptions extends CommonOptions {
  data: readonly BarDatum[];
}

const BASE_CONFIG = {
  background: 'white',
  font: 'sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'right' },
  title: { fontSize: 14, anchor: 'start' },
} as const;

const unique = (values: readonly string[]): string[] => [...new Set(values)];

function yScale(o: CommonOptions): Record<string, unknown> {
  return o.yDomain ? { domain: [...o.yDomain], nice: false } : { zero: true };
}

/** A multi-series line chart (e.g. accuracy over rounds, or one group metric per group over rounds). */
export function lineChartSpec(o: LineChartOptions): VegaLiteSpec {
  const values = o.series.flatMap((s) => s.points.filter((p) => p.y !== null && Number.isFinite(p.y)).map((p) => ({ series: s.name, x: p.x, y: p.y })));
  const numericX = o.series.every((s) => s.points.every((p) => typeof p.x === 'number'));
  const names = o.series.map((s) => s.name);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 560,
    height: o.height ?? 300,
    data: { values },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: numericX
        ? { field: 'x', type: 'quantitative', title: o.xLabel, axis: { tickMinStep: 1, format: 'd' }, scale: { zero: false } }
        : { field: 'x', type: 'ordinal', title: o.xLabel, sort: null },
      y: { field: 'y', type: 'quantitative', title: o.yLabel, scale: yScale(o) },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: names }, sort: names },
    },
    config: BASE_CONFIG,
  } as VegaLiteSpec;
}

/** Grouped bars: one cluster per category, one bar per group (e.g. selection rate per group per metric). */
export function groupedBarChartSpec(o: GroupedBarChartOptions): VegaLiteSpec {
  const categories = unique(o.data.map((d) => d.category));
  const groups = unique(o.data.map((d) => d.group));
  const values = o.data.filter((d) => d.value !== null && Number.isFinite(d.value)).map((d) => ({ category: d.category, group: d.group, value: d.value }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 560,
    height: o.height ?? 300,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'category', type: 'nominal', title: o.xLabel, sort: categories, axis: { labelAngle: 0 } },
      xOffset: { field: 'group', type: 'nominal', sort: groups, scale: { domain: groups } },
      y: { field: 'value', type: 'quantitative', title: o.yLabel, scale: yScale(o) },
      color: { field: 'group', type: 'nominal', title: null, scale: { domain: groups }, sort: groups },
    },
    config: BASE_CONFIG,
  } as VegaLiteSpec;
}

interface VegaModules {
  compile: (spec: VegaLiteSpec) => { spec: unknown };
  parse: (spec: unknown) => unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}

let modules: Promise<VegaModules> | undefined;

function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([import('vega-lite'), import('vega')]).then(([vl, vega]) => ({
    compile: (spec) => vl.compile(spec),
    parse: (spec) => vega.parse(spec as Parameters<typeof vega.parse>[0]),
    View: vega.View as unknown as VegaModules['View'],
  }));
  return modules;
}

/** Renders any Vega-Lite spec to a standalone SVG document. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { compile, parse, View } = await loadVega();
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function lineChartSvg(o: LineChartOptions): Promise<string> {
  return renderSvg(lineChartSpec(o));
}

export function groupedBarChartSvg(o: GroupedBarChartOptions): Promise<string> {
  return renderSvg(groupedBarChartSpec(o));
}
