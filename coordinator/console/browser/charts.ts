/// <reference lib="dom" />
/**
 * Charts through vega-embed (vega-lite specs), CSP-safe: `ast: true` with vega-interpreter evaluates vega's
 * expressions without `new Function` (the page's Content-Security-Policy has no 'unsafe-eval'); no actions menu
 * and no default stylesheet (it would be injected inline). Each chart's container states how many points it
 * drew in `data-points`, which the browser tests read.
 */
import type { default as Embed, VisualizationSpec } from 'vega-embed';
import type { expressionInterpreter as Interpreter } from 'vega-interpreter';
import { el } from './dom.ts';

/** vega-embed and vega-interpreter are a separate chunk (most of the bundle): loaded once, by the first page with a chart. */
const vega = async (): Promise<[typeof Embed, typeof Interpreter]> => {
  const [e, i] = await Promise.all([import('vega-embed'), import('vega-interpreter')]);
  return [e.default, i.expressionInterpreter];
};

export type Row = Record<string, string | number | null>;

export interface LineChart {
  readonly name: string;
  readonly title: string;
  readonly values: readonly Row[];
  readonly x: string;
  readonly y: string;
  readonly xTitle?: string;
  readonly yTitle?: string;
  /** A field whose values are separate lines. */
  readonly series?: string;
  /** A horizontal rule (e.g. the ε budget). */
  readonly rule?: { readonly value: number; readonly label: string };
  /** One dashed horizontal rule per line (e.g. each organisation's ε cap), in that line's colour: rows of `series` and `field`. */
  readonly limits?: { readonly values: readonly Row[]; readonly field: string };
}

function lineSpec(c: LineChart): VisualizationSpec {
  const line = {
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: c.x, type: 'quantitative', title: c.xTitle ?? c.x, axis: { tickMinStep: 1 } },
      y: { field: c.y, type: 'quantitative', title: c.yTitle ?? c.y },
      ...(c.series !== undefined ? { color: { field: c.series, type: 'nominal', title: c.series } } : {}),
    },
  };
  const layers: unknown[] = [line];
  if (c.limits !== undefined && c.series !== undefined) {
    layers.push({ data: { values: [...c.limits.values] }, mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 2 }, encoding: { y: { field: c.limits.field, type: 'quantitative' }, color: { field: c.series, type: 'nominal', title: c.series } } });
  }
  if (c.rule) {
    layers.push({ data: { values: [{ v: c.rule.value, label: c.rule.label }] }, mark: { type: 'rule', color: '#b3261e', strokeDash: [6, 4] }, encoding: { y: { field: 'v', type: 'quantitative' } } });
    layers.push({ data: { values: [{ v: c.rule.value, label: c.rule.label }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#b3261e' }, encoding: { y: { field: 'v', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } });
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: c.title, width: 520, height: 200, data: { values: [...c.values] }, layer: layers } as VisualizationSpec;
}

export interface BarChart {
  readonly name: string;
  readonly title: string;
  readonly values: readonly Row[];
  /** The category (one bar each) and the value. */
  readonly category: string;
  readonly value: string;
  readonly valueTitle?: string;
  /** A field holding each bar's own limit (e.g. an organisation's ε cap), drawn as a tick; null: none. */
  readonly limit?: string;
}

function barSpec(c: BarChart): VisualizationSpec {
  const layers: unknown[] = [{ mark: { type: 'bar' }, encoding: { y: { field: c.category, type: 'nominal', title: null }, x: { field: c.value, type: 'quantitative', title: c.valueTitle ?? c.value } } }];
  if (c.limit !== undefined) layers.push({ transform: [{ filter: `datum.${c.limit} != null` }], mark: { type: 'tick', color: '#b3261e', thickness: 3 }, encoding: { y: { field: c.category, type: 'nominal' }, x: { field: c.limit, type: 'quantitative' } } });
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: c.title, width: 420, data: { values: [...c.values] }, layer: layers } as VisualizationSpec;
}

/** A horizontal bar per category (with an optional limit tick per bar). */
export function barChart(c: BarChart): HTMLElement {
  return chart(c.name, c.values.length, barSpec(c));
}

/** A container that fills in with the chart; failures show as text (and reach the console as errors). */
export function lineChart(c: LineChart): HTMLElement {
  return chart(c.name, c.values.length, lineSpec(c));
}

function chart(name: string, points: number, spec: VisualizationSpec): HTMLElement {
  const holder = el('div', { class: 'chart', 'data-chart': name, 'data-points': String(points) });
  const target = el('div', { class: 'chart-body' });
  holder.append(target);
  queueMicrotask(() => {
    vega()
      .then(([embed, expressionInterpreter]) => embed(target, spec, { actions: false, renderer: 'svg', ast: true, expr: expressionInterpreter, defaultStyle: false, tooltip: false }))
      .then(() => holder.setAttribute('data-rendered', 'true'))
      .catch((e: unknown) => {
        holder.append(el('p', { class: 'error' }, `chart failed: ${String(e)}`));
        console.error(e);
      });
  });
  return holder;
}
