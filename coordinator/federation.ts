/**
 * The coordinator's view of its clients: who is connected (by client id, with their organisation), and the
 * request/reply routing of tasks. Every inbound message is parsed against protocol/messages.ts; a malformed
 * message, or one that answers no task of that client, is refused with a coded error notice and the
 * coordinator carries on. A task's promise settles exactly once: with the reply, or with an error when the
 * client disconnects or the deadline passes — so no client can stall a round past its deadline.
 */
import type { Logger } from 'pino';
import { TesseraError, describeZodIssues } from '../protocol/errors.ts';
import { ClientMessage, type EvaluateTask, type EvaluateTaskOnWire, type Handshake, type SecAggFromClient, type ServerMessage, type TrainTask, type TrainTaskOnWire } from '../protocol/messages.ts';
import type { ClientConnection, ServerTransport } from '../protocol/transport.ts';
import { jobSpecHash } from '../lib/job-spec-hash.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { Presence } from './presence.ts';

export interface ConnectedClient {
  readonly clientId: string;
  readonly orgId: string;
  /** The client's example count, when its policy discloses it in the handshake (off by default). */
  readonly examples?: number | undefined;
  readonly connectedAt: number;
}

type Task = TrainTask | EvaluateTask;
type Reply = Exclude<ClientMessage, never>;

interface Pending {
  readonly clientId: string;
  readonly task: Task;
  resolve(reply: Reply): void;
  reject(error: TesseraError): void;
  timer: NodeJS.Timeout;
}

export interface FederationStats {
  malformedMessages: number;
  unexpectedMessages: number;
  lateMessages: number;
}

/**
 * Which reply types answer which task type. Under secure aggregation a client answers its task with the
 * first stage message (its key advertisement); the later stages go to the round's subscription.
 */
const ANSWERS: Record<Task['type'], ReadonlyArray<Reply['type']>> = {
  train: ['update', 'decline', 'secagg'],
  evaluate: ['evaluate-result', 'decline', 'secagg'],
};

/**
 * The largest single message a client may need to answer `task`: its update (float32) or masked input (uint32,
 * one word per coordinate) has as many coordinates as the weights it was sent; twice that plus 1 MiB leaves room
 * for secure-aggregation stages and metadata. Sized from the model, so a job on a small model never lets a
 * client send hundreds of megabytes.
 */
export function replyBytesFor(task: Task): number {
  return 2 * task.weights.data.byteLength + 1024 * 1024;
}

export type SecAggHandler = (clientId: string, message: SecAggFromClient) => void;

/** Job spec hashes a connection has been sent, newest last; a job has one spec, or one per round under adaptive clipping. */
const SENT_SPECS_KEPT = 8;

interface Connected {
  readonly connection: ClientConnection;
  readonly info: ConnectedClient;
  /** Hashes of the job specs this connection was sent (tasks after the first name theirs by hash only). */
  readonly specsSent: Set<string>;
}

export class Federation {
  private readonly connections = new Map<string, Connected>();
  private readonly pending = new Map<string, Pending>();
  /** Task ids whose deadline passed, so a late reply is told "late" rather than "unknown". Bounded. */
  private readonly expired = new Set<string>();
  private readonly waiters = new Set<() => void>();
  /** Secure-aggregation stage handlers, by `${jobId}/${round}/${taskKind}` subscription key. */
  private readonly secagg = new Map<string, SecAggHandler>();
  readonly stats: FederationStats = { malformedMessages: 0, unexpectedMessages: 0, lateMessages: 0 };
  /** Connected organisations and when each was last seen (in memory, bounded: presence.ts says why). */
  readonly presence = new Presence();

  constructor(
    transport: ServerTransport,
    private readonly logger: Logger,
  ) {
    transport.onConnection((c) => this.accept(c));
  }

  clients(): ConnectedClient[] {
    return [...this.connections.values()].map((c) => c.info);
  }

  isConnected(clientId: string): boolean {
    return this.connections.has(clientId);
  }

  /**
   * The client's current connection (a new object at each reconnection), for code that must tell a client that
   * stayed connected from one that dropped and came back with none of its round state.
   */
  connectionOf(clientId: string): ConnectedClient | undefined {
    return this.connections.get(clientId)?.info;
  }

  /** Resolves once at least `min` clients are connected; rejects with TESSERA_ERR_TIMEOUT after `timeoutMs`. */
  async waitForClients(min: number, timeoutMs: number): Promise<void> {
    if (this.connections.size >= min) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.connections.size >= min) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new TesseraError('TESSERA_ERR_TIMEOUT', `Only ${this.connections.size} of the ${min} clients needed connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Sends a task and resolves with the client's reply, or rejects on disconnect or at the deadline. */
  request(clientId: string, task: Task, deadlineMs: number): Promise<Reply> {
    const entry = this.connections.get(clientId);
    if (!entry) return Promise.reject(new TesseraError('TESSERA_ERR_NOT_REGISTERED', `client ${clientId} is not connected`));
    // Before anything is registered: a spec that cannot be hashed (no RFC 8785 form) fails this request now,
    // leaving no pending entry or timer behind.
    let wire: TrainTaskOnWire | EvaluateTaskOnWire;
    try {
      wire = this.onWire(entry, task);
    } catch (e) {
      return Promise.reject(e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `the ${task.type} task for ${clientId} cannot be sent: ${String(e)}`, { cause: e }));
    }
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(task.taskId);
        this.rememberExpired(task.taskId);
        reject(new TesseraError('TESSERA_ERR_TIMEOUT', `client ${clientId} did not answer ${task.type} task of round ${task.round} within ${deadlineMs} ms`));
      }, deadlineMs);
      this.pending.set(task.taskId, { clientId, task, resolve, reject, timer });
      entry.connection.setMessageLimit?.(replyBytesFor(task));
      entry.connection.send(wire);
    });
  }

  /**
   * The task as it travels: its spec named by hash, and the spec itself only when this connection has not been
   * sent it (a connection delivers in order, so the client holds it by the time a later task names it; a
   * reconnection is a new connection and gets the spec again).
   */
  private onWire(entry: Connected, task: Task): TrainTaskOnWire | EvaluateTaskOnWire {
    const specHash = jobSpecHash(task.job);
    if (entry.specsSent.has(specHash)) {
      const { job: _sent, ...rest } = task;
      return { ...rest, specHash };
    }
    entry.specsSent.add(specHash);
    if (entry.specsSent.size > SENT_SPECS_KEPT) entry.specsSent.delete(entry.specsSent.values().next().value as string);
    return { ...task, specHash };
  }

  /** Resolves true at the next client connection, or false when `timeoutMs` passes first. */
  waitForConnection(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(onConnect);
        resolve(value);
      };
      const onConnect = (): void => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.waiters.add(onConnect);
    });
  }

  /** Sends a message outside any request (secure-aggregation stages). False when the client is gone. */
  send(clientId: string, message: ServerMessage): boolean {
    const entry = this.connections.get(clientId);
    if (!entry) return false;
    entry.connection.send(message);
    return true;
  }

  /**
   * Routes the secure-aggregation stage messages of one job round to `handler` until the returned function
   * is called. Messages for rounds nobody subscribed to are refused as unexpected.
   */
  subscribeSecAgg(jobId: string, round: number, handler: SecAggHandler): () => void {
    const key = `${jobId}/${round}`;
    this.secagg.set(key, handler);
    return () => {
      if (this.secagg.get(key) === handler) this.secagg.delete(key);
    };
  }

  private settle(taskId: string): Pending | undefined {
    const p = this.pending.get(taskId);
    if (p) {
      clearTimeout(p.timer);
      this.pending.delete(taskId);
    }
    return p;
  }

  private rememberExpired(taskId: string): void {
    this.expired.add(taskId);
    if (this.expired.size > 10_000) {
      const first = this.expired.values().next().value;
      if (first !== undefined) this.expired.delete(first);
    }
  }

  private accept(connection: ClientConnection): void {
    const h: Handshake = connection.handshake;
    const previous = this.connections.get(h.clientId);
    if (previous) {
      if (connection.identity === undefined) {
        // Without a fresh proof of the client's key a second connection must not displace the first (issue 12:
        // anyone could evict a client by reusing its id). Authenticating transports never get here unproven.
        const message = `client id ${h.clientId} is already connected; this connection proved no key, so it is refused and the connected client keeps its place`;
        this.logger.warn({ client: h.clientId, code: 'TESSERA_ERR_DUPLICATE_CLIENT' }, message);
        connection.send({ type: 'error', code: 'TESSERA_ERR_DUPLICATE_CLIENT', message });
        connection.disconnect('duplicate client id', { code: 'TESSERA_ERR_DUPLICATE_CLIENT', message });
        return;
      }
      // A proven reconnect replaces its stale socket; its old pending tasks fail now rather than at the deadline.
      this.logger.warn({ client: h.clientId }, 'client reconnected with a fresh key proof; replacing its previous connection');
      this.dropClient(h.clientId, 'replaced by a new connection');
      previous.connection.disconnect('replaced by a new connection', {
        code: 'TESSERA_ERR_DUPLICATE_CLIENT',
        message: `another connection proved the key of ${h.clientId} and replaced this one`,
      });
    }
    // The roster's organisation when the transport authenticated the client; the claim only in simulations.
    const orgId = connection.identity?.orgId ?? h.orgId;
    const info: ConnectedClient = { clientId: h.clientId, orgId, examples: h.examples, connectedAt: Date.now() };
    this.connections.set(h.clientId, { connection, info, specsSent: new Set() });
    this.presence.connected(orgId, h.clientId);
    this.logger.info({ client: h.clientId, org: orgId, examples: h.examples, authenticated: connection.identity !== undefined }, 'client registered');
    connection.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, clientId: h.clientId });
    connection.onMessage((raw) => {
      this.presence.seen(orgId);
      // The transport delivers from its own callbacks, where a throw is an uncaught exception that ends the
      // coordinator: whatever one client's message makes the handling code throw, that message is dropped with a
      // coded log line and the coordinator keeps serving every other client.
      try {
        this.onMessage(h.clientId, connection, raw);
      } catch (e) {
        this.stats.malformedMessages++;
        this.logger.error({ client: h.clientId, code: 'TESSERA_ERR_INTERNAL', err: e }, 'dropped a message whose handling threw');
      }
    });
    connection.onDisconnect((reason) => {
      if (this.connections.get(h.clientId)?.connection !== connection) return;
      this.logger.info({ client: h.clientId, reason }, 'client disconnected');
      this.dropClient(h.clientId, reason);
    });
    for (const w of [...this.waiters]) w();
  }
  private dropClient(clientId: string, reason: string): void {
    const info = this.connections.get(clientId)?.info;
    if (info) this.presence.disconnected(info.orgId, clientId);
    this.connections.delete(clientId);
    for (const [taskId, p] of [...this.pending]) {
      if (p.clientId !== clientId) continue;
      this.settle(taskId);
      p.reject(new TesseraError('TESSERA_ERR_TIMEOUT', `client ${clientId} disconnected during ${p.task.type} task of round ${p.task.round} (${reason})`));
    }
  }

  private onMessage(clientId: string, connection: ClientConnection, raw: unknown): void {
    // The child logger only when there is something to say (rarely): not a pino child built for every reply.
    const log = (): Logger => this.logger.child({ client: clientId });
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) {
      this.stats.malformedMessages++;
      const message = `Malformed message refused: ${describeZodIssues(parsed.error.issues)}`;
      log().warn({ code: 'TESSERA_ERR_MESSAGE_INVALID' }, message);
      connection.send({ type: 'error', code: 'TESSERA_ERR_MESSAGE_INVALID', message });
      return;
    }
    const msg = parsed.data;
    const p = this.pending.get(msg.taskId);
    if (!p && msg.type === 'secagg') {
      const handler = this.secagg.get(`${msg.jobId}/${msg.round}`);
      if (handler) {
        handler(clientId, msg);
        return;
      }
    }
    if (!p || p.clientId !== clientId || !ANSWERS[p.task.type].includes(msg.type) || p.task.round !== msg.round || p.task.jobId !== msg.jobId) {
      const late = this.expired.has(msg.taskId);
      if (late) this.stats.lateMessages++;
      else this.stats.unexpectedMessages++;
      const code = late ? 'TESSERA_ERR_TIMEOUT' : 'TESSERA_ERR_UNEXPECTED_MESSAGE';
      const message = late ? `The reply to task ${msg.taskId} arrived after its deadline and was discarded` : `No open task ${msg.taskId} of yours accepts a ${msg.type} message`;
      log().warn({ code, task: msg.taskId }, message);
      connection.send({ type: 'error', code, message, taskId: msg.taskId });
      return;
    }
    this.settle(msg.taskId);
    p.resolve(msg);
  }

  /**
   * Closes a client's connection from the coordinator's side (an operator's kick, a deviating-coordinator
   * harness). Not final: the client reconnects with back-off and must prove its key again. False when unknown.
   */
  disconnect(clientId: string, reason: string): boolean {
    const entry = this.connections.get(clientId);
    if (!entry) return false;
    this.dropClient(clientId, reason);
    entry.connection.disconnect(reason);
    return true;
  }

  /** Fails every open task (used when a job stops). */
  cancelAll(reason: string): void {
    for (const [taskId, p] of [...this.pending]) {
      this.settle(taskId);
      p.reject(new TesseraError('TESSERA_ERR_ROUND_FAILED', reason));
    }
  }
}
