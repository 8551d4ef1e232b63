/**
 * HTTP(S) requests from the CLI to a running coordinator's API (`tessera jobs …`). Built on node:http/https
 * rather than the global fetch so that `--ca FILE` can name the CA that signed a coordinator's certificate (e.g.
 * the one `tessera certs dev` writes) without NODE_EXTRA_CA_CERTS: for these requests only, that CA replaces the
 * default roots — exactly as a client node's `--ca` does.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TesseraError } from '../protocol/errors.ts';

export interface HttpAnswer {
  readonly status: number;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly json: unknown;
}

export interface CoordinatorRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** PEM text of the CA to trust for an https:// coordinator (read by `readCa`). */
  readonly ca?: string;
  readonly timeoutMs?: number;
}

/** Reads `--ca FILE` (PEM); undefined when not given. */
export function readCa(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `cannot read the --ca certificate ${path}: ${String(cause)}`, { cause });
  }
}

/** One request; rejects with TESSERA_ERR_INVALID_ARGUMENT naming the coordinator when it cannot be reached. */
export function requestCoordinator(r: CoordinatorRequest): Promise<HttpAnswer> {
  let url: URL;
  try {
    url = new URL(r.url);
  } catch (cause) {
    return Promise.reject(new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `not a URL: ${r.url}`, { cause }));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--coordinator must be an http:// or https:// URL, got ${r.url}`));
  if (r.ca !== undefined && url.protocol !== 'https:') return Promise.reject(new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--ca applies to an https:// coordinator; ${url.origin} is plain HTTP`));
  const headers = { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) };
  return new Promise((resolve, reject) => {
    const unreachable = (cause: unknown): void => {
      const hint = url.protocol === 'https:' && r.ca === undefined && /certificate|self[- ]signed|issuer/i.test(String(cause)) ? ' (a coordinator with a dev certificate: give --ca ca.pem)' : '';
      reject(new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `cannot reach the coordinator at ${url.origin}: ${String(cause)}${hint}`, { cause }));
    };
    const options = { method: r.method, headers, timeout: r.timeoutMs ?? 30_000 };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ...(r.ca !== undefined ? { ca: r.ca } : {}) }) : httpRequest(url, options);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${(r.timeoutMs ?? 30_000) / 1000} s`)));
    req.on('error', unreachable);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', unreachable);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}
