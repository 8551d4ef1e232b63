/**
 * The review and retention sections combine like every other requirement (issue 20 §5, §7): the stricter wins —
 * the higher confidence threshold, every group, the shorter retention period — so a later layer can only hold
 * more predictions and keep data for less time; relaxing either is "laxer" (it needs the admin quorum to be
 * recorded); and a policy without the sections hashes as before (recorded policies keep verifying).
 */
import { describe, expect, it } from 'vitest';
import { isAtLeastAsStrict, policyHash, tighten } from './floor.ts';
import { parsePolicy } from './policy.ts';

const p = (v: unknown) => parsePolicy(v, 'test');

describe('review and retention in the deployment policy', () => {
  it('tightens to the higher threshold, the union of groups, the shorter periods', () => {
    const a = p({ review: { confidenceBelow: 0.7, groups: [{ name: 'g', feature: 1, values: [1] }] }, retention: { servedInputsDays: 30, reviewRecordsDays: 400 } });
    const b = p({ review: { confidenceBelow: 0.8, groups: [{ name: 'g', feature: 1, values: [2] }, { name: 'h', feature: 3, values: [0] }] }, retention: { servedInputsDays: 60, feedbackDays: 90 } });
    const t = tighten(a, b);
    expect(t.review).toEqual({ confidenceBelow: 0.8, groups: [{ name: 'g', feature: 1, values: [1, 2] }, { name: 'h', feature: 3, values: [0] }] });
    expect(t.retention).toEqual({ servedInputsDays: 30, feedbackDays: 90, reviewRecordsDays: 400 });
    expect(tighten(b, a)).toEqual(t);
  });

  it('treats a lower threshold, a dropped group or a longer period as laxer', () => {
    const current = p({ review: { confidenceBelow: 0.8, groups: [{ name: 'g', feature: 1, values: [1] }] }, retention: { servedInputsDays: 30 } });
    expect(isAtLeastAsStrict(p({ review: { confidenceBelow: 0.7, groups: [{ name: 'g', feature: 1, values: [1] }] }, retention: { servedInputsDays: 30 } }), current)).toBe(false);
    expect(isAtLeastAsStrict(p({ review: { confidenceBelow: 0.8 }, retention: { servedInputsDays: 30 } }), current)).toBe(false);
    expect(isAtLeastAsStrict(p({ review: { confidenceBelow: 0.8, groups: [{ name: 'g', feature: 1, values: [1] }] }, retention: { servedInputsDays: 31 } }), current)).toBe(false);
    expect(isAtLeastAsStrict(p({ review: { confidenceBelow: 0.8, groups: [{ name: 'g', feature: 1, values: [1] }] } }), current)).toBe(false);
    expect(isAtLeastAsStrict(p({ review: { confidenceBelow: 0.9, groups: [{ name: 'g', feature: 1, values: [1, 2] }] }, retention: { servedInputsDays: 7, feedbackDays: 30 } }), current)).toBe(true);
  });

  it('leaves the hash of a policy without the sections unchanged', () => {
    const plain = p({ canaryPercent: 5 });
    // Hashes computed by the code before these sections existed (main at 3d37d55).
    expect(policyHash(plain)).toBe('e806b5482892bf64b9b7a7f3e9090a82354be33cce9c4aead9b3c9aaed645502');
    expect(policyHash(p({}))).toBe('3cb39cc521502ef44b5326b2c29514e1a419f07a9c6cce9654f0cdd7357ff620');
    expect(Object.keys(tighten(plain, plain))).not.toContain('review');
    expect(Object.keys(tighten(plain, plain))).not.toContain('retention');
  });

  it('refuses unknown keys in the sections', () => {
    expect(() => p({ review: { confidence: 0.8 } })).toThrow(/confidence/);
    expect(() => p({ retention: { inputsDays: 3 } })).toThrow(/inputsDays/);
  });
});
