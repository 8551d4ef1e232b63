/**
 * A child process for governance/state/lock.test.ts: takes the writer lock of the state directory argv[2], prints
 * `locked` (or `refused <code>` and exits 3 when another process holds it), then idles until killed.
 */
import { lockStateDirectory } from '../../governance/state/lock.ts';
import { TesseraError } from '../../protocol/errors.ts';

const stateDir = process.argv[2];
if (stateDir === undefined) throw new Error('usage: lock-state-child STATE');
try {
  lockStateDirectory(stateDir, 'lock-state-child');
  process.stdout.write('locked\n');
  setInterval(() => undefined, 60_000);
} catch (e) {
  process.stdout.write(`refused ${e instanceof TesseraError ? e.code : String(e)}\n`);
  process.exitCode = 3;
}
