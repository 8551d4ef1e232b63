/**
 * The built-in loaders read the original files from a directory the user gives, preprocess through the
 * data contract, and refuse malformed rows naming row and column. Figures from ../shared/data/README.md.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDataset } from '../datasets/index.ts';
import { loadMnist, mnistDir } from '../datasets/mnist.ts';
import { selectRows } from '../datasets/types.ts';
import { TesseraError } from '../protocol/errors.ts';
import { SHARED_DATA_DIR } from './paths.ts';

describe('dataset loaders', () => {
  it('Adult: 32,561 training rows with 24.08% positive, 16,281 test rows after label normalisation', () => {
    const d = loadDataset('adult', { dataDir: SHARED_DATA_DIR });
    expect(d.train.n).toBe(32561);
    expect(d.test.n).toBe(16281);
    const positives = d.train.y.reduce((a, v) => a + v, 0);
    expect(positives / d.train.n).toBeCloseTo(0.2408, 4);
    expect(d.train.classNames).toEqual(['<=50K', '>50K']);
    expect(d.test.y.reduce((a, v) => a + v, 0)).toBeGreaterThan(3000); // ">50K." rows map to the positive class
    expect(d.sensitive).toEqual(['sex', 'race']);
    expect(d.train.sensitive.sex?.filter((s) => s === 'Female')).toHaveLength(10771);
  });

  it('Heart: four hospitals, held-out 20% stratified, positive shares as published', () => {
    const d = loadDataset('heart', { dataDir: SHARED_DATA_DIR, seed: 7 });
    expect(d.natural?.map((p) => p.name)).toEqual(['cleveland', 'hungarian', 'switzerland', 'va']);
    const sizes = d.natural?.map((p) => p.examples.n) ?? [];
    expect(sizes.reduce((a, b) => a + b, 0) + d.test.n).toBe(303 + 294 + 123 + 200);
    expect(d.test.n).toBe(61 + 59 + 25 + 40); // round(0.2 · n) per hospital
    // Same seed, same split; another seed, another split.
    const again = loadDataset('heart', { dataDir: SHARED_DATA_DIR, seed: 7 });
    expect(Array.from(again.test.y)).toEqual(Array.from(d.test.y));
    const other = loadDataset('heart', { dataDir: SHARED_DATA_DIR, seed: 8 });
    expect(Array.from(other.test.x.subarray(0, 200))).not.toEqual(Array.from(d.test.x.subarray(0, 200)));
  });

  it('MNIST: 60,000 + 10,000 images scaled to [0, 1]', () => {
    const { train, test } = loadMnist({ testLimit: 10 });
    expect(train.n).toBe(60000);
    expect(test.n).toBe(10);
    expect(train.featureShape).toEqual([28, 28, 1]);
    expect(Math.max(...train.x.subarray(0, 784 * 10))).toBeLessThanOrEqual(1);
    expect(train.y[0]).toBe(5); // the first training label of the original files
  });

  it("MNIST: a client's rows built from the pixel bytes are selectRows' rows, on shared memory when asked", () => {
    const d = loadDataset('mnist', { dataDir: SHARED_DATA_DIR, trainLimit: 2000, testLimit: 10 });
    const rows = [1999, 0, 7, 1234, 7];
    const direct = d.selectTrain(rows, { shared: true });
    const viaFloats = selectRows(d.train, rows);
    expect(direct.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(direct.y.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(viaFloats.x.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(direct.x.buffer).equals(Buffer.from(viaFloats.x.buffer))).toBe(true);
    expect(Array.from(direct.y)).toEqual(Array.from(viaFloats.y));
    expect(direct).toMatchObject({ n: 5, featureShape: [28, 28, 1], classes: 10 });
    // Each feature is its byte in the original file over 255 (IDX: 16-byte header, then row-major bytes).
    const bytes = readFileSync(join(mnistDir(SHARED_DATA_DIR), 'train-images-idx3-ubyte'));
    for (const k of [0, 300, 783]) expect(direct.x[k]).toBe(Math.fround((bytes[16 + 1999 * 784 + k] ?? 0) / 255));
    expect(new Set(Array.from(direct.x)).size).toBeGreaterThan(50);
  });

  it('reads a user-supplied directory and names the row and column of a malformed row', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-data-'));
    mkdirSync(join(dir, 'heart'));
    for (const h of ['hungarian', 'switzerland', 'va']) {
      writeFileSync(join(dir, 'heart', `processed.${h}.data`), readFileSync(join(SHARED_DATA_DIR, 'heart', `processed.${h}.data`)));
    }
    const lines = readFileSync(join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data'), 'utf8').split('\n');
    lines[4] = lines[4]?.replace(/^[0-9.]+/, 'sixty') ?? '';
    writeFileSync(join(dir, 'heart', 'processed.cleveland.data'), lines.join('\n'));
    let error: unknown;
    try {
      loadDataset('heart', { dataDir: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TesseraError);
    expect((error as TesseraError).code).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect((error as TesseraError).message).toMatch(/line 5/);
    expect((error as TesseraError).message).toMatch(/age/);
  });

  it('names a missing data directory', () => {
    expect(() => loadDataset('adult', { dataDir: '/nonexistent/tessera' })).toThrow(/adult\.data/);
  });
});
