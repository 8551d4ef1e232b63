/**
 * Recomputes a reviewed contract's reference statistics from a reference data set, typing the cells by the
 * contract's own column rules (so reviewed types, categories and missing sentinels are respected). Used to
 * build the built-in contracts and after a data team edits a contract by hand.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { CsvTable } from '../../lib/csv.ts';
import { valueKey } from './columns.ts';
import { compileContract } from './compile.ts';
import type { ColumnReference } from './reference-schema.ts';
import { categoricalReference, numericReference } from './reference.ts';
import type { Contract, ContractInput } from './schema.ts';
import { parseContract } from './schema.ts';
import { roundTo } from './stats.ts';

export interface RefreshOptions {
  /** PSI bins per numeric column (default 10). */
  bins?: number;
  /** Also set standardise (mean, std) and minmax (min, max) parameters from the new statistics. */
  updateTransforms?: boolean;
}

export function withReference(input: Contract | ContractInput, table: CsvTable, options: RefreshOptions = {}): Contract {
  const compiled = compileContract(input);
  const contract = compiled.contract;
  const names = table.hasHeader ? table.header : contract.columns.map((c) => c.name);
  if (!table.hasHeader && table.header.length !== names.length) {
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${table.source} has ${table.header.length} fields per row but contract "${contract.name}" lists ${names.length} columns`);
  }
  const position = new Map(names.map((h, i) => [h, i]));
  const columns: Record<string, ColumnReference> = {};
  let label: Record<string, number> | undefined;
  for (const col of compiled.columns) {
    const pos = position.get(col.spec.name);
    if (pos === undefined) throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${table.source} lacks column "${col.spec.name}"`);
    if (col.spec.type === 'string') continue;
    let missing = 0;
    const numbers: number[] = [];
    const counts = new Map<string, number>();
    for (const row of table.rows) {
      const v = col.verdict(row[pos] ?? '');
      if (v.missing) missing++;
      if (v.value === null || (col.isLabel && v.issue)) continue;
      if (col.numeric && typeof v.value === 'number') numbers.push(v.value);
      else counts.set(valueKey(v.value), (counts.get(valueKey(v.value)) ?? 0) + 1);
    }
    if (col.isLabel) {
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      if (total > 0) label = Object.fromEntries(contract.label?.values.map((v) => [v, roundTo((counts.get(v) ?? 0) / total)]) ?? []);
    } else if (col.numeric && numbers.length > 0) {
      columns[col.spec.name] = numericReference({ sorted: Float64Array.from(numbers).sort(), missing, outlierK: contract.outliers.k, ...(options.bins ? { bins: options.bins } : {}) });
    } else if (!col.numeric && counts.size > 0) {
      columns[col.spec.name] = categoricalReference({ counts, missing });
    }
  }
  const features = options.updateTransforms
    ? contract.features.map((f) => {
        const ref = columns[f.column];
        if (ref?.kind !== 'numeric') return f;
        if (f.transform === 'standardise') return { ...f, mean: ref.mean, std: ref.std > 0 ? ref.std : 1 };
        if (f.transform === 'minmax' && ref.max > ref.min) return { ...f, min: ref.min, max: ref.max };
        return f;
      })
    : contract.features;
  return parseContract({ ...contract, features, reference: { rows: table.rows.length, columns, ...(label ? { label: { frequencies: label } } : {}) } });
}
