import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type ChangeType, Informer } from '../../src/kube/informer.ts';
import { collectionPath, objectPath, type ResourceType } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { restClient, uniqueName, waitFor } from './support.ts';

const configMapSchema = z.object({ metadata: z.object({ resourceVersion: z.string() }) });
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

  it('advances its resourceVersion on the bookmarks the apiserver sends and hands none to a handler', async () => {
    const warnings: string[] = [];
    const seen: string[] = [];
    // A label no ConfigMap carries: every event this watch receives is a bookmark.
    const informer = new Informer(client, {
      resource: configMaps,
      labelSelector: `test=${label}-none`,
      log: pino({ level: 'warn' }, { write: (message: string) => warnings.push(message) }),
      onChange: (_change, object) => seen.push(object.metadata.name),
      // The apiserver sends a bookmark two seconds before a watch's deadline, not only once a minute.
      watchTimeoutSeconds: () => 5,
    });
    await informer.start();
    try {
      // A change outside the selector: only a bookmark can bring its resourceVersion to this watch.
      const other = configMapSchema.parse(
        await client.request('POST', collectionPath(configMaps, 'default'), {
          body: { metadata: { name: `${label}-unselected`, labels: { test: label } } },
        }),
      );
      const target = BigInt(other.metadata.resourceVersion);
      // etcd's resourceVersions are integers that only grow, so the test may compare them. Alone this
      // takes 2-3 s; with the whole suite on two cores the apiserver once sent no bookmark past the
      // ConfigMap for 20 s, so the wait covers the minute between the apiserver's periodic bookmarks.
      await waitFor(
        'a bookmark at or past the unselected ConfigMap',
        async () => (BigInt(informer.resourceVersion || '0') >= target ? true : undefined),
        75_000,
      );
      expect(seen).toEqual([]);
      expect(warnings).toEqual([]);
    } finally {
      await informer.stop();
      await client.request('DELETE', objectPath(configMaps, `${label}-unselected`, 'default'));
    }
  });
});
