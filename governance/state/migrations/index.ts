/**
 * Every migration of the state database, in the one order they are applied (house issue 21: listed in one
 * place, applied at open in one exclusive transaction). A module no longer registers its tables when it is
 * imported, so which tables exist never depends on which modules a process happened to load — the cause of
 * the concurrent-CLI race, where a command opened a database whose tables another command had not created yet.
 * Ids are stable (`<module>-<nnn>`); a released migration is never edited, only followed by a new one.
 */
import type { Migration } from '../database.ts';
import { APPROVALS_MIGRATIONS } from './approvals.ts';
import { AUDIT_MIGRATIONS } from './audit.ts';
import { CONSENT_MIGRATIONS } from './consent.ts';
import { DEPLOY_MIGRATIONS } from './deploy.ts';
import { GOVERNANCE_INTEGRITY_MIGRATIONS } from './governance-integrity.ts';
import { IDENTITY_MIGRATIONS } from './identity.ts';
import { JOBS_MIGRATIONS } from './jobs.ts';
import { LEDGER_MIGRATIONS } from './ledger.ts';
import { REGISTRY_MIGRATIONS } from './registry.ts';
import { REVIEW_MIGRATIONS } from './review.ts';
import { SERVING_MIGRATIONS } from './serving.ts';

export const MIGRATIONS: readonly Migration[] = [
  ...JOBS_MIGRATIONS,
  ...LEDGER_MIGRATIONS,
  ...AUDIT_MIGRATIONS,
  ...CONSENT_MIGRATIONS,
  ...IDENTITY_MIGRATIONS,
  ...REGISTRY_MIGRATIONS,
  ...APPROVALS_MIGRATIONS,
  ...DEPLOY_MIGRATIONS,
  ...GOVERNANCE_INTEGRITY_MIGRATIONS,
  ...REVIEW_MIGRATIONS,
  ...SERVING_MIGRATIONS,
];
