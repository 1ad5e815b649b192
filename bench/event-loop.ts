import { Agent, fetch } from 'undici';
import type { EventLoopDelay } from '../test/fixtures/event-loop-delay.ts';
import { ms } from './stats.ts';

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
