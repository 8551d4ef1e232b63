/**
 * Compiles a data contract into what the rest of Tessera uses: the zod row schema that parses rows (each
 * column's rules written once, in columns.ts), and the feature pipeline that turns parsed rows into
 * `Examples` (features via the contract's transforms, label index via label.values, sensitive attributes).
 */
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import type { Examples } from '../../datasets/types.ts';
import type { CellValue, CompiledColumn, IssueKind, ParsedRow } from './columns.ts';
import { compileColumn, valueKey } from './columns.ts';
import type { CompiledFeature } from './features.ts';
import { compileFeature } from './features.ts';
import type { Contract, ContractInput } from './schema.ts';
import { contractHash, parseContract } from './schema.ts';

export type { CellValue, ParsedRow, IssueKind } from './columns.ts';

export interface RowError {
  /** 1-based data row. */
  readonly row: number;
  /** 1-based line in the file (equals `row` when no line numbers were given). */
  readonly line: number;
  readonly column: string;
  readonly kind: IssueKind;
  /** The raw cell (for local reports only; never sent to a coordinator). */
  readonly value: string;
  readonly message: string;
}

export interface ParseRowsResult {
  /** Rows that satisfy every rule of the contract, typed; what training and evaluation use. */
  readonly rows: ParsedRow[];
  /** Rejected rows, as 1-based data row numbers. */
  readonly rejected: number[];
  /** One entry per broken rule, at most `maxErrors`. */
  readonly errors: RowError[];
  /** All broken rules, including those beyond `maxErrors`. */
  readonly errorCount: number;
}

export interface CompiledContract {
  readonly contract: Contract;
  readonly hash: string;
  readonly columns: readonly CompiledColumn[];
  /** Parses one row given as {column name: raw cell}; each column's rules come from its contract entry. */
  readonly rowSchema: z.ZodType<ParsedRow, Record<string, string>>;
  /** Names of the model inputs, in order (e.g. "age", "workclass=Private"). */
  readonly featureNames: readonly string[];
  /** The contract column each model input is computed from, parallel to featureNames (e.g. "workclass"). */
  readonly featureColumns: readonly string[];
  readonly featureCount: number;
  /** Parses data rows; `header` names the cells' columns (the contract's column names for files without one). */
  parseRows(header: readonly string[], cells: readonly (readonly string[])[], options?: { lines?: readonly number[]; maxErrors?: number }): ParseRowsResult;
  /** Preprocesses parsed rows into Examples (throws when the contract has no label). */
  toExamples(rows: readonly ParsedRow[]): Examples;
  /**
   * Writes one parsed row's model inputs (featureCount numbers) at out[offset …]: the same transforms as
   * toExamples, so serving (coordinator/serving/validate.ts) feeds the model exactly what training did.
   */
  writeFeatures(row: ParsedRow, out: Float32Array, offset: number): void;
}

export function compileContract(input: Contract | ContractInput): CompiledContract {
  const contract = parseContract(input);
  const columns = contract.columns.map((spec) => compileColumn(contract, spec));
  const features: CompiledFeature[] = contract.features.map(compileFeature);
  const featureNames = features.flatMap((f) => f.names);
  const featureColumns = features.flatMap((f) => f.names.map(() => f.column));

  const shape: Record<string, z.ZodType<CellValue, string>> = {};
  for (const col of columns) {
    shape[col.spec.name] = z.string().transform((raw, ctx) => {
      const v = col.verdict(raw);
      if (v.issue) ctx.addIssue({ code: 'custom', message: v.issue.message, params: { kind: v.issue.kind }, input: raw });
      return v.value;
    });
  }
  const rowSchema = z.object(shape) as unknown as z.ZodType<ParsedRow, Record<string, string>>;

  function parseRows(header: readonly string[], cells: readonly (readonly string[])[], options: { lines?: readonly number[]; maxErrors?: number } = {}): ParseRowsResult {
    const index = new Map(header.map((h, i) => [h, i]));
    const missing = contract.columns.filter((c) => !index.has(c.name)).map((c) => c.name);
    if (missing.length > 0) {
      throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `The data lacks column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} required by contract "${contract.name}"`, {
        details: { missing },
      });
    }
    const positions = contract.columns.map((c) => index.get(c.name) ?? -1);
    const maxErrors = options.maxErrors ?? 1000;
    const rows: ParsedRow[] = [];
    const rejected: number[] = [];
    const errors: RowError[] = [];
    let errorCount = 0;
    cells.forEach((cellRow, r) => {
      // Fast path (issue 18: a zod parse per row was about a third of loading Adult): each cell's verdict, the very
      // function the row schema's transforms call, in the schema's key order. A row with any issue is parsed by the
      // schema instead, so every error (kind, message, order) is the schema's own.
      const typed: ParsedRow = {};
      let clean = true;
      for (let j = 0; j < columns.length && clean; j++) {
        const col = columns[j] as CompiledColumn;
        const v = col.verdict(cellRow[positions[j] ?? -1] ?? '');
        if (v.issue) clean = false;
        else typed[col.spec.name] = v.value;
      }
      if (clean) {
        rows.push(typed);
        return;
      }
      const obj: Record<string, string> = {};
      contract.columns.forEach((c, j) => {
        obj[c.name] = cellRow[positions[j] ?? -1] ?? '';
      });
      const parsed = rowSchema.safeParse(obj);
      if (parsed.success) {
        rows.push(parsed.data);
        return;
      }
      rejected.push(r + 1);
      for (const issue of parsed.error.issues) {
        errorCount++;
        if (errors.length >= maxErrors) continue;
        const column = String(issue.path[0] ?? '');
        const kind = ((issue as { params?: { kind?: IssueKind } }).params?.kind ?? 'type') as IssueKind;
        errors.push({ row: r + 1, line: options.lines?.[r] ?? r + 1, column, kind, value: obj[column] ?? '', message: issue.message });
      }
    });
    return { rows, rejected, errors, errorCount };
  }

  function writeFeatures(row: ParsedRow, out: Float32Array, offset: number): void {
    let at = offset;
    for (const f of features) {
      f.write(row[f.column] ?? null, out, at);
      at += f.names.length;
    }
  }

  function toExamples(rows: readonly ParsedRow[]): Examples {
    const label = contract.label;
    if (!label) throw new TesseraError('TESSERA_ERR_CONTRACT_INVALID', `Contract "${contract.name}" declares no label, so it cannot produce training examples`);
    const classIndex = new Map(label.values.map((v, i) => [v, i]));
    const d = featureNames.length;
    const n = rows.length;
    const x = new Float32Array(n * d);
    const y = new Int32Array(n);
    const sensitive: Record<string, string[]> = {};
    const sensitiveCols = contract.sensitive.map((name) => ({ name, labels: contract.columns.find((c) => c.name === name)?.valueLabels ?? {} }));
    for (const s of sensitiveCols) sensitive[s.name] = new Array<string>(n);
    rows.forEach((row, i) => {
      const cls = row[label.column];
      const k = typeof cls === 'string' ? classIndex.get(cls) : undefined;
      if (k === undefined) throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `Row ${i + 1} has no valid label in column "${label.column}"; pass rows from parseRows`);
      y[i] = k;
      writeFeatures(row, x, i * d);
      for (const s of sensitiveCols) {
        const v = row[s.name] ?? null;
        const key = v === null ? 'missing' : valueKey(v);
        (sensitive[s.name] as string[])[i] = s.labels[key] ?? key;
      }
    });
    return { x, y, n, featureShape: [d], classes: label.values.length, classNames: [...label.values], sensitive };
  }

  return {
    contract,
    hash: contractHash(contract),
    columns,
    rowSchema,
    featureNames,
    featureColumns,
    featureCount: featureNames.length,
    parseRows,
    toExamples,
    writeFeatures,
  };
}
