/**
 * The console's HTTP side (issue 17): `GET /console` and `/console/<page>` answer one static HTML shell, and
 * `/console/assets/…` its script (bundle.ts) and stylesheet. None of these hold data: the shell has no state
 * and no names, so it is public like /v1/openapi.json; everything shown is read by the page through the
 * guarded /v1 routes with the token the user signs in with (browser/api.ts).
 *
 * Every console response carries a strict Content-Security-Policy: scripts and styles from this origin only,
 * no inline script or style, no eval (vega's expressions run through vega-interpreter instead, browser/charts.ts),
 * connections to this origin only, no framing, no forms posting anywhere, no <base>.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleBundle } from './bundle.ts';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The page names the shell answers; others are 404 (the browser module shows the same for unknown names). */
export const CONSOLE_PAGES = ['overview', 'privacy', 'data', 'fairness', 'governance'] as const;

const HERE = dirname(fileURLToPath(import.meta.url));

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/console.js"></script>
</head>
<body>
<header><span class="brand">Tessera</span><nav id="nav"></nav><div id="who"></div></header>
<main id="main"><p>Loading…</p><noscript>The console needs JavaScript.</noscript></main>
</body>
</html>
`;

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin');
}

export async function consolePages(app: FastifyInstance): Promise<void> {
  const css = readFileSync(join(HERE, 'console.css'), 'utf8');
  // Outside /v1: not part of the API document (hidden), and the convention's access check is for /v1 only.
  const hide = { schema: { hide: true } };
  app.get('/console', hide, async (_req, reply) => secure(reply).redirect('/console/overview', 302));
  app.get<{ Params: { page: string } }>('/console/:page', hide, async (req, reply) => {
    const known = (CONSOLE_PAGES as readonly string[]).includes(req.params.page);
    return secure(reply).code(known ? 200 : 404).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(SHELL);
  });
  app.get('/console/assets/console.css', hide, async (_req, reply) => secure(reply).header('cache-control', 'no-cache').type('text/css; charset=utf-8').send(css));
  app.get<{ Params: { file: string } }>('/console/assets/:file', hide, async (req, reply) => {
    const file = (await consoleBundle()).get(req.params.file);
    secure(reply);
    if (file === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
    reply.header('cache-control', 'no-cache').header('etag', file.etag);
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type('text/javascript; charset=utf-8').send(file.code);
  });
}
