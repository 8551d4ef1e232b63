/**
 * Which deployment policy applies to a model: an explicit policy file (`--policy FILE`), else the
 * coordinator's `<state>/deployment-policy.json`, else the `deployment` section of the job spec the model was
 * trained under, else the schema's defaults. The gate result names the source, so nobody has to guess.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import { DeploymentSection, type DeploymentPolicy } from '../../protocol/job/governance.ts';
import type { RegisteredModel } from '../registry/registry.ts';

export const STATE_POLICY_FILE = 'deployment-policy.json';

export interface ResolvedPolicy {
  readonly policy: DeploymentPolicy;
  readonly source: string;
}

export function parsePolicy(value: unknown, where: string): DeploymentPolicy {
  const r = DeploymentSection.safeParse(value);
  if (!r.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Invalid deployment policy in ${where}: ${describeZodIssues(r.error.issues)}`);
  return r.data;
}

function readPolicyFile(path: string): DeploymentPolicy {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read the deployment policy ${path}: ${String(cause)}`, { cause });
  }
  return parsePolicy(value, path);
}

export function resolvePolicy(options: { model: RegisteredModel; stateDir: string; policyFile?: string }): ResolvedPolicy {
  if (options.policyFile !== undefined) return { policy: readPolicyFile(options.policyFile), source: `file:${resolve(options.policyFile)}` };
  const statePolicy = join(resolve(options.stateDir), STATE_POLICY_FILE);
  if (existsSync(statePolicy)) return { policy: readPolicyFile(statePolicy), source: `state:${STATE_POLICY_FILE}` };
  const spec = options.model.jobSpec;
  if (typeof spec === 'object' && spec !== null && 'deployment' in spec && spec.deployment !== undefined) {
    return { policy: parsePolicy(spec.deployment, `the job spec of model ${options.model.version}`), source: 'job-spec' };
  }
  return { policy: parsePolicy({}, 'defaults'), source: 'default' };
}
