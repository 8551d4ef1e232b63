/**
 * Limits before trust (issue 12): what an unauthenticated peer can make the coordinator spend.
 *  - Connections: at most `maxConnections` in total and `maxConnectionsPerAddress` from one remote address,
 *    checked in engine.io's `allowRequest` (the HTTP upgrade is answered 403 before any socket exists) and
 *    enforced again when the connection opens (concurrent upgrades can all pass the first check).
 *  - Message size: the websocket server's `maxPayload` is the small pre-authentication limit, so a frame
 *    announcing more is refused from its header (RFC 6455 §5.2 carries the length before the payload; ws
 *    closes with 1009 without buffering the body). After the key handshake, the connection's own limit is
 *    raised to what its job needs (setMessageLimit) — never the server-wide default.
 *  - Failed key handshakes: an address past its limit of failed handshakes (coordinator/api/failure-limiter.ts)
 *    is refused at the upgrade like a capped one, with TESSERA_ERR_RATE_LIMITED, until its window ends.
 */
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import type { FailureLimiter } from '../api/failure-limiter.ts';

export interface ConnectionCaps {
  /** Open connections in total, authenticated or not. Default 1024. */
  maxConnections?: number;
  /** Open connections from one remote address. Default 64 (simulations of many clients on one host raise it). */
  maxConnectionsPerAddress?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 64;

export interface ConnectionGate {
  allowRequest(req: IncomingMessage, callback: (err: string | null | undefined, success: boolean) => void): void;
  /** Wire the counters to the engine (call once the socket.io Server exists). */
  attach(io: Server): void;
  readonly refused: { total: number };
  open(): number;
}

function addressOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export function connectionGate(caps: ConnectionCaps, onRefuse: (address: string, why: string, code: 'TESSERA_ERR_CONNECTION_LIMIT' | 'TESSERA_ERR_RATE_LIMITED') => void, handshakeFailures?: FailureLimiter): ConnectionGate {
  const maxTotal = caps.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const maxPerAddress = caps.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const perAddress = new Map<string, number>();
  let total = 0;
  const refused = { total: 0 };
  const overLimit = (address: string, extra: number): string | undefined => {
    if (total + extra > maxTotal) return `the coordinator holds its maximum of ${maxTotal} connections`;
    if ((perAddress.get(address) ?? 0) + extra > maxPerAddress) return `address ${address} holds its maximum of ${maxPerAddress} connections`;
    return undefined;
  };
  return {
    refused,
    open: () => total,
    allowRequest(req, callback) {
      const limited = handshakeFailures?.blocked(addressOf(req));
      if (limited?.blocked === true) {
        refused.total++;
        onRefuse(addressOf(req), `more than ${handshakeFailures?.limits.maxFailures} failed key handshakes from this address within ${(handshakeFailures?.limits.windowMs ?? 0) / 1000} s; retry in ${limited.retryAfterSeconds} s`, 'TESSERA_ERR_RATE_LIMITED');
        callback('TESSERA_ERR_RATE_LIMITED', false);
        return;
      }
      const why = overLimit(addressOf(req), 1);
      if (why !== undefined) {
        refused.total++;
        onRefuse(addressOf(req), why, 'TESSERA_ERR_CONNECTION_LIMIT');
        callback('TESSERA_ERR_CONNECTION_LIMIT', false);
        return;
      }
      callback(null, true);
    },
    attach(io) {
      io.engine.on('connection', (conn: { request: IncomingMessage; close(): void; once(ev: 'close', f: () => void): void }) => {
        const address = addressOf(conn.request);
        const why = overLimit(address, 1);
        if (why !== undefined) {
          refused.total++;
          onRefuse(address, why, 'TESSERA_ERR_CONNECTION_LIMIT');
          conn.close();
          return;
        }
        total++;
        perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
        conn.once('close', () => {
          total--;
          const n = (perAddress.get(address) ?? 1) - 1;
          if (n <= 0) perAddress.delete(address);
          else perAddress.set(address, n);
        });
      });
    },
  };
}

function prop(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
}

/**
 * Sets the largest websocket message this one connection accepts. ws keeps the limit per connection in its
 * receiver (`_maxPayload`, checked against each frame's announced length); engine.io exposes no per-socket
 * setting, so this reaches it through the objects' fields — checked at every step, and covered by a test that
 * sends a message above and below the limit, so an upgrade of ws that renames the field fails loudly there.
 * Returns false when the field is not where expected (the server-wide limit then stays in force).
 */
export function setWebSocketMaxPayload(socket: Socket, bytes: number): boolean {
  const receiver = prop(prop(prop(socket.conn, 'transport'), 'socket'), '_receiver');
  if (typeof prop(receiver, '_maxPayload') !== 'number') return false;
  (receiver as Record<string, unknown>)._maxPayload = Math.floor(bytes);
  return true;
}
