/**
 * Reading and writing contract documents (JSON, or YAML by extension or when the text is not JSON), and
 * reading a data file the way its contract says (header, delimiter, comment lines).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { TesseraError } from '../../protocol/errors.ts';
import type { CsvTable } from '../../lib/csv.ts';
import { readCsv } from '../../lib/csv.ts';
import type { Examples } from '../../datasets/types.ts';
import type { CompiledContract, RowError } from './compile.ts';
import { compileContract } from './compile.ts';
import type { Contract } from './schema.ts';
import { parseContract } from './schema.ts';

const isYamlPath = (path: string) => /\.ya?ml$/i.test(path);

/** Parses contract text (JSON or YAML); `source` names it in messages. */
export function parseContractText(text: string, source: string): Contract {
  let doc: unknown;
  try {
    doc = isYamlPath(source) ? parseYaml(text) : JSON.parse(text);
  } catch (jsonError) {
    if (isYamlPath(source)) throw new TesseraError('TESSERA_ERR_CONTRACT_INVALID', `Contract ${source} is not valid YAML: ${(jsonError as Error).message}`, { cause: jsonError });
    try {
      doc = parseYaml(text);
    } catch {
      throw new TesseraError('TESSERA_ERR_CONTRACT_INVALID', `Contract ${source} is neither valid JSON nor YAML: ${(jsonError as Error).message}`, { cause: jsonError });
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TesseraError('TESSERA_ERR_CONTRACT_INVALID', `Contract ${source} must be a JSON/YAML object, got ${Array.isArray(doc) ? 'an array' : doc === null ? 'nothing' : typeof doc}`);
  }
  return parseContract(doc, `contract ${source}`);
}

/** Loads and validates a contract file (TESSERA_ERR_FILE_UNREADABLE, TESSERA_ERR_CONTRACT_INVALID). */
export function loadContract(path: string): Contract {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const reason = cause instanceof Error && 'code' in cause ? String((cause as NodeJS.ErrnoException).code) : 'unreadable';
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read contract ${path} (${reason})`, { cause, details: { path } });
  }
  return parseContractText(text, path);
}

/**
 * Pretty JSON for people reviewing a contract: objects indented, arrays of numbers and strings on one line
 * (reference quantiles and category lists stay readable instead of one value per line).
 */
export function formatContractJson(value: unknown, indent = ''): string {
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return value.length === 0 ? '[]' : `[\n${value.map((v) => inner + formatContractJson(v, inner)).join(',\n')}\n${indent}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return entries.length === 0 ? '{}' : `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatContractJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** Writes a contract as reviewable JSON, or YAML when the path ends in .yaml/.yml. */
export function writeContract(path: string, contract: Contract): void {
  const text = isYamlPath(path) ? stringifyYaml(contract) : `${formatContractJson(contract)}\n`;
  try {
    writeFileSync(path, text);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot write contract ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
}

/**
 * Reads a data file as its contract describes it. Without a header, columns get the contract's names when
 * the field count matches; otherwise generic names, and `checkData` reports the mismatch.
 */
export function readContractTable(contract: Contract, path: string): CsvTable {
  const f = contract.file;
  const table = readCsv(path, { header: f.header, delimiter: f.delimiter, trim: f.trim, skipLines: f.skipLines, ...(f.commentPrefix === undefined ? {} : { commentPrefix: f.commentPrefix }) });
  if (f.header || table.header.length !== contract.columns.length) return table;
  return { ...table, header: contract.columns.map((c) => c.name) };
}

/**
 * What a dataset loader needs in one call: read `path` as the contract says, parse rows with the contract's
 * row schema and preprocess them into Examples. Rows that break a rule are dropped (and returned as
 * `rejected` with their errors) or, with `strict`, fail the load with TESSERA_ERR_DATA_MALFORMED.
 */
export function readExamples(contract: Contract | CompiledContract, path: string, options: { strict?: boolean } = {}): { examples: Examples; rejected: number[]; errors: RowError[]; table: CsvTable } {
  const compiled = 'rowSchema' in contract ? contract : compileContract(contract);
  const table = readContractTable(compiled.contract, path);
  const { rows, rejected, errors } = compiled.parseRows(table.header, table.rows, { lines: table.lines });
  if (options.strict && errors.length > 0) {
    const first = errors[0];
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `${path}: ${rejected.length} ${rejected.length === 1 ? 'row breaks' : 'rows break'} contract "${compiled.contract.name}"; first at line ${first?.line}: ${first?.message}`, {
      details: { rejected: rejected.length },
    });
  }
  if (rows.length === 0) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', `${path}: no row satisfies contract "${compiled.contract.name}"`);
  return { examples: compiled.toExamples(rows), rejected, errors, table };
}
