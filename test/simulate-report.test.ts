/**
 * A run's outputs (issue 18 §5): report.html is self-contained (inline SVG, no script, nothing fetched) and holds
 * every chart the issue names — accuracy and loss with the baselines as reference lines, ε over rounds,
 * participation per organisation, fairness with thresholds, intervals and group sizes, cost per round — each
 * naming the run's configuration; rounds.csv carries every per-round figure of results.json; the manifest hashes
 * the data files the run read.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/hash.ts';
import { silentLogger } from '../lib/logger.ts';
import { writeSimulationOutputs } from '../simulations/report.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

/** RFC 4180 rows: a field is either quoted (quotes doubled inside) or runs to the next comma. */
function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => [...line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => (m[1] !== undefined ? m[1].replace(/""/g, '"') : (m[2] ?? ''))));
}

function leaves(prefix: string, v: unknown, out: Array<[string, unknown]>): void {
  if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) leaves(prefix === '' ? k : `${prefix}.${k}`, x, out);
  else out.push([prefix, v]);
}

describe('simulation report', () => {
  it('report.html, rounds.csv and the manifest of a DP + fairness run with baselines (Heart hospitals)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-report-'));
    const sim = await runSimulation(
      { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 3, samplingRate: 1, minClients: 3, seededNoise: true, baselines: true, job: { dp: { enabled: true, epsilon: 6, noiseMultiplier: 3, clipNorm: 1 }, fairness: { enabled: true, sensitive: ['sex'], policy: [{ metric: 'demographicParityDifference', attribute: 'sex', max: 0.3 }] } } },
      { logger: silentLogger() },
    );
    await writeSimulationOutputs(out, sim);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\bsrc=|\bon[a-z]+="/i);
    expect(html.match(/href="[^"#]/g) ?? []).toEqual([]);
    for (const title of ['Accuracy per round', 'Loss per round', 'ε spent over rounds', 'Rounds taken part in, declined and dropped, per organisation', 'Disparities by sex over rounds', 'Selection rate by sex (95 % Wilson intervals)', 'Group sizes by sex', 'Time per round', 'Bytes on the wire per round']) {
      expect(html, title).toContain(title);
    }
    // Baselines and the policy threshold are drawn as named reference lines; every chart names the configuration.
    for (const legend of ['baseline: pooled', 'baseline: local only (mean)', 'baseline: federated, no DP', 'policy: demographicParityDifference ≤ 0.3', 'ε budget']) expect(html, legend).toContain(legend);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBe(9);
    for (const svg of svgs) expect(svg).toContain('heart · 4 clients · natural · 3 rounds · seed 42');
    // Switzerland declines every round (its data breaks the contract): the participation chart counts it.
    expect(html).toContain('switzerland');

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { rounds: Array<Record<string, unknown>>; manifest: { data: { files: Array<{ name: string; sha256: string }> }; result: { weightsSha256: string } } };
    const [header, ...rows] = parseCsv(readFileSync(join(out, 'rounds.csv'), 'utf8'));
    expect(rows).toHaveLength(3);
    for (const col of ['extra.privacy.epsilon', 'extra.federatedEvaluation.accuracy', 'extra.fairness.disparities.sex.demographicParityDifference', 'cost.bytesFromClients', 'cost.bytesToClients', 'cost.coordinatorMs', 'cost.clientTrainMs']) expect(header).toContain(col);
    // Every figure of every round of results.json is in rounds.csv, equal as text.
    results.rounds.forEach((round, i) => {
      const figures: Array<[string, unknown]> = [];
      leaves('', round, figures);
      for (const [name, value] of figures) {
        const column = ({ durationMs: 'duration_ms', participantOrgs: 'organisations' } as Record<string, string>)[name] ?? name;
        const at = header?.indexOf(column) ?? -1;
        expect(at, name).toBeGreaterThanOrEqual(0);
        expect(rows[i]?.[at], name).toBe(value === null ? '' : String(value));
      }
    });
    // Bytes: each round sends every participant the weights (float32) and gets an update back.
    const bytesTo = results.rounds.map((r) => (r.cost as { bytesToClients: number }).bytesToClients);
    for (const b of bytesTo) expect(b).toBeGreaterThan(4 * sim.result.weights.length * 3);

    const names = results.manifest.data.files.map((f) => f.name);
    expect(names).toContain('processed.cleveland.data');
    const cleveland = results.manifest.data.files.find((f) => f.name === 'processed.cleveland.data');
    expect(cleveland?.sha256).toBe(sha256Hex(readFileSync(join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data'))));
    expect(results.manifest.result.weightsSha256).toBe(sha256Hex(new Uint8Array(sim.result.weights.buffer, sim.result.weights.byteOffset, sim.result.weights.byteLength)));
  }, 180_000);
});
