/**
 * A child process for test/state-concurrent-open.test.ts: waits until the wall-clock instant given in argv[3]
 * (so several children open the fresh database at the same moment), opens the state directory argv[2] and
 * grants one consent (argv[4] names the organisation), which writes the consent table and the audit log.
 * Prints `ok` and exits 0, or prints the error and exits 1.
 */
import { grantConsent } from '../../governance/consent/store.ts';
import { openDatabase } from '../../governance/state/database.ts';

const [stateDir, startAt, org] = process.argv.slice(2);
if (stateDir === undefined || startAt === undefined || org === undefined) throw new Error('usage: open-state-child STATE START_AT_MS ORG');
while (Date.now() < Number(startAt)) {
  // Busy-wait for the common start instant: a timer would add scheduling jitter and weaken the race.
}
try {
  const db = openDatabase(stateDir);
  grantConsent(db, { organisation: org, dataset: 'heart', purposes: ['research'], expiresAt: '2030-01-01', maxEpsilon: 5, retentionDays: 30, actor: 'test' });
  db.close();
  process.stdout.write('ok\n');
} catch (e) {
  process.stdout.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
