import { describe, expect, it } from 'vitest';
import { cpuPerRenewalMs, parseCpuTicks, parseMemory, percentOfCore } from '../../bench/process-stats.ts';

/** A /proc/<pid>/stat line whose utime is 1234 and stime 567 ticks, with a command name that has spaces. */
const stat =
  '4242 (node (main) x) S 1 4242 4242 0 -1 4194560 51234 0 12 0 1234 567 0 0 20 0 11 0 1167267 1234567680 60000 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0 0 0';

describe("the bench's reading of the operator's process figures", () => {
  it('sums utime and stime, counting fields after the command name however it is spelt', () => {
    expect(parseCpuTicks(stat)).toBe(1234 + 567);
  });

  it('refuses a stat line without its CPU fields', () => {
    expect(() => parseCpuTicks('4242 (node) S 1')).toThrow(/utime and stime/);
  });

  it('reads VmRSS and VmHWM in MiB, and names a field the status lacks', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  441344 kB\nVmRSS:\t  204800 kB\n';
    expect(parseMemory(status)).toEqual({ rssMiB: 200, peakMiB: 431 });
    expect(() => parseMemory('VmRSS:\t 204800 kB\n')).toThrow(/VmHWM/);
  });

  it('gives CPU over a window as a percentage of one core', () => {
    expect(percentOfCore(540, 60_000)).toBeCloseTo(0.9);
    expect(percentOfCore(30_000, 30_000)).toBe(100);
  });

  it('shares what renewals used beyond the idle rate among them', () => {
    // 30 s at an idle 1 % is 300 ms; the other 900 ms went to 120 renewals.
    expect(cpuPerRenewalMs({ cpuMs: 1_200, wallMs: 30_000, renewals: 120 }, 1)).toBeCloseTo(7.5);
    expect(cpuPerRenewalMs({ cpuMs: 100, wallMs: 30_000, renewals: 10 }, 1)).toBe(0);
    expect(cpuPerRenewalMs({ cpuMs: 1_200, wallMs: 30_000, renewals: 0 }, 1)).toBeUndefined();
  });
});
