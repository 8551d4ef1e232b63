/** Every command group, in the order `tessera --help` lists them. Add a group by adding its register here. */
import type { Command } from 'commander';
import { registerSimulate } from './simulate.ts';
import { registerCoordinator } from './coordinator.ts';
import { registerFairness } from './fairness.ts';
import { registerContract } from './contract.ts';
import { registerPrivacy } from './privacy.ts';
import { registerLedger } from './ledger.ts';

export type RegisterCommands = (program: Command) => void;

export const COMMAND_GROUPS: RegisterCommands[] = [registerSimulate, registerCoordinator, registerFairness, registerContract, registerPrivacy, registerLedger];
