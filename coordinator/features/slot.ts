/**
 * Typed slots (house rule 12, issue 21 item 1): each feature that records something about a round owns one
 * key of the round record's `extra`, declared once next to the feature as a `FeatureSlot` — its key, the
 * feature that writes it and the zod schema of what it holds. The round record's type is the composition of
 * the slot types (`SlotsOf`, used by coordinator/round-records.ts), so a reader gets the writer's type without
 * a cast, and renaming a field in one slot fails the type check wherever it is read. The schemas also parse
 * the persisted form (coordinator/state/round-record-codec.ts).
 */
import { z } from 'zod';

export interface FeatureSlot<K extends string = string, S extends z.ZodType = z.ZodType> {
  /** The key under the round record's `extra`. Never reused for another meaning. */
  readonly key: K;
  /** The feature (or core step) that writes it; only that one may. */
  readonly owner: string;
  readonly schema: S;
}

export function defineSlot<const K extends string, S extends z.ZodType>(key: K, owner: string, schema: S): FeatureSlot<K, S> {
  return { key, owner, schema };
}

/** The value type a slot holds. */
export type SlotValue<D extends FeatureSlot> = z.infer<D['schema']>;

/** The record of optional slots a list of slot definitions composes to. */
export type SlotsOf<Ds extends readonly FeatureSlot[]> = { readonly [D in Ds[number] as D['key']]?: z.infer<D['schema']> };

/** The zod shape of a list of slots: each key optional (its feature may be off). */
export type SlotsShape<Ds extends readonly FeatureSlot[]> = { [D in Ds[number] as D['key']]: z.ZodOptional<D['schema']> };

/** One zod object over a list of slots, for parsing a persisted record's feature data. */
export function slotsSchema<const Ds extends readonly FeatureSlot[]>(defs: Ds) {
  // Object.fromEntries loses the key ↔ schema pairing that SlotsShape states; the loop builds exactly that shape.
  const shape = Object.fromEntries(defs.map((d) => [d.key, d.schema.optional()])) as SlotsShape<Ds>;
  return z.object(shape);
}
