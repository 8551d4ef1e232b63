/**
 * Applies the contract's feature transforms: the one preprocessing definition, identical for training,
 * evaluation and serving because every parameter comes from the contract (transform-schema.ts).
 */
import type { CellValue } from './columns.ts';
import { valueKey } from './columns.ts';
import type { FeatureTransform } from './transform-schema.ts';

export interface CompiledFeature {
  readonly column: string;
  readonly names: readonly string[];
  /** Writes this feature's outputs for one value at out[offset … offset + names.length). */
  write(value: CellValue, out: Float32Array, offset: number): void;
}

function toNumber(value: CellValue): number | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return typeof value === 'number' ? value : null;
}

/** A scalar transform: the raw → model-input map, with missing values as `fill` or 0 after the transform. */
function scalar(column: string, fill: number | undefined, f: (x: number) => number): CompiledFeature {
  return {
    column,
    names: [column],
    write(value, out, offset) {
      const x = toNumber(value) ?? fill;
      out[offset] = x === undefined ? 0 : f(x);
    },
  };
}

function oneHot(column: string, names: string[], index: (value: Exclude<CellValue, null>) => number): CompiledFeature {
  return {
    column,
    names,
    write(value, out, offset) {
      out.fill(0, offset, offset + names.length);
      if (value === null) return;
      const i = index(value);
      if (i >= 0) out[offset + i] = 1;
    },
  };
}

export function compileFeature(t: FeatureTransform): CompiledFeature {
  switch (t.transform) {
    case 'standardise':
      return scalar(t.column, t.fill, (x) => (x - t.mean) / t.std);
    case 'minmax': {
      const span = t.max - t.min;
      return scalar(t.column, t.fill, (x) => {
        const y = (x - t.min) / span;
        return t.clip ? Math.min(1, Math.max(0, y)) : y;
      });
    }
    case 'log': {
      const { mean, std, offset } = t;
      // ln of a non-positive argument is undefined: clamp at the smallest positive double rather than emit NaN.
      return scalar(t.column, t.fill, (x) => {
        const y = Math.log(Math.max(x + offset, Number.MIN_VALUE));
        return mean !== undefined && std !== undefined ? (y - mean) / std : y;
      });
    }
    case 'passthrough':
      return scalar(t.column, t.fill, (x) => x);
    case 'onehot': {
      const index = new Map(t.categories.map((c, i) => [c, i]));
      return oneHot(t.column, t.categories.map((c) => `${t.column}=${c}`), (v) => index.get(valueKey(v)) ?? -1);
    }
    case 'bucketise': {
      const b = t.boundaries;
      const names = [`${t.column}<=${b[0]}`, ...b.slice(1).map((hi, i) => `${b[i]}<${t.column}<=${hi}`), `${t.column}>${b[b.length - 1]}`];
      return oneHot(t.column, names, (v) => {
        const x = toNumber(v);
        if (x === null) return -1;
        const i = b.findIndex((edge) => x <= edge);
        return i < 0 ? b.length : i;
      });
    }
  }
}
