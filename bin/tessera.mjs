#!/usr/bin/env node
// Entry point for `npx tessera`: runs the compiled CLI that bin/compiled-cli.mjs keeps in step with the sources
// (built on the first run after any change; see there why stale code never runs), or the TypeScript sources
// through tsx's loader when no fresh build can be had.
import { pathToFileURL } from 'node:url';
import { compiledMain } from './compiled-cli.mjs';

const main = await compiledMain();
if (main !== null) {
  await import(pathToFileURL(main).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
