import { METRIC_NAMES } from '../src/observability/metrics.ts';

/** The operator's Kubernetes API requests by "VERB resource" (codes summed), and its SVIDs issued. */
export interface RequestTally {
  requests: Map<string, number>;
  /** Requests answered with anything but 2xx, by "VERB resource code". */
  failed: Map<string, number>;
  svidsIssued: number;
}

const SAMPLE = /^(\w+)\{([^}]*)\}\s+(\S+)$/;
const labelsOf = (text: string): Map<string, string> =>
  new Map([...text.matchAll(/(\w+)="([^"]*)"/g)].map(([, name = '', value = '']) => [name, value]));
const add = (map: Map<string, number>, key: string, value: number) =>
  map.set(key, (map.get(key) ?? 0) + value);

/** The request and issuance counters of a Prometheus text exposition. */
export function tallyRequests(exposition: string): RequestTally {
  const tally: RequestTally = { requests: new Map(), failed: new Map(), svidsIssued: 0 };
  for (const line of exposition.split('\n')) {
    const [, name, labelText = '', valueText] = SAMPLE.exec(line) ?? [];
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    if (name === METRIC_NAMES.svidsIssued) tally.svidsIssued += value;
    if (name !== METRIC_NAMES.apiRequests) continue;
    const labels = labelsOf(labelText);
    const key = `${labels.get('verb')} ${labels.get('resource')}`;
    add(tally.requests, key, value);
    if (labels.get('code') !== '2xx') add(tally.failed, `${key} ${labels.get('code')}`, value);
  }
  return tally;
}

const subtract = (after: Map<string, number>, before: Map<string, number>) =>
  new Map(
    [...after]
      .map(([key, value]): [string, number] => [key, value - (before.get(key) ?? 0)])
      .filter(([, value]) => value > 0),
  );

/** What was sent and issued between two tallies. */
export const between = (before: RequestTally, after: RequestTally): RequestTally => ({
  requests: subtract(after.requests, before.requests),
  failed: subtract(after.failed, before.failed),
  svidsIssued: after.svidsIssued - before.svidsIssued,
});

export const totalOf = (map: Map<string, number>): number => [...map.values()].reduce((a, b) => a + b, 0);

/** Events are reported apart: they are best-effort records, not the work of issuing. */
const isEvent = (key: string) => key.endsWith(' events');

const listed = (entries: [string, number][], format: (value: number) => string) =>
  entries
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([key, value]) => `${key} ${format(value)}`)
    .join(', ') || 'none';

/** Report lines: requests per issued SVID by kind, Events apart, failures, and the request rate. */
export function reportRequests(label: string, tally: RequestTally, rate: { requests: number; ms: number }) {
  const perSvid = (value: number) => (value / Math.max(1, tally.svidsIssued)).toFixed(2);
  const entries = [...tally.requests];
  return [
    `operator API requests over ${label}: ${totalOf(tally.requests)} for ${tally.svidsIssued} SVIDs issued; ${rate.requests} until the last Secret was ready, ${((rate.requests * 1000) / rate.ms).toFixed(0)} requests/s`,
    `  per issued SVID: ${listed(
      entries.filter(([key]) => !isEvent(key)),
      perSvid,
    )}`,
    `  Events per issued SVID: ${listed(
      entries.filter(([key]) => isEvent(key)),
      perSvid,
    )}`,
    ...(tally.failed.size > 0 ? [`  answered other than 2xx: ${listed([...tally.failed], String)}`] : []),
  ];
}
