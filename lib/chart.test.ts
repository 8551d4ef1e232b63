import { describe, expect, it } from 'vitest';
import { groupedBarChartSpec, groupedBarChartSvg, lineChartSpec, lineChartSvg } from './chart.ts';

const series = [
  { name: 'Female', points: [{ x: 1, y: 0.7 }, { x: 2, y: null }, { x: 3, y: 0.8 }] },
  { name: 'Male', points: [{ x: 1, y: 0.6 }, { x: 2, y: 0.65 }, { x: 3, y: 0.75 }] },
];

describe('lib/chart', () => {
  it('builds a Vega-Lite line spec without the null points', () => {
    const spec = lineChartSpec({ title: 'Accuracy', xLabel: 'round', yLabel: 'accuracy', series, yDomain: [0, 1] }) as unknown as { data: { values: unknown[] }; encoding: { x: { type: string } } };
    expect(spec.data.values).toHaveLength(5);
    expect(spec.encoding.x.type).toBe('quantitative');
    const ordinal = lineChartSpec({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [{ x: 'a', y: 1 }] }] }) as unknown as { encoding: { x: { type: string } } };
    expect(ordinal.encoding.x.type).toBe('ordinal');
  });

  it('renders a line chart to SVG with escaped title, legend and one symbol per defined point', async () => {
    const svg = await lineChartSvg({ title: 'Accuracy <by> group & round', xLabel: 'round', yLabel: 'accuracy', series, yDomain: [0, 1] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Accuracy &lt;by&gt; group &amp; round');
    expect(svg).toContain('>Female</text>');
    expect(svg).toContain('>Male</text>');
    expect(svg.match(/class="mark-line role-mark/g)).toHaveLength(2); // one line mark per series
    // Points carry their data in aria-labels: 5 defined points, none for the null.
    expect(svg.match(/aria-roledescription="point"/g)).toHaveLength(5);
    expect(svg).toContain('aria-label="round: 2; accuracy: 0.65; series: Male"');
  });

  it('renders grouped bars, leaving out null values', async () => {
    const data = [
      { category: 'accuracy', group: 'F', value: 0.8 },
      { category: 'accuracy', group: 'M', value: 0.7 },
      { category: 'TPR', group: 'F', value: 0.5 },
      { category: 'TPR', group: 'M', value: null },
    ];
    const spec = groupedBarChartSpec({ title: 'Per group', xLabel: 'metric', yLabel: 'value', data }) as unknown as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(3);
    const svg = await groupedBarChartSvg({ title: 'Per group', xLabel: 'metric', yLabel: 'value', data });
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(3);
    expect(svg).toContain('aria-label="metric: accuracy; value: 0.7; group: M"');
  });
});
