/**
 * Keeps the job and each committed round (record and resulting weights) in the state database. Its commit
 * runs inside the round-commit transaction with the ledger charge and the audit entry.
 */
import { jobSpecHash } from '../../lib/job-spec-hash.ts';
import { createJobRow, finishJobRow, insertRoundRow } from '../state/job-store.ts';
import type { FeatureFactory } from './assemble.ts';

export const jobRecordFeature: FeatureFactory = (ctx) => {
  const db = ctx.db;
  if (!db) return null;
  return {
    name: 'job-record',
    provides: ['job-rows'],
    start: () => createJobRow(db, { id: ctx.jobId, spec: ctx.spec, specHash: jobSpecHash(ctx.spec) }),
    hooks: {
      commitRound(record, weights, serverState) {
        insertRoundRow(db, ctx.jobId, record, weights, serverState);
      },
      onJobEnd(result) {
        finishJobRow(db, ctx.jobId, result.status, result.message);
      },
    },
  };
};
