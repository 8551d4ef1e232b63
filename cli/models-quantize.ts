/**
 * `tessera models quantize VERSION`: an int8 version of a registered model, registered as a new version with
 * lineage to its parent (governance/registry/quantize.ts); with `--dataset`, the new version's own held-out
 * evidence — its scores and fairness report on the data set's test split, with the parent's on the same rows —
 * goes into its lineage (governance/registry/derived-evidence.ts). Without it the deployment gate refuses it.
 */
import type { Command } from 'commander';
import type { Examples } from '../datasets/types.ts';
import { DEFAULT_STATE, KEY_HELP, STATE_HELP, withState } from './models.ts';
import { attributeTo } from '../governance/audit/attribution.ts';
import { action, printJson, printLine } from './run.ts';

interface QuantizeCliOptions {
  key?: string;
  state: string;
  dataset?: string;
  dataDir?: string;
  json?: boolean;
}

export function registerModelsQuantize(models: Command): void {
  models
    .command('quantize')
    .argument('<version>', 'model version (or a unique prefix of at least 8 hex characters)')
    .description('Register an int8-weight version of a model (lineage: derivedFrom its parent) and report its size and held-out accuracy change.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--dataset <name>', 'measure the new version\'s own held-out evidence (and its parent\'s on the same rows) on this data set\'s held-out split (heart, adult, mnist); the deployment gate requires it')
    .option('--data-dir <dir>', 'where the data sets are (default $TESSERA_DATA_DIR or ../shared/data)')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document: {"parent", "version", "derivedFrom", "int8Path"}')
    .action(
      action(async (version: string, o: QuantizeCliOptions) => {
        const { quantizeRegisteredModel } = await import('../governance/registry/quantize.ts');
        let heldOut: { dataset: string; examples: Examples } | undefined;
        if (o.dataset !== undefined) {
          const { loadDataset } = await import('../datasets/index.ts');
          heldOut = { dataset: o.dataset, examples: loadDataset(o.dataset, { ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}) }).test };
        }
        const r = await withState(o.state, (db) => {
            const who = attributeTo(db, o.key, 'models quantize');
            return quantizeRegisteredModel(db, o.state, { version, actor: who.actor, ...(who.attest ? { attest: who.attest } : {}), ...(heldOut !== undefined ? { heldOut } : {}) });
          }, { checkpoint: true });
        if (o.json) return printJson({ parent: r.parent.version, version: r.model.version, derivedFrom: r.derivedFrom, int8Path: r.int8Path });
        const d = r.derivedFrom;
        printLine(`registered ${r.model.name} version ${r.model.version} (int8 weights of ${r.parent.version.slice(0, 12)})`);
        printLine(`  weights ${d.sizeBytes.parent} → ${d.sizeBytes.int8} bytes (${(d.sizeBytes.int8 / d.sizeBytes.parent).toFixed(3)}×), largest weight change ${d.maxAbsWeightError.toExponential(2)}; int8 file ${r.int8Path}`);
        printLine(d.heldOut === null ? '  held-out evidence: none (give --dataset); the deployment gate refuses a derived version without evidence of its own' : `  held-out accuracy on ${d.heldOut.examples} rows of ${d.heldOut.dataset}: ${d.heldOut.accuracy.toFixed(4)} (parent ${d.heldOut.parentAccuracy.toFixed(4)}, change ${d.heldOut.accuracyDelta >= 0 ? '+' : ''}${d.heldOut.accuracyDelta.toFixed(4)})`);
        const f = d.evidence?.fairness;
        if (d.evidence !== undefined) printLine(f === null || f === undefined ? "  fairness: no report of its own (the parent's job states no fairness evaluation)" : `  fairness on the same rows: ${f.passed ? 'passes' : 'FAILS'} the job's policy (parent: ${f.parentPassed ? 'passes' : 'fails'})`);
        printLine("  the new version is judged by this evidence, not its parent's, and needs its own approvals before it can be deployed");
      }),
    );
}
