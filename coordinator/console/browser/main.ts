/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The console's entry module (bundled by coordinator/console/bundle.ts). The coordinator serves the same public
 * shell at every /console/<page> path (coordinator/console/pages.ts); this module signs in with a token, reads
 * the page's data through the API with it, renders, and re-renders on every `change` from the live feed.
 * A refused route becomes a page: 401 → the sign-in form, 403 → "not for your role" with the API's reason.
 */
import type { WhoAmI } from '../schemas.ts';
import { ApiFailure, getJson, setToken, token } from './api.ts';
import { el } from './dom.ts';
import { follow } from './live.ts';
import type { Page, PageContext } from './page.ts';
import { data } from './pages/data.ts';
import { fairness } from './pages/fairness.ts';
import { governance } from './pages/governance.ts';
import { overview } from './pages/overview.ts';
import { privacy } from './pages/privacy.ts';

interface PageEntry {
  readonly title: string;
  readonly render: Page;
  /** The guarded route the page reads; whoami says which roles it accepts (as the route declares). Undefined: every operator role. */
  readonly route?: string;
}

const PAGES: Readonly<Record<string, PageEntry>> = {
  overview: { title: 'Overview', render: overview },
  privacy: { title: 'Privacy', render: privacy, route: '/v1/privacy' },
  data: { title: 'Data', render: data },
  fairness: { title: 'Fairness', render: fairness },
  governance: { title: 'Governance', render: governance, route: '/v1/governance' },
};

const main = (): HTMLElement => document.getElementById('main') as HTMLElement;
const pageName = (): string => location.pathname.replace(/^\/console\/?/, '').split('/')[0] || 'overview';

function show(...nodes: Node[]): void {
  main().replaceChildren(...nodes);
}

function signInForm(message?: string): void {
  const input = el('input', { id: 'token', type: 'password', autocomplete: 'off', placeholder: 'tsr_…', required: '' });
  const form = el('form', { id: 'sign-in' }, el('label', { for: 'token' }, 'Operator token (from `tessera tokens create`)'), input, el('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    void start();
  });
  show(el('h1', {}, 'Sign in'), ...(message ? [el('p', { class: 'error', 'data-testid': 'sign-in-error' }, message)] : []), form);
  document.getElementById('who')?.replaceChildren();
}

/** Whether the signed-in role may call `route` (as the route declares it; unknown routes: the API decides). */
function may(who: WhoAmI, route: string | undefined): boolean {
  const roles = route === undefined ? undefined : who.access[route];
  return roles === undefined || roles.includes(who.role);
}

/** A refusal the page shows without asking the API for what it would refuse (a 403 also logs a browser error). */
function forbidden(who: WhoAmI, route: string): ApiFailure {
  return new ApiFailure(403, 'TESSERA_ERR_FORBIDDEN', `role ${who.role} may not use GET ${route}; it needs one of: ${(who.access[route] ?? []).join(', ')}`);
}

function failurePage(e: unknown, who: WhoAmI | null): Node {
  if (e instanceof ApiFailure && e.status === 403) {
    return el('div', { class: 'refused', 'data-status': '403' }, el('h1', {}, '403 — not for your role'), el('p', {}, `Your token's role (${who?.role ?? '?'}) may not open this page.`), el('p', { class: 'reason' }, e.message));
  }
  if (e instanceof ApiFailure) return el('div', { class: 'refused', 'data-status': String(e.status) }, el('h1', {}, `${e.status} — ${e.code}`), el('p', {}, e.message));
  console.error(e);
  return el('div', { class: 'refused' }, el('h1', {}, 'Something went wrong'), el('p', {}, String(e)));
}

function nav(who: WhoAmI): void {
  const current = pageName();
  const links = Object.entries(PAGES)
    .filter(([, p]) => may(who, p.route))
    .map(([name, p]) => el('a', { href: `/console/${name}`, ...(name === current ? { 'aria-current': 'page' } : {}) }, p.title));
  document.getElementById('nav')?.replaceChildren(...links);
  const out = el('button', { type: 'button', id: 'sign-out' }, 'Sign out');
  out.addEventListener('click', () => {
    setToken(null);
    location.assign('/console/overview');
  });
  document.getElementById('who')?.replaceChildren(el('span', { 'data-testid': 'role' }, `${who.name} · ${who.role}`), out);
}

let live: AbortController | null = null;

async function start(): Promise<void> {
  if (token() === null) return signInForm();
  let who: WhoAmI;
  try {
    who = await getJson<WhoAmI>('/v1/whoami');
  } catch (e) {
    if (e instanceof ApiFailure && e.status === 401) {
      setToken(null);
      return signInForm('That token was not accepted (unknown or revoked).');
    }
    return show(failurePage(e, null));
  }
  nav(who);
  const name = pageName();
  const entry = PAGES[name];
  if (!entry) return show(el('div', { class: 'refused', 'data-status': '404' }, el('h1', {}, '404 — no such page'), el('p', {}, `There is no console page “${name}”.`)));
  document.title = `${entry.title} · Tessera console`;
  const ctx: PageContext = { who, params: new URLSearchParams(location.search) };
  let rendering = false;
  let again = false;
  const render = async (): Promise<void> => {
    if (rendering) {
      again = true;
      return;
    }
    rendering = true;
    try {
      if (entry.route !== undefined && !may(who, entry.route)) throw forbidden(who, entry.route);
      const node = await entry.render(ctx);
      // Keep open <details> open across live re-renders.
      const open = [...main().querySelectorAll('details[open] > summary')].map((s) => s.textContent);
      show(el('h1', {}, entry.title), node);
      for (const s of main().querySelectorAll('details > summary')) if (open.includes(s.textContent)) s.parentElement?.setAttribute('open', '');
      main().setAttribute('data-loaded', String(Date.now()));
    } catch (e) {
      show(failurePage(e, who));
      main().setAttribute('data-loaded', String(Date.now()));
      if (e instanceof ApiFailure && e.status === 403) return;
    } finally {
      rendering = false;
    }
    if (again) {
      again = false;
      await render();
    }
  };
  live?.abort();
  live = new AbortController();
  follow(() => void render(), live.signal);
}

void start();
