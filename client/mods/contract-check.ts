/**
 * Before each training round the client checks its local data against the job's data contract
 * (governance/contract). A failing check declines the round with codes and counts only — never values,
 * messages about single rows, or row numbers — and a passing one adds its check to the update as the
 * dataContract extension (governance/contract/drift-extension.ts): counts and n-weighted drift sums that the
 * coordinator only ever sees summed over the round (inside the secure sum under secure aggregation).
 */
import type { CsvTable } from '../../lib/csv.ts';
import { checkData } from '../../governance/contract/check.ts';
import { compileContract } from '../../governance/contract/compile.ts';
import { contractHash, type Contract } from '../../governance/contract/schema.ts';
import { summariseForCoordinator } from '../../governance/contract/summary.ts';
import { dataContractContribution, driftLayout } from '../../governance/contract/drift-extension.ts';
import { CONTRACT_DECLINE_CODE } from '../../protocol/data-check.ts';
import type { ClientMod } from './mod.ts';

export function contractCheckMod(options: { contract: Contract; table: CsvTable }): ClientMod {
  const compiled = compileContract(options.contract);
  const hash = contractHash(options.contract);
  const layout = driftLayout(options.contract);
  return {
    name: 'data-contract',
    admit(ctx) {
      const wanted = ctx.task.job.data.contractHash;
      if (ctx.task.type !== 'train' || wanted === undefined) return { accept: true };
      if (wanted !== hash) {
        return {
          accept: false,
          reason: { code: 'TESSERA_ERR_CONTRACT_MISMATCH', message: `the job asks for data contract ${wanted.slice(0, 12)}…, this client holds ${options.contract.name} ${options.contract.version} (${hash.slice(0, 12)}…)` },
        };
      }
      const report = checkData(compiled, options.table, { maxExamples: 0 });
      const summary = summariseForCoordinator(report);
      if (report.passed) return { accept: true, extensions: { dataContract: dataContractContribution(summary, layout, ctx.task.job) } };
      const columns = [...new Set(summary.violations.map((v) => v.column ?? '(file)'))];
      const drifted = summary.drift.filter((d) => d.drifted).map((d) => d.column);
      const what = [summary.violations.length > 0 ? `${summary.violations.length} violation(s) in ${columns.join(', ')}` : '', drifted.length > 0 ? `drift in ${drifted.join(', ')}` : ''].filter((s) => s !== '').join('; ');
      ctx.logger.warn({ code: CONTRACT_DECLINE_CODE, violations: summary.violations.length }, 'local data fails the data contract');
      return {
        accept: false,
        reason: {
          code: CONTRACT_DECLINE_CODE,
          message: `local data fails contract ${options.contract.name} ${options.contract.version}: ${what}`,
          counts: { violations: summary.violations.length, rows: summary.rows },
          dataCheck: summary,
        },
      };
    },
  };
}
