/// <reference lib="dom" />
/**
 * Reads the coordinator's server-sent events (`GET /v1/events`, coordinator/console/events.ts) with `fetch`,
 * because EventSource cannot send the Authorization header. Each `change` event only says that something moved;
 * `onChange` re-reads the page's data. The feed sends one event as it opens, so the page's first render is that
 * event's (one render per load, and nothing that changed before the feed opened is missed); a feed that cannot
 * open renders once anyway. Reconnects after a dropped stream, waiting the server's `retry`.
 */
import { authHeaders } from './api.ts';

export function follow(onChange: () => void, signal: AbortSignal): void {
  let retryMs = 2000;
  const run = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        const res = await fetch('/v1/events', { headers: { accept: 'text/event-stream', ...authHeaders() }, signal, cache: 'no-store' });
        if (!res.ok || res.body === null) {
          onChange(); // no feed (e.g. refused): the page still renders once, and shows why if it is refused
          return;
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = block.split('\n');
            const retry = lines.find((l) => l.startsWith('retry: '));
            if (retry !== undefined) retryMs = Number(retry.slice(7)) || retryMs;
            if (lines.includes('event: change')) onChange();
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
}
