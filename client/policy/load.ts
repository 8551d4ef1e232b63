/**
 * Reading the policy file a node is started with (`--policy FILE`); without one, the strict default applies.
 * An unreadable or invalid file stops the node (exit 2): a node must never fall back to a weaker policy.
 */
import { readFileSync } from 'node:fs';
import { TesseraError } from '../../protocol/errors.ts';
import { DEFAULT_CLIENT_POLICY, parseClientPolicy, type ClientPolicy } from './schema.ts';

export function loadClientPolicy(path: string | undefined): ClientPolicy {
  if (path === undefined) return DEFAULT_CLIENT_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_POLICY_INVALID', `cannot read client policy ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseClientPolicy(raw, path);
}
