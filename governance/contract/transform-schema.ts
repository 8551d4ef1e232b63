/**
 * Feature transforms: how a column becomes model inputs. These are the single preprocessing definition used
 * by training, evaluation and serving, so every parameter (means, ranges, categories, boundaries) is written
 * in the contract rather than recomputed from whatever data a client happens to hold.
 *
 * Missing values: a numeric transform turns a missing value into `fill` (a raw value) when given, otherwise
 * into 0 after the transform (the reference mean for `standardise`); one-hot and bucketise emit all zeros.
 */
import { z } from 'zod';
import type { ColumnType } from './schema.ts';

const Column = z.string().min(1);
const Fill = z.number().optional();

export const StandardiseTransform = z.strictObject({
  column: Column,
  transform: z.literal('standardise'),
  /** (x − mean) / std, with mean and std of the reference data. */
  mean: z.number(),
  std: z.number().positive(),
  fill: Fill,
});

export const MinMaxTransform = z
  .strictObject({
    column: Column,
    transform: z.literal('minmax'),
    /** (x − min) / (max − min); values outside are clipped to [0, 1] when `clip`. */
    min: z.number(),
    max: z.number(),
    clip: z.boolean().default(false),
    fill: Fill,
  })
  .refine((t) => t.max > t.min, { message: 'max must exceed min' });

export const LogTransform = z
  .strictObject({
    column: Column,
    transform: z.literal('log'),
    /** ln(x + offset), then (when mean and std are given) standardised. */
    offset: z.number().min(0).default(1),
    mean: z.number().optional(),
    std: z.number().positive().optional(),
    fill: Fill,
  })
  .refine((t) => (t.mean === undefined) === (t.std === undefined), { message: 'give both mean and std, or neither' });

export const OneHotTransform = z.strictObject({
  column: Column,
  transform: z.literal('onehot'),
  /** One output per category, in this order; an unlisted or missing value gives all zeros. */
  categories: z.array(z.string()).min(1),
});

export const BucketiseTransform = z
  .strictObject({
    column: Column,
    transform: z.literal('bucketise'),
    /** Ascending cut points b1 < … < bk: k + 1 one-hot outputs for x ≤ b1, b1 < x ≤ b2, …, x > bk. */
    boundaries: z.array(z.number()).min(1),
  })
  .refine((t) => t.boundaries.every((b, i) => i === 0 || b > (t.boundaries[i - 1] ?? b)), { message: 'boundaries must be strictly increasing' });

export const PassthroughTransform = z.strictObject({
  column: Column,
  transform: z.literal('passthrough'),
  fill: Fill,
});

export const FeatureTransform = z.discriminatedUnion('transform', [
  StandardiseTransform,
  MinMaxTransform,
  LogTransform,
  OneHotTransform,
  BucketiseTransform,
  PassthroughTransform,
]);
export type FeatureTransform = z.infer<typeof FeatureTransform>;
export type TransformKind = FeatureTransform['transform'];

/** Which transforms make sense for which column types. */
export function transformFitsType(kind: TransformKind, type: ColumnType): boolean {
  switch (kind) {
    case 'onehot':
      return type === 'category' || type === 'integer' || type === 'boolean';
    case 'passthrough':
      return type === 'number' || type === 'integer' || type === 'boolean';
    default:
      return type === 'number' || type === 'integer';
  }
}
