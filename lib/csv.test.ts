import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA_DIR } from '../test/paths.ts';
import { parseCsvBytes, parseCsvText, readCsv } from './csv.ts';
import { thrownTesseraError as thrown } from '../test/support/thrown.ts';


describe('parseCsvText', () => {
  it('reads a header, trims cells, skips blank lines and records line numbers', () => {
    const t = parseCsvText('a, b\n1, x\n\n2 , "y, z"\n', {}, 'mem.csv');
    expect(t.header).toEqual(['a', 'b']);
    expect(t.hasHeader).toBe(true);
    expect(t.rows).toEqual([
      ['1', 'x'],
      ['2', 'y, z'],
    ]);
    expect(t.lines).toEqual([2, 4]);
  });

  it('names the columns of a file without a header from the options, or column1…N', () => {
    expect(parseCsvText('1;2\n3;4', { header: false, delimiter: ';', columns: ['p', 'q'] }, 'm').header).toEqual(['p', 'q']);
    expect(parseCsvText('1,2\n3,4', { header: false }, 'm').header).toEqual(['column1', 'column2']);
  });

  it('skips a junk first line by count or by comment prefix (adult.test starts with "|1x3 Cross validator")', () => {
    const text = '|1x3 Cross validator\n25, Private, <=50K.\n38, Private, >50K.\n';
    const bySkip = parseCsvText(text, { header: false, skipLines: 1 }, 'm');
    const byComment = parseCsvText(text, { header: false, commentPrefix: '|' }, 'm');
    expect(bySkip.rows).toEqual(byComment.rows);
    expect(bySkip.rows[0]).toEqual(['25', 'Private', '<=50K.']);
    expect(byComment.lines).toEqual([2, 3]);
  });

  it('names the line whose field count differs', () => {
    const e = thrown(() => parseCsvText('a,b\n1,2\n3\n', {}, 'bad.csv'));
    expect(e.code).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(e.message).toContain('bad.csv line 3 has 1 field but the header (line 1) has 2');
  });

  it('rejects broken quoting, binary content and non-UTF-8 text as malformed', () => {
    expect(thrown(() => parseCsvText('a,b\n"1,2\n', {}, 'q.csv')).code).toBe('TESSERA_ERR_DATA_MALFORMED');
    const gz = thrown(() => parseCsvBytes(gzipSync('a,b\n1,2\n'), {}, 'x.gz'));
    expect(gz.code).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(gz.message).toMatch(/not a delimited text file/);
    expect(thrown(() => parseCsvBytes(Uint8Array.from([0x61, 0x2c, 0xff, 0xfe, 0x0a]), {}, 'latin.csv')).message).toMatch(/not valid UTF-8/);
  });

  it('reports empty input and a header without rows as DATA_EMPTY', () => {
    expect(thrown(() => parseCsvBytes(new Uint8Array(0), {}, 'e.csv')).code).toBe('TESSERA_ERR_DATA_EMPTY');
    expect(thrown(() => parseCsvText('\n\n', {}, 'e.csv')).code).toBe('TESSERA_ERR_DATA_EMPTY');
    expect(thrown(() => parseCsvText('a,b\n', {}, 'e.csv')).message).toContain('only a header');
  });
});

describe('readCsv', () => {
  it('reads the Adult training file (32,561 rows, 15 fields separated by ", ")', () => {
    const t = readCsv(join(SHARED_DATA_DIR, 'adult', 'adult.data'), { header: false });
    expect(t.rows.length).toBe(32561); // shared/data/README.md
    expect(t.header.length).toBe(15);
    expect(t.rows[0]?.[1]).toBe('State-gov');
  });

  it('reports a missing file as FILE_UNREADABLE, naming it', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'csv-')), 'nope.csv');
    const e = thrown(() => readCsv(path));
    expect(e.code).toBe('TESSERA_ERR_FILE_UNREADABLE');
    expect(e.message).toContain(path);
    expect(e.message).toContain('ENOENT');
  });

  it('reads a file written to disk with a header', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'csv-')), 'ok.csv');
    writeFileSync(path, 'x,y\n1,2\n');
    expect(readCsv(path).rows).toEqual([['1', '2']]);
  });
});
