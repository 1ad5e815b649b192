import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Informer, watchSilenceMs } from '../../src/kube/informer.ts';
import { coreResources } from '../../src/kube/resources.ts';
import { localApiserver } from '../fixtures/local-apiserver.ts';

const configMap = (name: string, resourceVersion: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps', resourceVersion },
});

describe('how long a watch may be silent', () => {
  it('is the minute between the bookmarks the apiserver sends, and a margin, for a long watch', () => {
    expect(watchSilenceMs(300)).toBe(90_000);
  });

  it('is the watch itself, and a margin, when it ends sooner than the next bookmark', () => {
    expect(watchSilenceMs(20)).toBe(50_000);
  });
});

describe('the informer on a watch that goes silent', () => {
  it('ends it once nothing came within the bound and watches again from the last resourceVersion', async () => {
    const SILENCE_MS = 400;
    const watches: { resourceVersion: string; at: number }[] = [];
    const server = await localApiserver((request, response) => {
      const query = new URL(request.url ?? '/', 'http://local').searchParams;
      response.writeHead(200, { 'content-type': 'application/json' });
      if (query.get('watch') !== 'true') {
        return response.end(JSON.stringify({ metadata: { resourceVersion: '10' }, items: [] }));
      }
      watches.push({ resourceVersion: query.get('resourceVersion') ?? '', at: performance.now() });
      // An event, then the stream stays open and says nothing more, as a stalled connection does.
      if (watches.length === 1) {
        response.write(`${JSON.stringify({ type: 'ADDED', object: configMap('a', '11') })}\n`);
      } else response.flushHeaders();
    });
    const seen: string[] = [];
    const informer = new Informer(server.client, {
      resource: coreResources.configMaps,
      log: pino({ level: 'silent' }),
      onChange: (_change, object) => seen.push(object.metadata.name),
      // The server would end the watch only after an hour: the silence bound alone ends it sooner.
      watchTimeoutSeconds: () => 3_600,
      silenceMs: SILENCE_MS,
      backoff: { initialMs: 10, maxMs: 10 },
    });
    try {
      await informer.start();
      await expect.poll(() => watches.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
      const [first, second] = watches;
      expect(first?.resourceVersion).toBe('10');
      expect(second?.resourceVersion).toBe('11');
      const gap = (second?.at ?? 0) - (first?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(SILENCE_MS - 50);
      expect(gap).toBeLessThan(SILENCE_MS + 1_000);
      expect(seen).toEqual(['a']);
    } finally {
      await informer.stop();
      await server.close();
    }
  });
});
