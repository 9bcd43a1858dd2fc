/* CPU time a process has used, read from /proc (Linux): what a request costs the server, whatever else runs on the machine. */
import { readFileSync } from 'node:fs';

// Linux reports utime and stime in clock ticks of 1/100 s on every architecture Node supports.
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds the process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/** User and system (kernel, for it) CPU seconds the process `pid` has used so far. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { user: utime / TICKS_PER_SECOND, system: stime / TICKS_PER_SECOND };
}
