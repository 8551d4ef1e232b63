/**
 * `GET /v1/audit/checkpoint`: the latest signed audit checkpoint (sequence, head hash, signature), for
 * auditors and witnesses to poll and keep outside the coordinator (issue 13 §2; governance/audit/anchor.ts).
 * It signs a checkpoint over the current head first when the head has none, so a poll always pins the log
 * as it is now. The response carries hashes and a public key only — nothing from the entries themselves.
 */
import type { FastifyInstance } from 'fastify';
import type { Db } from '../governance/state/database.ts';
import { checkpointAudit } from '../governance/audit/log.ts';
import { toWitnessed } from '../governance/audit/anchor.ts';

export async function auditCheckpointRoute(app: FastifyInstance, options: { db: Db }): Promise<void> {
  app.get('/v1/audit/checkpoint', async (_req, reply) => {
    const c = checkpointAudit(options.db);
    if (c === undefined) return reply.code(404).send({ error: { code: 'TESSERA_ERR_NOT_FOUND', message: 'The audit log is empty: no checkpoint yet' } });
    return toWitnessed(c);
  });
}
