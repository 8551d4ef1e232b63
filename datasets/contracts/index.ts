/**
 * The built-in data contracts of the shipped data sets: the one preprocessing definition (columns, missing
 * values, label normalisation, transforms) the Adult and Heart loaders use, and the agreement clients check
 * their data against. Edit the JSON by hand, then `tessera contract refresh` to recompute its statistics.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '../../protocol/errors.ts';
import { loadContract } from '../../governance/contract/load.ts';
import { contractHash, type Contract } from '../../governance/contract/schema.ts';

export const BUILTIN_CONTRACTS = ['adult', 'heart'] as const;
export type BuiltinContractName = (typeof BUILTIN_CONTRACTS)[number];

const DIR = dirname(fileURLToPath(import.meta.url));
const loaded = new Map<BuiltinContractName, Contract>();

export function isBuiltinContract(name: string): name is BuiltinContractName {
  return (BUILTIN_CONTRACTS as readonly string[]).includes(name);
}

/** Path of a built-in contract file. */
export function builtinContractPath(name: BuiltinContractName): string {
  return join(DIR, `${name}.contract.json`);
}

/** The parsed built-in contract (validated once per process; each call returns its own copy). */
export function loadBuiltinContract(name: string): Contract {
  if (!isBuiltinContract(name)) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No built-in contract "${name}"; built-in contracts: ${BUILTIN_CONTRACTS.join(', ')}`);
  let c = loaded.get(name);
  if (!c) {
    c = loadContract(builtinContractPath(name));
    loaded.set(name, c);
  }
  return structuredClone(c);
}

/**
 * The contract with this hash among those the coordinator was given (`--contract`) and the built-in ones; undefined
 * when it holds none. How the round loop lays out contract sums and how serving checks instances find a contract.
 */
export function contractByHash(hash: string, held: readonly Contract[] = []): Contract | undefined {
  return held.find((c) => contractHash(c) === hash) ?? BUILTIN_CONTRACTS.map((name) => loadBuiltinContract(name)).find((c) => contractHash(c) === hash);
}
