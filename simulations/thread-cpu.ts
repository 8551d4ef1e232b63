/**
 * The calling thread's own CPU time, for the figures a parallel simulation reports about its worker threads
 * (simulations/training-pool.ts). Node's process.cpuUsage() counts every thread of the process; Linux keeps each
 * thread's utime and stime in /proc/thread-self/stat (proc(5): fields 14 and 15, in clock ticks of 1/USER_HZ s —
 * USER_HZ is 100 on Linux, as bench/cpu-probe.mjs also assumes for the main thread). Elsewhere: null.
 */
import { readFileSync } from 'node:fs';

const TICK_MS = 10;

export function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // The command name (field 2) may hold spaces: split after its closing parenthesis, where field 3 starts.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ticks) ? ticks * TICK_MS : null;
  } catch {
    return null;
  }
}
