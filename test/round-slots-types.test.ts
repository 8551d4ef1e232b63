/**
 * Type-level guarantees of the typed slots (issue 21 item 1), checked by `tsc --noEmit` (this file is in the
 * project) and run by vitest: a round record's feature data has the type its feature's zod schema gives it, with
 * no cast at the reader; a field that a slot does not declare (a renamed or misspelt one, or a synonym the
 * registry used to accept) is a compile error where it is read; a feature can only return slots that exist,
 * with their declared shape.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { RoundPrivacy } from '../coordinator/features/dp-slot.ts';
import type { RoundFairness } from '../coordinator/features/fairness-slot.ts';
import type { JobHooks } from '../coordinator/job-runner.ts';
import { ROUND_SLOTS, RoundSlotsSchema, type RoundRecord, type RoundSlots } from '../coordinator/round-records.ts';

describe('round record slots', () => {
  it('each slot has its schema type, optional because its feature may be off', () => {
    expectTypeOf<RoundRecord['extra']['privacy']>().toEqualTypeOf<RoundPrivacy | undefined>();
    expectTypeOf<RoundRecord['extra']['fairness']>().toEqualTypeOf<RoundFairness | undefined>();
    expectTypeOf<RoundPrivacy['epsilon']>().toEqualTypeOf<number>();
    expectTypeOf<RoundPrivacy['placement']>().toEqualTypeOf<'central' | 'distributed' | 'local'>();
    expectTypeOf<NonNullable<RoundSlots['dataContract']>['driftAlerts'][number]['column']>().toEqualTypeOf<string>();
    expectTypeOf<keyof RoundSlots>().toEqualTypeOf<'clippedFraction' | 'federatedEvaluation' | 'privacy' | 'fairness' | 'dataContract' | 'secagg' | 'secaggEvaluation'>();
  });

  it('a field a slot does not declare fails to compile where it is read', () => {
    const read = (r: RoundRecord): unknown[] => [
      // @ts-expect-error — the DP slot's cumulative ε is `epsilon`; `epsilonSpent` was a synonym, now gone.
      r.extra.privacy?.epsilonSpent,
      // @ts-expect-error — there is no `dp` slot; privacy lives in `privacy`.
      r.extra.dp,
      // @ts-expect-error — the secure-aggregation slot has `survivors`, not `survived`.
      r.extra.secagg?.survived,
    ];
    expect(read).toBeTypeOf('function');
  });

  it('a feature returns only declared slots, in their declared shape', () => {
    const ok: NonNullable<JobHooks['roundExtra']> = () => ({ dataContract: { checked: 1, failed: 0, driftAlerts: [] } });
    // @ts-expect-error — `checked` must be a number: the slot's schema says so.
    const wrongType: NonNullable<JobHooks['roundExtra']> = () => ({ dataContract: { checked: '1', failed: 0, driftAlerts: [] } });
    // @ts-expect-error — `drift` is not a slot of the round record (an object literal with an unknown key).
    const unknownSlot: NonNullable<JobHooks['roundExtra']> = () => ({ drift: { alerts: 1 } });
    expect([ok, wrongType, unknownSlot]).toHaveLength(3);
  });

  it('the runtime schema covers the same keys as the type, each from its slot definition', () => {
    expect(Object.keys(RoundSlotsSchema.shape).sort()).toEqual(ROUND_SLOTS.map((s) => s.key).sort());
    expect(new Set(ROUND_SLOTS.map((s) => s.key)).size).toBe(ROUND_SLOTS.length);
    expect(RoundSlotsSchema.safeParse({ privacy: { epsilonSpent: 1 } }).success).toBe(false);
  });
});
