/**
 * `GET /v1/audit/checkpoint`: the latest signed audit checkpoint (sequence, head hash, signature), for
 * auditors and witnesses to poll and keep outside the coordinator (issue 13 §2; governance/audit/anchor.ts).
 * It signs a checkpoint over the current head first when the head has none, so a poll always pins the log
 * as it is now. The response carries hashes and a public key only — nothing from the entries themselves.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../governance/state/database.ts';
import { checkpointAudit } from '../governance/audit/log.ts';
import { WitnessedCheckpoint, toWitnessed } from '../governance/audit/anchor.ts';
import { ApiError } from '../protocol/api.ts';

/**
 * Access: auditors and privacy officers, and operators (who run the witness poll). It reveals no entry, but a
 * checkpoint signs a key the coordinator holds on every call, so it is not open to the network.
 */
export const auditCheckpointRoute: FastifyPluginAsyncZod<{ db: Db }> = async (app, options) => {
  app.get(
    '/v1/audit/checkpoint',
    {
      config: { access: ['auditor', 'privacy-officer', 'operator'] },
      schema: { summary: 'The latest signed audit checkpoint (sequence, head hash, signature)', tags: ['audit'], response: { 200: WitnessedCheckpoint, 404: ApiError } },
    },
    async (_req, reply) => {
      const c = checkpointAudit(options.db);
      if (c === undefined) return reply.code(404).send({ error: { code: 'TESSERA_ERR_NOT_FOUND' as const, message: 'The audit log is empty: no checkpoint yet' } });
      return toWitnessed(c);
    },
  );
};
