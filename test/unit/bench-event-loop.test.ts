import { describe, expect, it } from 'vitest';
import { parseEventLoopDelay } from '../fixtures/event-loop-delay.ts';

const exposition = [
  '# HELP nodejs_eventloop_lag_p50_seconds The 50th percentile of the recorded event loop delays.',
  '# TYPE nodejs_eventloop_lag_p50_seconds gauge',
  'nodejs_eventloop_lag_p50_seconds 0.010125',
  'nodejs_eventloop_lag_p90_seconds 0.011',
  'nodejs_eventloop_lag_p99_seconds 0.04',
  'nodejs_eventloop_lag_max_seconds 2.5',
  'nodejs_eventloop_lag_seconds 0.3',
].join('\n');

describe("the bench's reading of the operator's event-loop delay", () => {
  it('takes p50, p99 and max from their own gauges, in milliseconds', () => {
    const delay = parseEventLoopDelay(exposition);
    expect(delay.p50).toBeCloseTo(10.125);
    expect(delay.p99).toBeCloseTo(40);
    expect(delay.max).toBeCloseTo(2500);
  });

  it('names a gauge the metrics lack rather than reporting a figure it did not read', () => {
    const withoutMax = exposition.replace(/^nodejs_eventloop_lag_max_seconds.*$/m, '');
    expect(() => parseEventLoopDelay(withoutMax)).toThrow(/nodejs_eventloop_lag_max_seconds/);
  });
});
