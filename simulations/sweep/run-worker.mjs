// Entry of a sweep's run thread when Tessera runs from its TypeScript sources (tsx, vitest): a worker thread does
// not inherit the parent's module hooks, so it registers tsx's loader itself (as simulations/training-worker.mjs
// does), then loads the worker. The compiled CLI (bin/compiled-cli.mjs) starts its own compiled copy instead.
import { register } from 'tsx/esm/api';

register();
await import('./run-worker.ts');
