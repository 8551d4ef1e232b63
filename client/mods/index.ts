/**
 * The standard mods of a client node, in the order they run: admission checks first (consent, then the data
 * contract), then training-data preparation (fairness reweighing), then the update transforms (DP clipping
 * and noise must come last, so nothing changes the update after its noise is added).
 */
import type { CsvTable } from '../../lib/csv.ts';
import type { Contract } from '../../governance/contract/schema.ts';
import { contractCheckMod } from './contract-check.ts';
import { fairnessMod } from './fairness.ts';
import type { ClientMod } from './mod.ts';

export interface LocalSetup {
  /**
   * The data contract this organisation agreed to, and its local rows to check against it. The contract
   * alone (without rows) still gives fairness evaluation its sensitive categories and positive label.
   */
  readonly contract?: Contract;
  readonly table?: CsvTable;
}

export function standardClientMods(setup: LocalSetup): ClientMod[] {
  const mods: ClientMod[] = [];
  if (setup.contract && setup.table) mods.push(contractCheckMod({ contract: setup.contract, table: setup.table }));
  // Reweighing (training data) and the fairness counts (evaluation); a no-op unless the job asks for them.
  mods.push(fairnessMod(setup.contract ? { contract: setup.contract } : {}));
  return mods;
}
