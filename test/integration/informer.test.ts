import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChangeType, Informer } from '../../src/kube/informer.ts';
import { collectionPath, objectPath, type ResourceType } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { restClient, uniqueName, waitFor } from './support.ts';

const configMaps: ResourceType = { group: '', version: 'v1', plural: 'configmaps', namespaced: true };

describe('the list/watch cache', () => {
  let client: RestClient;
  const label = uniqueName('informer');

  beforeAll(async () => {
    client = await restClient();
  });
  afterAll(async () => {
    await client.request('DELETE', collectionPath(configMaps, 'default'), {
      query: { labelSelector: `test=${label}` },
    });
    await client.close();
  });

  it('lists what exists, then delivers every change across watches the server keeps closing', async () => {
    const create = (name: string) =>
      client.request('POST', collectionPath(configMaps, 'default'), {
        body: { metadata: { name, labels: { test: label } }, data: { v: '1' } },
      });
    await create(`${label}-before`);

    const seen: { change: ChangeType; name: string }[] = [];
    let watches = 0;
    const informer = new Informer(client, {
      resource: configMaps,
      labelSelector: `test=${label}`,
      log: pino({ level: 'silent' }),
      onChange: (change, object) => seen.push({ change, name: object.metadata.name }),
      watchTimeoutSeconds: () => {
        watches += 1;
        return 1;
      },
    });
    await informer.start();
    try {
      expect(informer.hasSynced).toBe(true);
      expect(informer.get(`default/${label}-before`)?.metadata.name).toBe(`${label}-before`);
      expect(seen).toEqual([{ change: 'added', name: `${label}-before` }]);

      // Let the apiserver end the watch a few times with nothing to say.
      await sleep(3_500);
      expect(watches).toBeGreaterThanOrEqual(3);

      const name = `${label}-after`;
      await create(name);
      await waitFor('the added event', async () =>
        seen.some((e) => e.change === 'added' && e.name === name) ? true : undefined,
      );
      await client.request('PATCH', objectPath(configMaps, name, 'default'), {
        contentType: 'application/merge-patch+json',
        body: { data: { v: '2' } },
      });
      await waitFor('the updated event', async () =>
        seen.some((e) => e.change === 'updated' && e.name === name) ? true : undefined,
      );
      await client.request('DELETE', objectPath(configMaps, name, 'default'));
      await waitFor('the deleted event', async () =>
        seen.some((e) => e.change === 'deleted' && e.name === name) ? true : undefined,
      );
      expect(informer.get(`default/${name}`)).toBeUndefined();
      expect(informer.list().map((object) => object.metadata.name)).toEqual([`${label}-before`]);
    } finally {
      await informer.stop();
    }
  });
});
