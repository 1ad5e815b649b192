import { Agent, fetch } from 'undici';
import { ms } from './stats.ts';

/**
 * The operator's event-loop delay over a window, in milliseconds. prom-client's default metrics read a
 * `perf_hooks.monitorEventLoopDelay` histogram at each scrape and then reset it, so two scrapes bound the
 * window. The histogram samples every 10 ms (prom-client's default) and each sample includes that
 * interval: an idle loop reads about 10 ms.
 */
export interface EventLoopDelay {
  p50: number;
  p99: number;
  max: number;
}

const GAUGES = {
  p50: 'nodejs_eventloop_lag_p50_seconds',
  p99: 'nodejs_eventloop_lag_p99_seconds',
  max: 'nodejs_eventloop_lag_max_seconds',
} as const;

/** The figures from a Prometheus text exposition; an error names any gauge it lacks. */
export function parseEventLoopDelay(exposition: string): EventLoopDelay {
  const value = (name: string) => {
    const line = exposition.split('\n').find((candidate) => /^\S+/.exec(candidate)?.[0] === name);
    const seconds = Number(line?.slice(name.length).trim());
    if (line === undefined || !Number.isFinite(seconds))
      throw new Error(`the operator's metrics have no ${name} value`);
    return seconds * 1000;
  };
  return { p50: value(GAUGES.p50), p99: value(GAUGES.p99), max: value(GAUGES.max) };
}

/** The operator serves /metrics over HTTPS with a certificate it made itself at start. */
const selfSigned = new Agent({ connect: { rejectUnauthorized: false } });

/** Scrapes `/metrics` with a bearer token, as a Prometheus allowed to read them would. */
export async function scrapeMetrics(url: string, token: string): Promise<string> {
  const response = await fetch(url, {
    dispatcher: selfSigned,
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 200)}`);
  return text;
}

export const formatEventLoopDelay = ({ p50, p99, max }: EventLoopDelay): string =>
  `p50 ${ms(p50)}, p99 ${ms(p99)}, max ${ms(max)}`;
