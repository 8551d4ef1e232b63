/**
 * `tessera contract infer|check|refresh|hash`: data contracts for data teams. `infer` drafts a contract from
 * reference data, `check` validates a data file against a contract (exit 0 pass, 1 violations or drift,
 * 2 unusable input), `refresh` recomputes a reviewed contract's reference statistics, `hash` prints the
 * hash a job spec's data.contractHash names.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { TesseraError } from '../protocol/errors.ts';
import { readCsv } from '../lib/csv.ts';
import type { ContractReport } from '../governance/contract/check.ts';
import { checkData } from '../governance/contract/check.ts';
import { inferContract } from '../governance/contract/infer.ts';
import { loadContract, readContractTable, writeContract } from '../governance/contract/load.ts';
import { withReference } from '../governance/contract/refresh.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { action, integerOption, printJson, printLine } from './run.ts';

const list = (s: string | undefined): string[] | undefined =>
  s === undefined
    ? undefined
    : s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');

interface InferOptions {
  data: string;
  out: string;
  label?: string;
  sensitive?: string;
  columns?: string;
  header?: boolean;
  missing?: string;
  delimiter: string;
  comment?: string;
  skipLines: number;
  name?: string;
  contractVersion: string;
  bins: number;
  json?: boolean;
}

interface CheckOptions {
  contract: string;
  data: string;
  maxExamples: number;
  json?: boolean;
}

function printReport(r: ContractReport): void {
  printLine(`contract ${r.contract.name} ${r.contract.version} (sha256 ${r.contract.hash.slice(0, 12)}…), data ${basename(r.data.source)}: ${r.data.rows} rows, ${r.data.columns} columns`);
  const drifted = r.drift.filter((d) => d.drifted);
  printLine(`${r.passed ? 'PASS' : 'FAIL'}: ${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}, ${drifted.length} of ${r.drift.length} drift statistics over threshold${drifted.length > 0 && r.onDrift === 'warn' ? ' (drift only warns under this contract)' : ''}`);
  if (r.violations.length > 0) {
    printLine('\nviolations:');
    for (const v of r.violations) printLine(`  [${v.kind}] ${v.message}`);
  }
  if (r.drift.length > 0) {
    printLine('\ndrift (statistic, value, threshold, verdict):');
    const w = Math.max(...r.drift.map((d) => d.column.length));
    for (const d of r.drift) printLine(`  ${d.column.padEnd(w)}  ${d.statistic.padEnd(3)}  ${d.value.toFixed(4).padStart(8)}  ${d.drifted ? '>' : '≤'} ${d.threshold.toFixed(4)}  ${d.drifted ? 'DRIFT' : 'ok'}`);
  }
}

export function registerContract(program: Command): void {
  const group = program.command('contract').description('Data contracts: draft one from reference data, check data against one (schema, ranges, missing values, outliers, labels, drift), hash one for a job spec.');

  group
    .command('infer')
    .description('Draft a contract from a reference data set (types, ranges, categories, missing markers, reference statistics, default transforms) for a person to review.')
    .requiredOption('--data <file>', 'reference data (delimited text)')
    .requiredOption('--out <contract>', 'where to write the contract (.json, or .yaml/.yml for YAML)')
    .option('--label <column>', 'the label column')
    .option('--sensitive <columns>', 'sensitive attributes for fairness, comma-separated (e.g. sex,race)')
    .option('--columns <names>', 'column names, comma-separated, for a file without a header line')
    .option('--header', 'the first line names the columns (the default unless --columns is given)')
    .option('--missing <markers>', 'how missing values are written, comma-separated (default: whichever of ?, NA, N/A, NaN, null, None occur)')
    .option('--delimiter <chars>', 'field separator; blanks around fields are trimmed', ',')
    .option('--comment <prefix>', "skip lines starting with this prefix (e.g. '|' for adult.test's first line)")
    .option('--skip-lines <n>', 'skip this many lines at the start', integerOption('--skip-lines', 0), 0)
    .option('--name <name>', 'contract name (default: the data file name)')
    .option('--contract-version <version>', "the contract's version", '0.1.0')
    .option('--bins <n>', 'PSI bins per numeric column', integerOption('--bins', 2, 100), 10)
    .option('--json', 'print {out, hash, columns, rows, features} as JSON')
    .action(
      action((o: InferOptions) => {
        if (o.columns !== undefined && o.header === true) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'Give either --columns (a file without a header) or --header, not both');
        const columns = list(o.columns);
        const file = { header: columns === undefined, delimiter: o.delimiter, skipLines: o.skipLines, ...(o.comment === undefined ? {} : { commentPrefix: o.comment }) };
        const table = readCsv(o.data, { ...file, ...(columns ? { columns } : {}) });
        const sensitive = list(o.sensitive);
        const missing = list(o.missing);
        const contract = inferContract(table, {
          name: o.name ?? basename(o.data).replace(/\.[^.]*$/, ''),
          version: o.contractVersion,
          bins: o.bins,
          file,
          ...(o.label === undefined ? {} : { label: o.label }),
          ...(sensitive ? { sensitive } : {}),
          ...(missing ? { missingValues: missing } : {}),
        });
        writeContract(o.out, contract);
        const hash = contractHash(contract);
        // The width of one example after the transforms (one-hot columns widen it): a model's input size.
        const compiled = compileContract(contract);
        const classes = contract.label?.values.length ?? null;
        if (o.json) printJson({ out: o.out, hash, rows: table.rows.length, columns: contract.columns.map((c) => ({ name: c.name, type: c.type })), features: contract.features.length, inputs: compiled.featureCount, classes });
        else {
          printLine(`wrote ${o.out}: ${contract.columns.length} columns, ${contract.features.length} features, reference statistics of ${table.rows.length} rows (sha256 ${hash})`);
          printLine(`  a model on this contract takes ${compiled.featureCount} inputs${classes !== null ? ` and outputs ${classes} classes` : ''}`);
          for (const c of contract.columns) {
            const range = c.min !== undefined ? ` [${c.min}, ${c.max}]` : c.categories ? ` {${c.categories.slice(0, 6).join(', ')}${c.categories.length > 6 ? ', …' : ''}}` : '';
            printLine(`  ${c.name}: ${c.type}${range}${c.nullable ? `, missing ≤ ${(c.maxMissingRate ?? 1) * 100}%` : ''}${contract.label?.column === c.name ? ' (label)' : ''}`);
          }
          printLine('Review units, descriptions, ranges, categories, transforms and thresholds before sharing it.');
        }
      }),
    );

  group
    .command('check')
    .description('Check a data file against a contract: exit 0 = pass, 1 = violations or drift found, 2 = unusable input (unreadable file, invalid contract).')
    .requiredOption('--contract <file>', 'the contract (.json or .yaml)')
    .requiredOption('--data <file>', 'the data file to check')
    .option('--max-examples <n>', 'offending cells quoted per column and kind', integerOption('--max-examples', 0, 1000), 5)
    .option('--json', 'print the report as JSON: {passed, contract, data, violations: [{column, kind, message, count, …}], drift: [{column, statistic, value, threshold, drifted, n}], columns, label}')
    .action(
      action((o: CheckOptions) => {
        const contract = loadContract(o.contract);
        const report = checkData(contract, readContractTable(contract, o.data), { maxExamples: o.maxExamples });
        if (o.json) printJson(report);
        else printReport(report);
        return report.passed ? 0 : 1;
      }),
    );

  group
    .command('refresh')
    .description("Recompute a reviewed contract's reference statistics from reference data, keeping everything else.")
    .requiredOption('--contract <file>', 'the reviewed contract')
    .requiredOption('--data <file>', 'reference data')
    .requiredOption('--out <file>', 'where to write the refreshed contract')
    .option('--update-transforms', 'also reset standardise/min-max parameters from the new statistics')
    .option('--json', 'print {out, hash}')
    .action(
      action((o: { contract: string; data: string; out: string; updateTransforms?: boolean; json?: boolean }) => {
        const contract = loadContract(o.contract);
        const refreshed = withReference(contract, readContractTable(contract, o.data), { updateTransforms: o.updateTransforms === true });
        writeContract(o.out, refreshed);
        const hash = contractHash(refreshed);
        if (o.json) printJson({ out: o.out, hash });
        else printLine(`wrote ${o.out} (sha256 ${hash})`);
      }),
    );

  group
    .command('hash')
    .description("Print a contract's SHA-256 (over RFC 8785 canonical JSON), the value of a job spec's data.contractHash.")
    .requiredOption('--contract <file>', 'the contract')
    .option('--json', 'print {name, version, hash}')
    .action(
      action((o: { contract: string; json?: boolean }) => {
        const contract = loadContract(o.contract);
        const hash = contractHash(contract);
        if (o.json) printJson({ name: contract.name, version: contract.version, hash });
        else printLine(hash);
      }),
    );
}
