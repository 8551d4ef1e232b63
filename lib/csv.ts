/**
 * Reading delimited text files (CSV and friends) into a header plus string cells — the one CSV reader of
 * the project, shared by data contracts and the dataset loaders. Cells stay strings: typing them is the
 * data contract's job (governance/contract), so the rules for a column live in one place.
 *
 * Every failure is a TesseraError naming the file and, where it applies, the line:
 * TESSERA_ERR_FILE_UNREADABLE (cannot read), TESSERA_ERR_DATA_EMPTY (no rows), TESSERA_ERR_DATA_MALFORMED
 * (binary or non-UTF-8 content, broken quoting, rows with differing numbers of fields), TESSERA_ERR_DATA_TOO_LARGE
 * (a file above `maxFileBytes`, refused from its size before any byte is read, or a line above `maxLineBytes`).
 */
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { TesseraError } from '../protocol/errors.ts';
import { simpleRecords } from './csv-simple.ts';

export interface CsvOptions {
  /** The first (non-skipped) line names the columns. Default true. */
  header?: boolean;
  /** Column names for a file without a header; their count must match the rows. Default: column1…columnN. */
  columns?: readonly string[];
  /** Field separator (one or more characters). Default ','. Adult's ", " is read as ',' with `trim`. */
  delimiter?: string;
  /** Strip blanks around every field. Default true. */
  trim?: boolean;
  /** Skip this many physical lines at the start (e.g. 1 for adult.test's `|1x3 Cross validator`). */
  skipLines?: number;
  /** Lines starting with this prefix are comments and skipped (e.g. '|' for the UCI Adult files). */
  commentPrefix?: string;
  /** Largest file read, in bytes (default DEFAULT_MAX_FILE_BYTES): a larger file is refused without reading it. */
  maxFileBytes?: number;
  /** Longest record (line, or quoted multi-line record), in characters (default DEFAULT_MAX_LINE_CHARS). */
  maxLineChars?: number;
}

/**
 * Limits before parsing (issue 14 §5, found by the data-file fuzz test: the reader took any size whole into memory).
 * 512 MiB is about 100 times the largest tabular data set used here (Adult, 5.6 MB); a 1 MiB line is far beyond any
 * row of a tabular contract. A caller with a larger file passes its own limits.
 */
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;
export const DEFAULT_MAX_LINE_CHARS = 1024 * 1024;

export interface CsvTable {
  /** Column names: from the header line, from `columns`, or column1…columnN. */
  readonly header: readonly string[];
  /** Whether `header` came from the file. */
  readonly hasHeader: boolean;
  /** Data rows, each with exactly `header.length` cells. */
  readonly rows: readonly (readonly string[])[];
  /** 1-based physical line number of each row in the file, for error messages. */
  readonly lines: readonly number[];
  /** The file name or label used in messages. */
  readonly source: string;
}

export interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** Reads and parses a delimited text file. */
export function readCsv(path: string, options: CsvOptions = {}): CsvTable {
  let bytes: Buffer;
  try {
    const max = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const size = statSync(path).size;
    if (size > max) {
      throw new TesseraError('TESSERA_ERR_DATA_TOO_LARGE', `Data file ${path} is ${size} bytes, above the reader's limit of ${max} bytes; split the file or raise the limit`, { details: { path, size, max } });
    }
    bytes = readFileSync(path);
  } catch (cause) {
    if (cause instanceof TesseraError) throw cause;
    const reason = cause instanceof Error && 'code' in cause ? String((cause as NodeJS.ErrnoException).code) : 'unreadable';
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read data file ${path} (${reason})`, { cause, details: { path } });
  }
  return parseCsvBytes(bytes, options, path);
}

/** Parses the bytes of a delimited text file; `source` names it in messages. */
export function parseCsvBytes(bytes: Uint8Array, options: CsvOptions, source: string): CsvTable {
  if (bytes.length === 0) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', `Data file ${source} is empty`, { details: { source } });
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${source} is not a delimited text file: it contains binary data (a NUL byte at offset ${nul})`, { details: { source } });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${source} is not a delimited text file: it is not valid UTF-8 text`, { cause, details: { source } });
  }
  return parseCsvText(text, options, source);
}

/** Parses delimited text; `source` names it in messages. */
export function parseCsvText(text: string, options: CsvOptions, source: string): CsvTable {
  const header = options.header ?? true;
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length === 0) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'The CSV delimiter must not be empty');
  const maxRecordBytes = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  let records: CsvRecord[] | null = simpleRecords(text, { delimiter, trim: options.trim ?? true, skipLines: options.skipLines ?? 0, maxRecordBytes, ...(options.commentPrefix === undefined ? {} : { commentPrefix: options.commentPrefix }) });
  if (records === null) records = csvParseRecords(text, options, source);
  // A line holding only blanks and delimiters is an empty line too (e.g. a trailing ", , ,").
  records = records.filter((r) => r.record.some((cell) => cell !== ''));

  let names: string[];
  let dataRecords = records;
  if (header) {
    const first = records[0];
    if (first === undefined) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', `Data file ${source} holds no lines`, { details: { source } });
    names = first.record;
    dataRecords = records.slice(1);
    const seen = new Set<string>();
    for (const name of names) {
      if (name === '') throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${source} line ${first.info.lines}: the header has an empty column name`, { details: { source } });
      if (seen.has(name)) throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${source} line ${first.info.lines}: the header names column "${name}" twice`, { details: { source } });
      seen.add(name);
    }
  } else {
    const width = records[0]?.record.length ?? 0;
    names = options.columns ? [...options.columns] : Array.from({ length: width }, (_, i) => `column${i + 1}`);
  }
  if (dataRecords.length === 0) {
    throw new TesseraError('TESSERA_ERR_DATA_EMPTY', `Data file ${source} holds no data rows${header ? ' (only a header)' : ''}`, { details: { source } });
  }

  const width = names.length;
  const rows: string[][] = new Array<string[]>(dataRecords.length);
  const lines: number[] = new Array<number>(dataRecords.length);
  const firstLine = header ? records[0]?.info.lines ?? 1 : dataRecords[0]?.info.lines ?? 1;
  dataRecords.forEach((r, i) => {
    if (r.record.length !== width) {
      const what = header ? `the header (line ${firstLine}) has ${width}` : options.columns ? `${width} column names were given` : `line ${firstLine} has ${width}`;
      throw new TesseraError(
        'TESSERA_ERR_DATA_MALFORMED',
        `${source} line ${r.info.lines} has ${r.record.length} field${r.record.length === 1 ? '' : 's'} but ${what} (delimiter ${JSON.stringify(delimiter)}); is this the right file and delimiter?`,
        { details: { source, line: r.info.lines, fields: r.record.length, expected: width } },
      );
    }
    rows[i] = r.record;
    lines[i] = r.info.lines;
  });
  return { header: names, hasHeader: header, rows, lines, source };
}

/** The rows of `table` at `indices` (e.g. one client's share of a partitioned file), keeping their line numbers. */
export function selectTableRows(table: CsvTable, indices: readonly number[]): CsvTable {
  return { ...table, rows: indices.map((i) => table.rows[i] ?? []), lines: indices.map((i) => table.lines[i] ?? 0) };
}

/**
 * Records as csv-parse reads them (quotes, any line ends, skipped leading lines): the general path; lib/csv-simple.ts
 * is the fast path for plain text and must give the same records (lib/csv-simple.test.ts compares the two).
 */
export function csvParseRecords(text: string, options: CsvOptions, source: string): CsvRecord[] {
  const delimiter = options.delimiter ?? ',';
  try {
    return parse(text, {
      delimiter,
      trim: options.trim ?? true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true, // checked below, with a clearer message naming both lines
      from_line: (options.skipLines ?? 0) + 1,
      info: true,
      max_record_size: options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS,
      // Any mix of LF, CRLF and CR ends a line (found by the data-file fuzz test: csv-parse otherwise takes the first
      // line's ending for the whole file, and a CRLF file with one LF line merged two rows into one).
      record_delimiter: ['\r\n', '\n', '\r'],
      ...(options.commentPrefix === undefined ? {} : { comment: options.commentPrefix, comment_no_infix: true }),
    }) as unknown as CsvRecord[];
  } catch (cause) {
    const line = typeof cause === 'object' && cause !== null && 'lines' in cause ? ` at line ${String((cause as { lines: unknown }).lines)}` : '';
    if (typeof cause === 'object' && cause !== null && 'code' in cause && cause.code === 'CSV_MAX_RECORD_SIZE') {
      const max = options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
      throw new TesseraError('TESSERA_ERR_DATA_TOO_LARGE', `${source}${line}: a line is longer than the reader's limit of ${max} characters`, { cause, details: { source, max } });
    }
    const why = cause instanceof Error ? cause.message.replace(/^Invalid [^:]*: /, '') : String(cause);
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${source} is not valid delimited text${line}: ${why}`, { cause, details: { source } });
  }
}
