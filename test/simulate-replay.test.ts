/**
 * `tessera simulate --replay results.json` (issue 18 §5): an identical re-run matches; a recorded result that
 * differs from what the code and data produce — a round's figure, the final weights, an edited data file — fails
 * with TESSERA_ERR_REPLAY_MISMATCH naming what differs; a run drawn from the CSPRNG is refused as unreplayable.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { isTesseraError } from '../protocol/errors.ts';
import { replaySimulation } from '../simulations/replay.ts';
import { writeSimulationOutputs } from '../simulations/report.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { cli } from './support/cli.ts';
import { SHARED_DATA_DIR } from './paths.ts';

async function replayError(path: string): Promise<{ code: string; message: string }> {
  try {
    await replaySimulation(path, { logger: silentLogger() });
  } catch (e) {
    if (isTesseraError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  return { code: 'matched', message: '' };
}

/** A copy of results.json with `edit` applied to its parsed form. */
function edited(results: string, edit: (doc: { manifest: { result: { weightsSha256: string; rounds: Array<{ accuracy: number | null }> } } }) => void): string {
  const doc = JSON.parse(readFileSync(results, 'utf8')) as Parameters<typeof edit>[0];
  edit(doc);
  const path = join(mkdtempSync(join(tmpdir(), 'tessera-replay-edit-')), 'results.json');
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe('simulate --replay', () => {
  // The Heart files copied to a scratch directory (outside the repository), so one test can edit one.
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-replay-data-'));
  const out = mkdtempSync(join(tmpdir(), 'tessera-replay-'));
  const results = join(out, 'results.json');

  beforeAll(async () => {
    cpSync(join(SHARED_DATA_DIR, 'heart'), join(dataDir, 'heart'), { recursive: true });
    const sim = await runSimulation({ dataset: 'heart', dataDir, rounds: 2, seed: 7 }, { logger: silentLogger() });
    await writeSimulationOutputs(out, sim);
  }, 120_000);

  it('an identical re-run matches, through the CLI (exit 0)', async () => {
    const r = await cli('simulate', '--replay', results, '--json');
    expect(r.stderr).not.toMatch(/TESSERA_ERR/);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { matched: boolean; rounds: number; weightsSha256: string };
    const recorded = JSON.parse(readFileSync(results, 'utf8')) as { manifest: { result: { weightsSha256: string } } };
    expect(doc).toMatchObject({ matched: true, rounds: 2, weightsSha256: recorded.manifest.result.weightsSha256 });
  }, 120_000);

  it('a recorded round figure that the code does not reproduce fails, naming the round and the figure (CLI exit 1)', async () => {
    const path = edited(results, (d) => {
      const r2 = d.manifest.result.rounds[1];
      if (r2 && r2.accuracy !== null) r2.accuracy += 1e-12;
    });
    const r = await cli('simulate', '--replay', path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TESSERA_ERR_REPLAY_MISMATCH/);
    expect(r.stderr).toMatch(/round 2: accuracy was/);
  }, 120_000);

  it('different final weights fail, naming the weights hash', async () => {
    const path = edited(results, (d) => {
      d.manifest.result.weightsSha256 = '0'.repeat(64);
    });
    const e = await replayError(path);
    expect(e.code).toBe('TESSERA_ERR_REPLAY_MISMATCH');
    expect(e.message).toMatch(/final weights hash to [0-9a-f]{16}…, the recorded ones to 0000000000000000…/);
  }, 120_000);

  it('an edited data file fails before anything runs, naming the file', async () => {
    appendFileSync(join(dataDir, 'heart', 'processed.va.data'), '63,1,1,145,233,1,2,150,0,2.3,3,0,6,0\n');
    const e = await replayError(results);
    expect(e).toEqual({ code: 'TESSERA_ERR_REPLAY_MISMATCH', message: expect.stringMatching(/^data file processed\.va\.data differs from the recorded run's/) as unknown as string });
  });

  it('a DP run with noise from the CSPRNG cannot be replayed (TESSERA_ERR_REPLAY_INVALID, exit 2); a results.json without a manifest neither', async () => {
    const dpOut = mkdtempSync(join(tmpdir(), 'tessera-replay-dp-'));
    const sim = await runSimulation({ dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1, samplingRate: 1, minClients: 3, job: { dp: { enabled: true, epsilon: 5, noiseMultiplier: 2, clipNorm: 1 } } }, { logger: silentLogger() });
    await writeSimulationOutputs(dpOut, sim);
    const e = await replayError(join(dpOut, 'results.json'));
    expect(e.code).toBe('TESSERA_ERR_REPLAY_INVALID');
    expect(e.message).toMatch(/CSPRNG.*--seeded-noise/);
    const bare = join(mkdtempSync(join(tmpdir(), 'tessera-replay-bare-')), 'results.json');
    writeFileSync(bare, JSON.stringify({ final: { accuracy: 0.8 } }));
    const r = await cli('simulate', '--replay', bare);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TESSERA_ERR_REPLAY_INVALID.*no reproducibility manifest/);
  }, 120_000);
});
