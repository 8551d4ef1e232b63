/// <reference lib="dom" />
/**
 * Element helpers for the console's pages: build DOM nodes with text content only. No HTML strings are ever
 * parsed (no innerHTML), so a value from the API — an organisation name, a reason — can never become markup.
 */
export type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(typeof c === 'number' ? String(c) : c);
  return node;
}

/** A table with a header row; cells are text or nodes. */
export function table(headers: readonly string[], rows: readonly (readonly Child[])[], attrs: Record<string, string> = {}): HTMLTableElement {
  return el('table', attrs, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return el('section', {}, el('h2', {}, title), ...children);
}

/** A number to 4 significant digits ('—' for null). */
export function num(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : String(Number(x.toPrecision(digits)));
}

export function short(hash: string | null | undefined): string {
  return hash ? `${hash.slice(0, 12)}…` : '—';
}

/** A status badge: ok (green), warn (amber) or bad (red). */
export function badge(text: string, tone: 'ok' | 'warn' | 'bad' | 'info'): HTMLElement {
  return el('span', { class: `badge ${tone}` }, text);
}
