/**
 * A deviating coordinator for the client-policy attack tests (issue 10): a REAL coordinator server on 127.0.0.1
 * (port 0) whose federation the test drives by hand, sending hand-crafted train tasks (downgraded, lying,
 * repeated) to a REAL client node — `ClientNode` with the standard mods, a file participation record and, where
 * the attack needs it, real secure aggregation. The victim's transport is wrapped only to keep a copy of every
 * message it sends over the socket, so a test can check that nothing from which its update could be recovered
 * ever left it, and (for the central-placement attack) to stand in for the coordinator key the socket handshake
 * proves (ClientTransport.coordinatorIdentity, implemented for socket.io by the identity/access work).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ClientNode, type ClientData } from '../../client/node.ts';
import { standardClientMods } from '../../client/mods/index.ts';
import { TrainingTurns } from '../../client/training-turns.ts';
import { fileParticipationRecord } from '../../client/policy/participation.ts';
import type { ClientPolicy } from '../../client/policy/schema.ts';
import { SecureAggregation } from '../../client/secure-aggregation.ts';
import { socketIoClientTransport } from '../../client/transport/socketio-client.ts';
import type { CoordinatorServer } from '../../coordinator/server.ts';
import { cryptoRandom } from '../../privacy/random.ts';
import { simulatedIdentities } from '../../privacy/secagg/identity-directory.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { ClientMessage } from '../../protocol/messages.ts';
import { encodeFloat32 } from '../../protocol/tensor.ts';
import type { ClientTransport } from '../../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { logger } from './federation-fixtures.ts';
import { consortium } from './federation-fixtures.ts';

export interface Victim {
  readonly id: string;
  readonly node: ClientNode;
  /** Every message the victim sent over its socket, in order. */
  readonly sent: ClientMessage[];
  close(): void;
}

export interface VictimOptions {
  readonly id: string;
  readonly policy: ClientPolicy;
  /** The victim's own --state directory (its participation record). */
  readonly stateDir: string;
  readonly data: ClientData;
  /** Real SecAgg identity + roster (what `--identity/--roster` give a `tessera client`). */
  readonly secure?: boolean;
  /** The coordinator key the connection proves (stands in for the socket handshake's proof). */
  readonly provenCoordinatorKey?: Uint8Array;
  /** Where the node logs (default: the fixtures' silent logger). */
  readonly logger?: Logger;
}

export function startVictim(server: CoordinatorServer, o: VictimOptions): Victim {
  const inner = socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: o.id, orgId: `org-${o.id}` }, identity: consortium.identityOf(o.id, `org-${o.id}`), reconnectDelayMs: 100, reconnectDelayMaxMs: 200 });
  const sent: ClientMessage[] = [];
  const transport: ClientTransport = {
    send(m) {
      sent.push(m);
      inner.send(m);
    },
    onMessage: (h) => inner.onMessage(h),
    onConnect: (h) => inner.onConnect(h),
    onDisconnect: (h) => inner.onDisconnect(h),
    onRefused: (h) => inner.onRefused(h),
    close: () => inner.close(),
    ...(o.provenCoordinatorKey ? { coordinatorIdentity: () => o.provenCoordinatorKey } : inner.coordinatorIdentity ? { coordinatorIdentity: () => inner.coordinatorIdentity?.() } : {}),
  };
  const identities = o.secure ? simulatedIdentities([o.id, `${o.id}-peer-1`, `${o.id}-peer-2`], cryptoRandom()) : undefined;
  const log = o.logger ?? logger;
  const record = fileParticipationRecord(o.stateDir);
  const secure = identities ? new SecureAggregation({ clientId: o.id, identity: identities.identityOf(o.id), resolveIdentity: identities.resolve, logger: log, roundIds: record }) : undefined;
  const node = new ClientNode({ clientId: o.id, orgId: `org-${o.id}`, transport, data: o.data, logger: log, mods: standardClientMods({ policy: o.policy, record }), disclosure: o.policy.disclose, turns: new TrainingTurns(), ...(secure ? { secure } : {}) });
  return { id: o.id, node, sent, close: () => node.close() };
}

/** The deviating coordinator's move: one hand-made train task, and the victim's reply (or the error). */
export async function sendTask(server: CoordinatorServer, victim: Victim, job: JobSpec, o: { jobId: string; round: number; dim: number }): Promise<ClientMessage> {
  const task = { type: 'train' as const, jobId: o.jobId, round: o.round, taskId: randomUUID(), job, weights: encodeFloat32(new Float32Array(o.dim)), deadlineMs: 30_000 };
  return server.federation.request(victim.id, task, 30_000);
}

/** What left the victim from which an update could be recovered: updates and secure-aggregation messages. */
export function updateBearing(victim: Victim): ClientMessage[] {
  return victim.sent.filter((m) => m.type === 'update' || m.type === 'secagg');
}
