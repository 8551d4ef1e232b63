/**
 * One writer per state directory: a second coordinator (here: a second process) is refused with a coded error
 * naming the holder, and a holder killed with SIGKILL leaves no stale lock behind (the OS releases it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runKillableChild } from '../../test/support/killable-child.ts';
import { thrownTesseraError } from '../../test/support/thrown.ts';
import { lockStateDirectory } from './lock.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
  dirs.push(d);
  return d;
};
const CHILD = 'test/support/lock-state-child.ts';

describe('state directory writer lock', () => {
  it('refuses a second holder in another process, naming this process', async () => {
    const state = fresh();
    const lock = lockStateDirectory(state, 'test holder');
    let line = '';
    const outcome = await runKillableChild({ script: CHILD, args: [state], onLine: (l) => ((line = l), false), killJitterMs: 0, timeoutMs: 60_000 });
    expect(outcome.code).toBe(3);
    expect(line).toBe('refused TESSERA_ERR_STATE_LOCKED');
    // In-process too, with the holder named in the message.
    const err = thrownTesseraError(() => lockStateDirectory(state, 'second', { waitMs: 0 }));
    expect(err.code).toBe('TESSERA_ERR_STATE_LOCKED');
    expect(err.message).toContain(`process ${process.pid}`);
    expect(err.message).toContain('test holder');
    lock.release();
    lockStateDirectory(state, 'after release').release();
  });

  it('a holder killed with SIGKILL leaves the directory free', async () => {
    const state = fresh();
    const outcome = await runKillableChild({ script: CHILD, args: [state], onLine: (l) => l === 'locked', killJitterMs: 0, timeoutMs: 60_000 });
    expect(outcome.signal).toBe('SIGKILL');
    // No file is deleted by anyone: the OS released the dead holder's lock (the default wait covers the moment
    // between the npx wrapper's exit and the kernel reaping the node grandchild that held it).
    const lock = lockStateDirectory(state, 'after crash');
    expect(lock.holder.pid).toBe(process.pid);
    lock.release();
  });
});
