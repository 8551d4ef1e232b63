/**
 * A client node as an organisation runs it under a policy: the standard mods with that policy and a participation
 * record in its own directory, secure aggregation with the policy's floors, over a transport the test gives (an
 * authenticated socket, possibly wrapped to observe what arrives). Shared by the review attack tests, whose
 * deviating coordinators face exactly this node.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { standardClientMods } from '../../client/mods/index.ts';
import { ClientNode, type ClientData } from '../../client/node.ts';
import { fileParticipationRecord } from '../../client/policy/participation.ts';
import { secAggClientPolicy, type ClientPolicy } from '../../client/policy/schema.ts';
import { SecureAggregation, type SecureAggregationOptions } from '../../client/secure-aggregation.ts';
import { TrainingTurns } from '../../client/training-turns.ts';
import type { CoordinatorServer } from '../../coordinator/server.ts';
import type { SimulatedIdentities } from '../../privacy/secagg/identity-directory.ts';
import type { ClientTransport } from '../../protocol/transport.ts';
import { logger } from './federation-fixtures.ts';

export interface PolicyNode {
  readonly node: ClientNode;
  readonly secure: SecureAggregation;
}

export function policyNode(o: {
  id: string;
  transport: ClientTransport;
  data: ClientData;
  policy: ClientPolicy;
  identities: SimulatedIdentities;
  /** The participation record goes to `<recordRoot>/<id>`. */
  recordRoot: string;
  onEncoded?: SecureAggregationOptions['onEncoded'];
}): PolicyNode {
  const secure = new SecureAggregation({
    clientId: o.id,
    identity: o.identities.identityOf(o.id),
    resolveIdentity: o.identities.resolve,
    logger,
    policy: secAggClientPolicy(o.policy),
    ...(o.onEncoded ? { onEncoded: o.onEncoded } : {}),
  });
  const mods = standardClientMods({ policy: o.policy, record: fileParticipationRecord(join(o.recordRoot, o.id)) });
  const node = new ClientNode({ clientId: o.id, orgId: `org-${o.id}`, transport: o.transport, data: o.data, logger, mods, disclosure: o.policy.disclose, turns: new TrainingTurns(), secure });
  return { node, secure };
}

/** Waits (up to 5 s) until every one of `ids` is connected and authenticated. */
export async function waitUntilConnected(server: CoordinatorServer, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < 200 && ids.some((id) => !server.federation.isConnected(id)); i++) await new Promise((r) => setTimeout(r, 25));
  expect(ids.every((id) => server.federation.isConnected(id))).toBe(true);
}
