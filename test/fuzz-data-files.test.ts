/**
 * Malformed data files (issue 14 §5), generated at test time into a temp dir from the real Heart file
 * (../shared/data/heart/processed.cleveland.data): wrong columns, a BOM, mixed line endings, quoted commas,
 * unterminated quotes, a line above the reader's limit, a file above the reader's size limit (sparse: refused
 * from its size, never read), binary junk, invalid UTF-8, empty and header-only files — plus random byte-level
 * mutations of the real file. Both readers of a client's data — the client's loader (`readExamples`, what
 * `tessera client` calls) and `tessera contract check` (a real CLI process) — answer each with a result or a
 * coded error (never another exception, never a stack trace), and write nothing.
 *
 * Found on the way (fixed in lib/csv.ts): the reader took a file of any size whole into memory — it now refuses a
 * file above 512 MiB from its size and a line above 1 Mi characters (TESSERA_ERR_DATA_TOO_LARGE); a CRLF file
 * with an LF line (or any mix with CR) merged two rows into one — every mix of line endings now ends a line.
 * Soak: TESSERA_FUZZ_RUNS=3000 npx vitest run test/fuzz-data-files.test.ts
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinContractPath, loadBuiltinContract } from '../datasets/contracts/index.ts';
import { readExamples } from '../governance/contract/load.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../lib/csv.ts';
import { TesseraError } from '../protocol/errors.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';
import { fuzzParameters, isKnownCode } from './support/fuzz.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-fuzz-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const heart = readFileSync(join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data'));
const heartText = heart.toString('utf8');
const lines = heartText.split('\n').filter((l) => l !== '');
const contract = loadBuiltinContract('heart');

const write = (name: string, data: string | Uint8Array): string => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};

/** The client loader's verdict on a file: ok, or the code of the TesseraError it threw (anything else fails). */
function load(path: string): { ok: true; rows: number } | { ok: false; code: string } {
  try {
    return { ok: true, rows: readExamples(contract, path).examples.n };
  } catch (e) {
    if (!(e instanceof TesseraError)) throw new Error(`readExamples(${path}) threw a non-coded error: ${String(e)}`, { cause: e });
    return { ok: false, code: e.code };
  }
}

const CORPUS: Record<string, () => string> = {
  'wrong-columns-extra': () => write('extra.data', lines.map((l) => `${l},9`).join('\n')),
  'wrong-columns-missing': () => write('missing.data', lines.map((l) => l.split(',').slice(1).join(',')).join('\n')),
  'ragged-rows': () => write('ragged.data', lines.map((l, i) => (i % 7 === 3 ? l.split(',').slice(2).join(',') : l)).join('\n')),
  bom: () => write('bom.data', `\uFEFF${heartText}`),
  'mixed-line-endings': () => write('mixed.data', lines.map((l, i) => l + ['\n', '\r\n', '\r'][i % 3]).join('')),
  'quoted-commas': () => write('quoted.data', lines.map((l, i) => (i % 5 === 0 ? l.replace(/^([^,]*),/, '"$1,1",') : l)).join('\n')),
  'unterminated-quote': () => write('unterminated.data', `${lines.slice(0, 10).join('\n')}\n"63.0,1.0\n${lines.slice(10).join('\n')}`),
  'long-line': () => write('long.data', `${lines.slice(0, 5).join('\n')}\n${'1'.repeat(2 * 1024 * 1024)}\n${lines.slice(5).join('\n')}`),
  'binary-junk': () => write('junk.data', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff)),
  'invalid-utf8': () => write('latin1.data', Buffer.concat([heart.subarray(0, 200), Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), heart.subarray(200)])),
  empty: () => write('empty.data', ''),
  'only-blank-lines': () => write('blank.data', '\n\n ,, \n'),
  'non-numeric': () => write('text.data', lines.map((l) => l.replace(/[0-9]/g, 'x')).join('\n')),
  'huge-file': () => {
    // Sparse: its size is above the reader's limit, but it costs no disk and no read.
    const p = join(dir, 'huge.data');
    const fd = openSync(p, 'w');
    ftruncateSync(fd, DEFAULT_MAX_FILE_BYTES + 1);
    closeSync(fd);
    return p;
  },
};

const EXPECTED: Record<string, string | 'ok'> = {
  'wrong-columns-extra': 'TESSERA_ERR_DATA_MALFORMED',
  'wrong-columns-missing': 'TESSERA_ERR_DATA_MALFORMED',
  'ragged-rows': 'TESSERA_ERR_DATA_MALFORMED',
  bom: 'ok',
  'mixed-line-endings': 'ok',
  'quoted-commas': 'ok',
  'unterminated-quote': 'TESSERA_ERR_DATA_MALFORMED',
  'long-line': 'TESSERA_ERR_DATA_TOO_LARGE',
  'binary-junk': 'TESSERA_ERR_DATA_MALFORMED',
  'invalid-utf8': 'TESSERA_ERR_DATA_MALFORMED',
  empty: 'TESSERA_ERR_DATA_EMPTY',
  'only-blank-lines': 'TESSERA_ERR_DATA_EMPTY',
  'non-numeric': 'TESSERA_ERR_DATA_EMPTY',
  'huge-file': 'TESSERA_ERR_DATA_TOO_LARGE',
};

const files = Object.fromEntries(Object.entries(CORPUS).map(([name, make]) => [name, make()]));
const listing = (): string[] => readdirSync(dir).sort();

describe('a corpus of malformed data files', () => {
  it('the client loader answers each with rows or its coded error, and writes nothing', () => {
    const before = listing();
    const verdicts = Object.fromEntries(Object.entries(files).map(([name, p]) => {
      const v = load(p);
      return [name, v.ok ? 'ok' : v.code];
    }));
    expect(verdicts).toEqual(EXPECTED);
    expect(listing()).toEqual(before);
  });

  it('refuses the oversized file from its size, without reading it', () => {
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    expect(load(files['huge-file'] as string)).toEqual({ ok: false, code: 'TESSERA_ERR_DATA_TOO_LARGE' });
    // Reading 512 MiB would take seconds and grow the process by about as much.
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 * 1024 * 1024);
  });

  it('tessera contract check gives each a coded error or a report (exit 0/1/2, no stack trace), and writes nothing', () => {
    const before = listing();
    // One CLI process per file costs seconds: the kinds of failure the loader test above covers, one file each.
    const kinds = ['wrong-columns-extra', 'unterminated-quote', 'long-line', 'huge-file'];
    for (const [name, p] of Object.entries(files).filter(([n]) => kinds.includes(n))) {
      const r = spawnSync(process.execPath, ['bin/tessera.mjs', 'contract', 'check', '--contract', builtinContractPath('heart'), '--data', p, '--json'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
      expect([0, 1, 2], `${name}: exit ${String(r.status)} ${r.stderr}`).toContain(r.status);
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
      if (r.status === 2) {
        const code = /error \[(TESSERA_ERR_[A-Z0-9_]+)\]/.exec(r.stderr)?.[1];
        expect(isKnownCode(code), `${name}: ${r.stderr}`).toBe(true);
      } else expect(() => JSON.parse(r.stdout) as unknown, name).not.toThrow();
    }
    expect(listing()).toEqual(before);
  }, 300_000);
});

describe('random byte-level mutations of the real Heart file', () => {
  it('the loader never throws anything but a coded error', () => {
    const edit = fc.oneof(
      fc.tuple(fc.constant('insert' as const), fc.nat(), fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(Uint8Array.from([0xef, 0xbb, 0xbf]), Uint8Array.from([0x0d]), Uint8Array.from([0x22]), Uint8Array.from([0x2c]), Uint8Array.from([0x0a, 0x0a])))),
      fc.tuple(fc.constant('delete' as const), fc.nat(), fc.integer({ min: 1, max: 40 }).map((n) => new Uint8Array(n))),
      fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant(new Uint8Array(0))),
    );
    const path = join(dir, 'mutated.data');
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (edits) => {
        let b = Buffer.from(heart);
        for (const [kind, at, bytes] of edits) {
          const i = at % (b.length + 1);
          if (kind === 'insert') b = Buffer.concat([b.subarray(0, i), bytes, b.subarray(i)]);
          else if (kind === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + bytes.length)]);
          else b = b.subarray(0, i);
        }
        writeFileSync(path, b);
        const v = load(path);
        if (!v.ok) expect(isKnownCode(v.code)).toBe(true);
      }),
      fuzzParameters(300),
    );
  });
});
