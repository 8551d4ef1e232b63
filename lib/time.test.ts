/** The one timestamp formatter: ISO 8601 UTC, from a Date or epoch milliseconds; invalid instants refused. */
import { describe, expect, it } from 'vitest';
import { isoUtc, pinoIsoTime } from './time.ts';

describe('isoUtc', () => {
  it('formats epoch milliseconds and Dates as ISO 8601 UTC with a Z', () => {
    expect(isoUtc(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoUtc(1_733_378_462_345)).toBe('2024-12-05T06:01:02.345Z');
    expect(isoUtc(new Date('2026-12-05T08:01:02+02:00'))).toBe('2026-12-05T06:01:02.000Z');
  });

  it('refuses a value that is not an instant', () => {
    expect(() => isoUtc(Number.NaN)).toThrow(RangeError);
  });

  it("gives pino a JSON fragment whose time parses back as an instant", () => {
    const doc = JSON.parse(`{"level":30${pinoIsoTime()}}`) as { time: string };
    expect(doc.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(doc.time) - Date.now())).toBeLessThan(60_000);
  });
});
