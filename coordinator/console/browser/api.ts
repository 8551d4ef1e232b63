/// <reference lib="dom" />
/**
 * The console's only way to the coordinator: `fetch` on the same origin with the bearer token the user signed in
 * with (kept in sessionStorage: gone when the tab closes, never in a cookie, so no other site can make the
 * browser send it). Every answer that is not 2xx becomes an `ApiFailure` with the API's stable code and message,
 * which the page renders (a 403 as a page that says which roles may open it).
 */
const TOKEN_KEY = 'tessera.console.token';

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value);
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function isApiError(v: unknown): v is { error: { code: string; message: string } } {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { message?: unknown }).message === 'string';
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t === null ? {} : { authorization: `Bearer ${t}` };
}

/** GET a /v1 route; the caller states the type the route's schema (console/schemas.ts, protocol/api.ts) declares. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json', ...authHeaders() }, cache: 'no-store' });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    if (isApiError(body)) throw new ApiFailure(res.status, body.error.code, body.error.message);
    throw new ApiFailure(res.status, 'TESSERA_ERR_INTERNAL', `HTTP ${res.status}`);
  }
  return body as T;
}
