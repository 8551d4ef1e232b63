/**
 * The in-memory form every loader produces and every trainer consumes: features already preprocessed (the
 * one preprocessing definition, applied identically in training and evaluation), labels as class indices.
 */
export interface Examples {
  /** n × prod(featureShape) features, row-major. */
  readonly x: Float32Array;
  /** Class index per row, in [0, classes). */
  readonly y: Int32Array;
  readonly n: number;
  /** Shape of one example: [features] for tabular data, [28, 28, 1] for images. */
  readonly featureShape: readonly number[];
  readonly classes: number;
  readonly classNames: readonly string[];
  /** Sensitive attribute name → value per row (raw category, for fairness); empty when none are declared. */
  readonly sensitive: Readonly<Record<string, readonly string[]>>;
  /** Optional per-row training weight (e.g. reweighing); absent means 1 for every row. */
  readonly weights?: Float32Array;
}

/** The number of features in one example. */
export function featureSize(e: Pick<Examples, 'featureShape'>): number {
  return e.featureShape.reduce((a, b) => a * b, 1);
}

/**
 * The rows of `e` at `indices`, in that order. With `shared`, the numeric arrays live on a SharedArrayBuffer
 * (worker threads read them in place; simulations/training-pool.ts) — allocated there at once, not copied later.
 */
export function selectRows(e: Examples, indices: readonly number[], options: { readonly shared?: boolean } = {}): Examples {
  const d = featureSize(e);
  const memory = (bytes: number): ArrayBuffer | SharedArrayBuffer => (options.shared === true ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const x = new Float32Array(memory(indices.length * d * 4));
  const y = new Int32Array(memory(indices.length * 4));
  const weights = e.weights ? new Float32Array(memory(indices.length * 4)) : undefined;
  const sensitive: Record<string, string[]> = {};
  for (const k of Object.keys(e.sensitive)) sensitive[k] = [];
  indices.forEach((row, i) => {
    x.set(e.x.subarray(row * d, (row + 1) * d), i * d);
    y[i] = e.y[row] ?? 0;
    if (weights && e.weights) weights[i] = e.weights[row] ?? 1;
    for (const [k, values] of Object.entries(e.sensitive)) sensitive[k]?.push(values[row] ?? '');
  });
  return { x, y, n: indices.length, featureShape: e.featureShape, classes: e.classes, classNames: e.classNames, sensitive, ...(weights ? { weights } : {}) };
}

/** Concatenates example sets with the same feature layout (e.g. hospitals' held-out splits into one test set). */
export function concatExamples(parts: readonly Examples[]): Examples {
  const first = parts[0];
  if (!first) throw new RangeError('concatExamples needs at least one part');
  const d = featureSize(first);
  const n = parts.reduce((a, p) => a + p.n, 0);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const sensitive: Record<string, string[]> = {};
  for (const k of Object.keys(first.sensitive)) sensitive[k] = [];
  let offset = 0;
  for (const p of parts) {
    if (featureSize(p) !== d || p.classes !== first.classes) throw new RangeError('concatExamples: parts differ in feature size or classes');
    x.set(p.x.subarray(0, p.n * d), offset * d);
    y.set(p.y.subarray(0, p.n), offset);
    for (const k of Object.keys(sensitive)) sensitive[k]?.push(...(p.sensitive[k] ?? []));
    offset += p.n;
  }
  return { x, y, n, featureShape: first.featureShape, classes: first.classes, classNames: first.classNames, sensitive };
}
