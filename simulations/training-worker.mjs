// Entry of a training worker thread when Tessera runs from its TypeScript sources (tsx, vitest): a worker thread
// does not inherit the parent's module hooks, so it registers tsx's loader itself, as bin/tessera.mjs does, then
// loads the worker. The compiled CLI (bin/compiled-cli.mjs) starts its own compiled copy of the worker instead.
import { register } from 'tsx/esm/api';

register();
await import('./training-worker.ts');
