// Preloaded (`node --import`) into a process the simulate bench times: when the process exits it writes the CPU
// time of the whole process (every thread, the finished worker threads included) and of its main thread alone
// (Linux: /proc/self/task/<pid>/stat, in clock ticks of 10 ms) to the file named by TESSERA_BENCH_CPU_FILE. The
// main thread's share is the figure that says whether the serial part of a parallel simulation fell: the workers
// train in parallel, everything else waits for the main thread.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

const out = process.env.TESSERA_BENCH_CPU_FILE;
const TICK_MS = 10;

function mainThreadMs() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime and
    // stime are fields 14 and 15 of the whole line, 12 and 13 of the rest.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {
    return null;
  }
}

// Worker threads inherit the --import: only the main thread reports.
if (out !== undefined && isMainThread) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    writeFileSync(out, JSON.stringify({ processCpuMs: Math.round((u.user + u.system) / 1000), mainThreadCpuMs: mainThreadMs() }));
  });
}
