/**
 * Child process of test/review8-sweep-parallel.test.ts: a sweep run pool one thread wide (simulations/sweep/run-pool.ts)
 * given a run that exhausts its thread's heap (start this process with a small --max-old-space-size, which every
 * isolate of the process gets) and then a light run. Prints one JSON line: how each run ended.
 * Arguments: <data dir> <output dir>.
 */
import { join } from 'node:path';
import { isTesseraError } from '../../protocol/errors.ts';
import { SweepRunPool } from '../../simulations/sweep/run-pool.ts';

const [dataDir, out] = process.argv.slice(2);
if (dataDir === undefined || out === undefined) throw new Error('usage: sweep-pool-child.ts <data dir> <output dir>');
const ended = (p: Promise<{ status: string }>): Promise<string> => p.then((f) => `finished: ${f.status}`, (e: unknown) => (isTesseraError(e) ? `${e.code}: ${e.message}` : `uncoded: ${String(e)}`));
const pool = new SweepRunPool(1, { logLevel: 'silent', backend: 'wasm' });
// Queued behind the heavy run on the pool's only thread: it can run only on the thread that replaces the dead one.
const heavy = ended(pool.run({ dataset: 'adult', dataDir, rounds: 1, checkContract: false, clients: 3000 }, 1, join(out, 'heavy'), 'the heavy run'));
const light = ended(pool.run({ dataset: 'heart', dataDir, rounds: 1 }, 1, join(out, 'light'), 'the light run'));
process.stdout.write(`${JSON.stringify({ heavy: await heavy, light: await light })}\n`);
await pool.close();
