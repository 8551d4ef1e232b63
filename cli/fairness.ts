/**
 * `tessera fairness --predictions FILE ...`: audit any model's predictions from a CSV (with a header) and
 * print the same fairness report a federated evaluation produces — a Markdown table by default, one JSON
 * document with --json. Exit 2 for unusable input (missing column, non-binary labels, empty group column).
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { readCsv } from '../lib/csv.ts';
import { auditPredictions, parsePredictions } from '../governance/fairness/predictions-file.ts';
import { fairnessReportMarkdown } from '../governance/fairness/report-markdown.ts';
import { action, integerOption, printJson, printLine } from './run.ts';

interface FairnessOptions {
  predictions: string;
  label: string;
  prediction: string;
  score?: string;
  group: string;
  positive?: string;
  minGroupSize: number;
  bins: number;
  delimiter: string;
  json?: boolean;
}

export function registerFairness(program: Command): void {
  program
    .command('fairness')
    .description(
      'Fairness report of a predictions CSV: per-group count, accuracy, selection rate, TPR, FPR, FNR, precision and ECE (with Wilson intervals), ' +
        'and Fairlearn-style disparities (demographic parity difference/ratio, equalized odds, equal opportunity, accuracy gap, worst-group accuracy), ' +
        'for each group column and their intersections (e.g. sex×race).',
    )
    .requiredOption('--predictions <file>', 'CSV file with a header row')
    .requiredOption('--label <col>', 'column with the true label (binary)')
    .requiredOption('--prediction <col>', "column with the model's predicted label (same values as the label)")
    .option('--score <col>', 'column with the predicted probability of the positive class (enables ECE)')
    .requiredOption('--group <cols>', 'sensitive attribute column(s), comma-separated: sex or sex,race')
    .option('--positive <value>', 'label value meaning positive (default 1 for 0/1 labels, true for true/false)')
    .option('--min-group-size <n>', 'groups with fewer rows are reported as suppressed', integerOption('--min-group-size', 1), 20)
    .option('--bins <n>', 'calibration bins for ECE (with --score)', integerOption('--bins', 1, 50), 10)
    .option('--delimiter <char>', 'field separator', ',')
    .option('--json', 'print one JSON document: {groups, overall, disparities, settings, policy, context}')
    .action(
      action((o: FairnessOptions) => {
        const table = readCsv(o.predictions, { delimiter: o.delimiter });
        const groups = o.group
          .split(',')
          .map((g) => g.trim())
          .filter((g) => g !== '');
        const parsed = parsePredictions(table, {
          label: o.label,
          prediction: o.prediction,
          groups,
          ...(o.score === undefined ? {} : { score: o.score }),
          ...(o.positive === undefined ? {} : { positive: o.positive }),
        });
        const report = auditPredictions(parsed, { minGroupSize: o.minGroupSize, calibrationBins: o.bins, context: { predictions: basename(o.predictions) } });
        if (o.json) printJson(report);
        else printLine(fairnessReportMarkdown(report, { title: `Fairness report: ${basename(o.predictions)} (${parsed.n} rows, positive = ${JSON.stringify(parsed.positive)})` }).trimEnd());
        return 0;
      }),
    );
}
