#!/usr/bin/env node
// Entry point for `npx tessera`: runs the TypeScript CLI through tsx's ESM loader, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
