/// <reference lib="dom" />
/** What every page receives: who is signed in and the page's query parameters. */
import type { WhoAmI } from '../schemas.ts';

export interface PageContext {
  readonly who: WhoAmI;
  readonly params: URLSearchParams;
}

export type Page = (ctx: PageContext) => Promise<Node>;
