/**
 * Reference statistics stored in a contract: what the reference data set looked like, so that a client can
 * measure drift of its own data without the reference data ever leaving its owner. Numbers only.
 */
import { z } from 'zod';

const Fraction = z.number().min(0).max(1);

const increasing = (xs: readonly number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? x));

export const NumericReference = z
  .strictObject({
    kind: z.literal('numeric'),
    /** Non-missing values in the reference data. */
    count: z.number().int().positive(),
    missingRate: Fraction,
    min: z.number(),
    max: z.number(),
    mean: z.number(),
    std: z.number().min(0),
    /** Q1, median, Q3 (Hyndman & Fan type 7, as R and NumPy compute by default). */
    quartiles: z.tuple([z.number(), z.number(), z.number()]),
    /** Share of reference values outside the contract's outlier fences. */
    outlierRate: Fraction,
    /** PSI bins: edges e1 < … < ek give k + 1 bins (−∞, e1], (e1, e2], …, (ek, ∞); frequencies sum to 1. */
    histogram: z
      .strictObject({ edges: z.array(z.number()), frequencies: z.array(Fraction).min(1) })
      .refine((h) => h.frequencies.length === h.edges.length + 1, { message: 'frequencies must have one more entry than edges' })
      .refine((h) => increasing(h.edges), { message: 'edges must be strictly increasing' }),
    /** The reference CDF at points: cumulative[i] = share of reference values ≤ points[i] (for the KS test). */
    cdf: z
      .strictObject({
        points: z.array(z.number()).min(1),
        cumulative: z.array(Fraction).min(1),
        /** The points are every distinct reference value: the reference CDF is known everywhere (exact KS). */
        complete: z.boolean().default(false),
      })
      .refine((c) => c.points.length === c.cumulative.length, { message: 'points and cumulative must have the same length' })
      .refine((c) => increasing(c.points), { message: 'points must be strictly increasing' }),
  })
  .refine((r) => r.min <= r.max, { message: 'min exceeds max' });

export const CategoricalReference = z.strictObject({
  kind: z.literal('categorical'),
  count: z.number().int().positive(),
  missingRate: Fraction,
  /** Category (canonical string) → share of non-missing reference values. */
  frequencies: z.record(z.string(), Fraction),
});

export const ColumnReference = z.discriminatedUnion('kind', [NumericReference, CategoricalReference]);
export type ColumnReference = z.infer<typeof ColumnReference>;
export type NumericReference = z.infer<typeof NumericReference>;
export type CategoricalReference = z.infer<typeof CategoricalReference>;

export const LabelReference = z.strictObject({
  /** Class name → share of reference rows. */
  frequencies: z.record(z.string(), Fraction),
});
