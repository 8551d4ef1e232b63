/** Every command group, in the order `tessera --help` lists them. Add a group by adding its register here. */
import type { Command } from 'commander';
import { registerSimulate } from './simulate.ts';
import { registerSweep } from './sweep.ts';
import { registerCoordinator } from './coordinator.ts';
import { registerJobs } from './jobs.ts';
import { registerClient } from './client.ts';
import { registerPolicy } from './policy.ts';
import { registerFairness } from './fairness.ts';
import { registerContract } from './contract.ts';
import { registerPrivacy } from './privacy.ts';
import { registerLedger } from './ledger.ts';
import { registerModels } from './models.ts';
import { registerKeys } from './keys.ts';
import { registerCerts } from './certs.ts';
import { registerTokens } from './tokens.ts';
import { registerApprovers } from './approvers.ts';
import { registerApprove } from './approve.ts';
import { registerDeploy } from './deploy.ts';
import { registerMonitor } from './monitor.ts';
import { registerAudit } from './audit.ts';
import { registerConsent } from './consent.ts';
import { registerRetention } from './retention.ts';

export type RegisterCommands = (program: Command) => void;

export const COMMAND_GROUPS: RegisterCommands[] = [registerSimulate, registerSweep, registerCoordinator, registerJobs, registerClient, registerPolicy, registerFairness, registerContract, registerPrivacy, registerLedger, registerModels, registerKeys, registerCerts, registerTokens, registerApprovers, registerApprove, registerDeploy, registerMonitor, registerAudit, registerConsent, registerRetention];
