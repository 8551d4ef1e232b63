/**
 * The console's live feed (issue 17): `GET /v1/events`, server-sent events over the same bearer-token guard as
 * every /v1 route. Server-sent events rather than socket.io: the socket.io endpoint is the clients' transport
 * (each connection must prove a roster key), the feed is one-way, and an HTTP response goes through the same
 * route convention, guard and OpenAPI document as the rest of the API. The browser reads it with `fetch`
 * (EventSource cannot send an Authorization header) — see console/browser/live.ts.
 *
 * An event carries no data, only that something changed and a sequence number: the page then re-reads what it
 * shows through the routes its role may call. So the feed cannot leak what a route would refuse, and there is
 * one way of computing each figure. Changes are found by comparing a fingerprint of the job service's views
 * (state, rounds completed), the connected-client count and the head of the audit log (every ledger charge,
 * consent change, approval and deployment appends to it) twice a second, while anyone listens.
 *
 * A stream stays open for as long as its reader wants, outside the request rate limits and the websocket
 * connection caps (coordinator/transport/connection-limits.ts), so the feed caps its own open streams: per token
 * (a console tab holds one) and in total. Past either cap the request is answered 429 TESSERA_ERR_CONNECTION_LIMIT
 * and no stream is opened (review 3: one viewer token could hold any number of streams open).
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { ApiError } from '../../protocol/api.ts';
import type { Db } from '../../governance/state/database.ts';
import { ANY_OPERATOR } from '../api/access.ts';
import type { Federation } from '../federation.ts';
import type { JobService } from '../job-service.ts';

export interface EventSources {
  readonly jobs: JobService;
  readonly federation: Federation;
  readonly db?: Db | undefined;
  /** How often the fingerprint is compared (default 500 ms). */
  readonly pollMs?: number;
  /** Open streams per token (default MAX_STREAMS_PER_TOKEN) and in total (default MAX_STREAMS). */
  readonly maxStreamsPerToken?: number;
  readonly maxStreams?: number;
}

/** A console tab holds one stream; a few tabs per person fit. */
export const MAX_STREAMS_PER_TOKEN = 8;
/** A quarter of the websocket cap (DEFAULT_MAX_CONNECTIONS): the clients' transport keeps room. */
export const MAX_STREAMS = 256;

/** Comments keep idle connections (and proxies) from timing the stream out. */
const HEARTBEAT_MS = 15_000;

function fingerprint(s: EventSources): string {
  const jobs = s.jobs.list().map((j) => `${j.jobId}:${j.state}:${j.roundsCompleted}`).join(',');
  let audit = 0;
  if (s.db !== undefined && s.db.open) {
    try {
      audit = Number(s.db.prepare('SELECT COALESCE(MAX(seq), 0) FROM audit_log').pluck().get() ?? 0);
    } catch {
      audit = -1; // no audit table yet (a state before its first migration): nothing to watch there
    }
  }
  const orgs = s.federation.presence.counts();
  return `${jobs}|${s.federation.clients().length}|${orgs.connected}/${orgs.disconnected}|${audit}`;
}

/** Ends every open stream (the coordinator's close() calls it before the HTTP server, which waits for open responses, closes). */
export interface EventFeed {
  close(): void;
}

export function registerEvents(app: FastifyInstance, sources: EventSources): EventFeed {
  const listeners = new Set<ServerResponse>();
  const perToken = new Map<string, number>();
  const maxPerToken = sources.maxStreamsPerToken ?? MAX_STREAMS_PER_TOKEN;
  const maxTotal = sources.maxStreams ?? MAX_STREAMS;
  let timer: NodeJS.Timeout | null = null;
  let last = '';
  let seq = 0;
  const send = (res: ServerResponse, line: string): void => void res.write(line);
  const tick = (): void => {
    const now = fingerprint(sources);
    if (now === last) return;
    last = now;
    seq++;
    for (const res of listeners) send(res, `event: change\ndata: ${JSON.stringify({ seq })}\n\n`);
  };
  const heartbeat = setInterval(() => {
    for (const res of listeners) send(res, ': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const close = (): void => {
    clearInterval(heartbeat);
    if (timer) clearInterval(timer);
    timer = null;
    for (const res of listeners) res.end();
    listeners.clear();
  };
  app.addHook('preClose', async () => close());

  app.get(
    '/v1/events',
    {
      config: { access: ANY_OPERATOR },
      schema: {
        summary: 'Server-sent events: `change` whenever a job, the connected clients or the audit log moved (no data: re-read what you show)',
        tags: ['console'],
        response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, 429: ApiError },
      },
    },
    async (req, reply) => {
      // The guard set the holder (a guarded route is never reached without one).
      const token = req.operator?.tokenId ?? '';
      const open = perToken.get(token) ?? 0;
      if (open >= maxPerToken || listeners.size >= maxTotal) {
        const which = open >= maxPerToken ? `this token holds its maximum of ${maxPerToken} open event streams` : `the coordinator holds its maximum of ${maxTotal} open event streams`;
        return reply.code(429).send({ error: { code: 'TESSERA_ERR_CONNECTION_LIMIT' as const, message: `${which}: close one (a console tab) and retry` } });
      }
      perToken.set(token, open + 1);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-content-type-options': 'nosniff' });
      tick(); // the listeners already here hear of a change before the newcomer is counted among them
      send(res, `retry: 2000\nevent: change\ndata: ${JSON.stringify({ seq })}\n\n`);
      listeners.add(res);
      timer ??= setInterval(tick, sources.pollMs ?? 500);
      timer.unref();
      req.raw.on('close', () => {
        listeners.delete(res);
        const left = (perToken.get(token) ?? 1) - 1;
        if (left > 0) perToken.set(token, left);
        else perToken.delete(token);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      });
    },
  );
  return { close };
}
