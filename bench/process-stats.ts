import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Resident memory of a process from /proc/<pid>/status: now (VmRSS) and its peak (VmHWM), in MiB. */
export function parseMemory(status: string): { rssMiB: number; peakMiB: number } {
  const kib = (field: string) => {
    const value = Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]);
    if (!Number.isFinite(value)) throw new Error(`/proc/<pid>/status has no ${field}`);
    return value / 1024;
  };
  return { rssMiB: kib('VmRSS'), peakMiB: kib('VmHWM') };
}

/**
 * CPU time a process has used, user plus system, in clock ticks, from /proc/<pid>/stat. The command
 * name (field 2) may hold spaces and parentheses, so fields are counted from its closing parenthesis.
 */
export function parseCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line; the rest starts at field 3.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks))
    throw new Error(`/proc/<pid>/stat has no utime and stime: ${stat.slice(0, 80)}`);
  return ticks;
}

/** CPU time used over a wall-clock window, as a percentage of one core. */
export const percentOfCore = (cpuMs: number, wallMs: number): number => (cpuMs / wallMs) * 100;

/**
 * CPU per renewal over a window of renewals: what the window used beyond the idle rate measured
 * before, shared among the renewals (undefined when there were none).
 */
export function cpuPerRenewalMs(
  window: { cpuMs: number; wallMs: number; renewals: number },
  idlePercentOfCore: number,
): number | undefined {
  if (window.renewals <= 0) return undefined;
  const idleMs = (idlePercentOfCore / 100) * window.wallMs;
  return Math.max(0, window.cpuMs - idleMs) / window.renewals;
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** A process's memory, and its CPU time in milliseconds, as /proc has them now. */
export async function processStats(pid: number | undefined): Promise<{
  rssMiB: number;
  peakMiB: number;
  cpuMs: number;
}> {
  const [status, stat] = await Promise.all([
    readFile(`/proc/${pid}/status`, 'utf8'),
    readFile(`/proc/${pid}/stat`, 'utf8'),
  ]);
  return { ...parseMemory(status), cpuMs: (parseCpuTicks(stat) / clockTicks) * 1000 };
}
