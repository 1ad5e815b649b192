import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Informer } from '../src/kube/informer.ts';
import { collectionPath, type ResourceType } from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { ms, percentile } from './stats.ts';

const configMaps: ResourceType = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };

export interface WatchLatency {
  busySamples: number[];
  afterQuiet: { quietSeconds: number; delayMs: number };
}

/**
 * Time from sending a create (so including the apiserver's write) to the cache's handler seeing it: on a busy watch, and after a quiet
 * spell longer than @kubernetes/client-node's 30 s watch inactivity abort.
 */
export async function measureWatchLatency(
  client: RestClient,
  samples = 50,
  quietSeconds = 35,
): Promise<WatchLatency> {
  const label = `bench-${Date.now()}`;
  const waiting = new Map<string, (at: number) => void>();
  const informer = new Informer(client, {
    resource: configMaps,
    labelSelector: `bench=${label}`,
    log: pino({ level: 'silent' }),
    onChange: (change, object) => {
      if (change === 'added') waiting.get(object.metadata.name)?.(performance.now());
    },
  });
  await informer.start();
  const createAndTime = async (name: string): Promise<number> => {
    const seen = new Promise<number>((resolve) => waiting.set(name, resolve));
    const sent = performance.now();
    await client.request('POST', collectionPath(configMaps, 'default'), {
      body: { metadata: { name, labels: { bench: label } } },
    });
    return (await seen) - sent;
  };
  try {
    const busySamples: number[] = [];
    for (let i = 0; i < samples; i += 1) busySamples.push(await createAndTime(`${label}-${i}`));
    await sleep(quietSeconds * 1000);
    const delayMs = await createAndTime(`${label}-quiet`);
    return { busySamples, afterQuiet: { quietSeconds, delayMs } };
  } finally {
    await informer.stop();
    await client.request('DELETE', collectionPath(configMaps, 'default'), {
      query: { labelSelector: `bench=${label}` },
    });
  }
}

export function reportWatchLatency({ busySamples, afterQuiet }: WatchLatency): string[] {
  return [
    `create sent to watch event handled, busy watch (${busySamples.length} creates): p50 ${ms(percentile(busySamples, 50))}, p99 ${ms(percentile(busySamples, 99))}`,
    `create sent to watch event handled, after ${afterQuiet.quietSeconds}s of silence: ${ms(afterQuiet.delayMs)}`,
  ];
}
