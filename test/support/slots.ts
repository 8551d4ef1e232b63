/** A round record's slot in a test, typed by the slot's definition; a missing slot fails the test with its name. */
import type { RoundRecord, RoundSlots } from '../../coordinator/round-records.ts';

export function slotOf<K extends keyof RoundSlots>(r: Pick<RoundRecord, 'round' | 'extra'>, key: K): NonNullable<RoundSlots[K]> {
  const v = r.extra[key];
  if (v === undefined || v === null) throw new Error(`round ${r.round} has no '${key}' slot`);
  return v;
}
