/**
 * The plain-text fast path (lib/csv-simple.ts) against csv-parse itself (lib/csv.ts csvParseRecords, the general
 * path): on generated texts — blanks, tabs, BOMs, comment prefixes in and out of place, empty and blank lines,
 * multi-character delimiters, long lines — it either declines (null) or gives exactly csv-parse's records and line
 * numbers; on the real UCI Adult files it takes them and agrees; and it declines what it does not re-implement.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA_DIR } from '../test/paths.ts';
import { csvParseRecords } from './csv.ts';
import { simpleRecords, type SimpleCsvOptions } from './csv-simple.ts';

const viaCsvParse = (text: string, o: SimpleCsvOptions): Array<{ record: string[]; lines: number }> =>
  csvParseRecords(text, { delimiter: o.delimiter, trim: o.trim, skipLines: o.skipLines, maxLineChars: o.maxRecordBytes, ...(o.commentPrefix === undefined ? {} : { commentPrefix: o.commentPrefix }) }, 'generated').map((r) => ({ record: r.record, lines: r.info.lines }));
const viaFastPath = (text: string, o: SimpleCsvOptions): Array<{ record: string[]; lines: number }> | null => simpleRecords(text, o)?.map((r) => ({ record: r.record, lines: r.info.lines })) ?? null;

const CHARS = ['a', 'b', '7', ' ', ' ', '\t', ',', ';', '|', '#', '/', '\n', '\n', '\n', '\uFEFF', 'é', '"', '\r'];
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 60 }).map((cs) => cs.join(''));
const options: fc.Arbitrary<SimpleCsvOptions> = fc.record({
  delimiter: fc.constantFrom(',', ';', ', ', '|', ' ', '\t'),
  trim: fc.boolean(),
  skipLines: fc.constantFrom(0, 0, 0, 1),
  commentPrefix: fc.constantFrom(undefined, '|', '#', '//', ' #', ','),
  maxRecordBytes: fc.constantFrom(1 << 20, 6),
}).map(({ commentPrefix, ...rest }) => (commentPrefix === undefined ? rest : { ...rest, commentPrefix }));

describe('simpleRecords (the CSV fast path)', () => {
  it("gives csv-parse's records and line numbers on every text it takes (generated texts)", () => {
    let taken = 0;
    fc.assert(
      fc.property(text, options, (t, o) => {
        const fast = viaFastPath(t, o);
        if (fast === null) return;
        taken++;
        expect(fast).toEqual(viaCsvParse(t, o));
      }),
      { numRuns: 3000 },
    );
    // The comparison is not vacuous: most generated texts are plain enough for the fast path.
    expect(taken).toBeGreaterThan(1000);
  });

  it('takes the UCI Adult files and agrees with csv-parse on every record', () => {
    const o: SimpleCsvOptions = { delimiter: ',', trim: true, skipLines: 0, commentPrefix: '|', maxRecordBytes: 1 << 20 };
    for (const file of ['adult.data', 'adult.test']) {
      const t = readFileSync(join(SHARED_DATA_DIR, 'adult', file), 'utf8');
      const fast = viaFastPath(t, o);
      expect(fast).not.toBeNull();
      expect(fast).toEqual(viaCsvParse(t, o));
    }
  });

  it('declines quotes, CR line ends, form feeds and skipped leading lines (csv-parse reads those)', () => {
    const o: SimpleCsvOptions = { delimiter: ',', trim: true, skipLines: 0, commentPrefix: '|', maxRecordBytes: 1 << 20 };
    expect(simpleRecords('a,"b"\n', o)).toBeNull();
    expect(simpleRecords('a,b\r\nc,d\r\n', o)).toBeNull();
    expect(simpleRecords('a,\fb\n', o)).toBeNull();
    // csv-parse drops the first record after a comment among the skipped lines; that quirk stays csv-parse's.
    expect(simpleRecords('|c\na\nb\n', { ...o, skipLines: 1 })).toBeNull();
    // A line longer than the limit: csv-parse refuses it with its line number.
    expect(simpleRecords('abcdefgh,ij\n', { ...o, maxRecordBytes: 6 })).toBeNull();
    expect(simpleRecords('\uFEFF a , b \n  |x\n\n , \n', o)).toEqual([
      { record: ['a', 'b'], info: { lines: 1 } },
      { record: ['', ''], info: { lines: 4 } },
    ]);
  });
});
