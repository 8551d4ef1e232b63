/**
 * Which deployment policy applies to a model (issue 13 §1). Layers combine by `tighten` (governance/deploy/
 * floor.ts), so each can only add requirements: the coordinator's recorded policy (or the schema defaults),
 * then `<state>/deployment-policy.json`, then the `deployment` section of the job spec the model was trained
 * under, then `--policy FILE`; finally the floor raises whatever is still below it. The gate result names
 * every layer and every requirement the floor raised, so nobody has to guess.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseJsonStrict } from '../../lib/canonical-json.ts';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import { DeploymentSection, type DeploymentPolicy } from '../../protocol/job/governance.ts';
import type { Db } from '../state/database.ts';
import type { RegisteredModel } from '../registry/registry.ts';
import { raiseToFloor, tighten } from './floor.ts';
import { recordedPolicy } from './policy-store.ts';

export const STATE_POLICY_FILE = 'deployment-policy.json';

export interface ResolvedPolicy {
  readonly policy: DeploymentPolicy;
  /** The layers applied, e.g. `recorded#2+job-spec+file:/abs/path`. */
  readonly source: string;
  /** Requirements the floor raised (empty when every layer already met it). */
  readonly raisedByFloor: readonly string[];
  /** Set when the recorded policy chain does not verify (the gate refuses). */
  readonly problem: string | null;
}

/** Parses a policy strictly: unknown keys are refused with the key named (zod `.strict()`). */
export function parsePolicy(value: unknown, where: string): DeploymentPolicy {
  const r = DeploymentSection.safeParse(value);
  if (!r.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Invalid deployment policy in ${where}: ${describeZodIssues(r.error.issues)}`);
  return r.data;
}

export function readPolicyFile(path: string): DeploymentPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read the deployment policy ${path}: ${String(cause)}`, { cause });
  }
  return parsePolicy(parseJsonStrict(text, path), path);
}

/**
 * The coordinator-wide policy, without a model's job-spec layer: the recorded policy tightened by the state
 * directory's policy file, raised to the floor. What applies to everything served (retention, issue 20 §7).
 */
export function coordinatorPolicy(db: Db, stateDir: string): DeploymentPolicy {
  let policy = recordedPolicy(db).policy;
  const statePolicy = join(resolve(stateDir), STATE_POLICY_FILE);
  if (existsSync(statePolicy)) policy = tighten(policy, readPolicyFile(statePolicy));
  return raiseToFloor(policy).policy;
}

export function resolvePolicy(options: { db: Db; model: RegisteredModel; stateDir: string; policyFile?: string }): ResolvedPolicy {
  const recorded = recordedPolicy(options.db);
  let policy = recorded.policy;
  const layers = [recorded.version > 0 ? `recorded#${recorded.version}` : 'default'];
  const statePolicy = join(resolve(options.stateDir), STATE_POLICY_FILE);
  if (existsSync(statePolicy)) {
    policy = tighten(policy, readPolicyFile(statePolicy));
    layers.push(`state:${STATE_POLICY_FILE}`);
  }
  const spec = options.model.jobSpec;
  if (typeof spec === 'object' && spec !== null && 'deployment' in spec && spec.deployment !== undefined) {
    policy = tighten(policy, parsePolicy(spec.deployment, `the job spec of model ${options.model.version}`));
    layers.push('job-spec');
  }
  if (options.policyFile !== undefined) {
    policy = tighten(policy, readPolicyFile(options.policyFile));
    layers.push(`file:${resolve(options.policyFile)}`);
  }
  const floored = raiseToFloor(policy);
  return { policy: floored.policy, source: layers.join('+'), raisedByFloor: floored.raised, problem: recorded.problem };
}
