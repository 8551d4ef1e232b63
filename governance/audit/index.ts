/** The audit log: append (inside the caller's transaction), checkpoint, read, verify, export. */
export { AUDIT_ACTIONS, type AuditAction } from './actions.ts';
export { GENESIS_HASH, entryHash, verifyAuditChain, type AuditCheckpoint, type AuditEntry, type AuditVerification } from './chain.ts';
export { DEFAULT_CHECKPOINT_EVERY, appendAudit, checkpointAudit, readAuditCheckpoints, readAuditEntries, type AuditInput } from './log.ts';
export { exportAuditJsonl, verifyAuditJsonl, verifyAuditLog } from './verify.ts';
