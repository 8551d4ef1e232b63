/**
 * A fast path for the common delimited file (issue 18: csv-parse took about two thirds of loading UCI Adult, a
 * serial cost before any simulated client can train): text with no quote character, LF line ends and no form
 * feed, read without skipped leading lines. For such text the records are exactly csv-parse's under the options
 * lib/csv.ts gives it — checked against csv-parse itself on generated texts (lib/csv-simple.test.ts). Anything
 * else returns null and goes to csv-parse, whose behaviour on quotes, CR line ends and `from_line` (which, with a
 * comment line among the skipped lines, drops the first record after them) is not re-implemented here.
 *
 * What csv-parse 6 does on such text, and this mirrors (its lib/api/index.js):
 * - a leading BOM (U+FEFF) is dropped (`bom`; a BOM further on sends the text to csv-parse); lines are numbered from 1 and every physical line counts;
 * - at each position, before anything else is read into a record, a comment prefix starts a comment that runs
 *   to the line end (`comment_no_infix`: only while the record and field are still empty); with `trim`, blanks
 *   before it are skipped first (ltrim appends nothing, so the field stays empty) — but the delimiter is tested
 *   before the blank is skipped, so a leading delimiter ends the comment check;
 * - a line that leaves the record and field empty is skipped (`skip_empty_lines`);
 * - fields are split at the delimiter, left to right, and with `trim` lose leading and trailing spaces and tabs
 *   (its trimmable characters are CR, LF, form feed, space and tab; the first three cannot occur inside a line here);
 * - a record's `info.lines` is the number of the line it is on.
 */

export interface SimpleCsvOptions {
  readonly delimiter: string;
  readonly trim: boolean;
  readonly skipLines: number;
  readonly commentPrefix?: string;
  /** csv-parse's max_record_size (bytes of a record's fields): a longer line goes to csv-parse, which refuses it. */
  readonly maxRecordBytes: number;
}

export interface SimpleRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

function trimBlanks(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isBlank(s[start])) start++;
  while (end > start && isBlank(s[end - 1])) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Whether the line is a comment: the prefix where the record would start (after blanks, with trim). */
function isComment(line: string, o: SimpleCsvOptions): boolean {
  const prefix = o.commentPrefix;
  if (prefix === undefined || prefix.length === 0) return false;
  for (let i = 0; i < line.length; i++) {
    if (line.startsWith(prefix, i)) return true;
    if (line.startsWith(o.delimiter, i) || !(o.trim && isBlank(line[i]))) return false;
  }
  return false;
}

/** The records of `text`, or null when it needs csv-parse (see above). */
export function simpleRecords(text: string, o: SimpleCsvOptions): SimpleRecord[] | null {
  if (o.skipLines !== 0 || o.delimiter.length === 0 || text.includes('"') || text.includes('\r') || text.includes('\f')) return null;
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  // csv-parse also drops a BOM found later in the text (at least at a field's end): not mirrored here.
  if (body.includes('\uFEFF')) return null;
  const lines = body.split('\n');
  const records: SimpleRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.length === 0 || isComment(line, o)) continue;
    if (line.length * 3 > o.maxRecordBytes && Buffer.byteLength(line, 'utf8') > o.maxRecordBytes) return null;
    const fields = line.split(o.delimiter);
    const record = o.trim ? fields.map(trimBlanks) : fields;
    // Blanks alone (with trim) leave the record and field empty: an empty line, skipped.
    if (record.length === 1 && record[0] === '') continue;
    records.push({ record, info: { lines: i + 1 } });
  }
  return records;
}
