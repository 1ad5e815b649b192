import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { KubeApiError } from '../../src/kube/errors.ts';
import { type ChangeType, Informer, parseWatchEvent } from '../../src/kube/informer.ts';
import { coreResources } from '../../src/kube/resources.ts';
import { localApiserver } from '../fixtures/local-apiserver.ts';

const line = (type: string, object: unknown) => JSON.stringify({ type, object });
const configMap = (name: string, resourceVersion: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'apps', resourceVersion },
});

describe('a line of a watch', () => {
  it('is a bookmark carrying only its resourceVersion', () => {
    expect(
      parseWatchEvent(
        line('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '42' } }),
      ),
    ).toEqual({ type: 'bookmark', resourceVersion: '42' });
  });

  it('is a change of an object, by the event type', () => {
    expect(parseWatchEvent(line('ADDED', configMap('a', '1')))).toMatchObject({
      type: 'change',
      change: 'added',
    });
    expect(parseWatchEvent(line('MODIFIED', configMap('a', '2')))).toMatchObject({ change: 'updated' });
    expect(parseWatchEvent(line('DELETED', configMap('a', '3')))).toMatchObject({ change: 'deleted' });
  });

  it('is invalid when an object has no name or a bookmark no resourceVersion', () => {
    expect(parseWatchEvent(line('ADDED', { metadata: { resourceVersion: '1' } }))).toEqual({
      type: 'invalid',
    });
    expect(parseWatchEvent(line('BOOKMARK', { metadata: {} }))).toEqual({ type: 'invalid' });
  });

  it('throws an ERROR event as the status it carries', () => {
    expect(() => parseWatchEvent(line('ERROR', { code: 410, message: 'too old resource version' }))).toThrow(
      KubeApiError,
    );
  });
});

describe('the informer on a bookmark', () => {
  it('resumes the next watch from it, hands it to no handler and logs no warning', async () => {
    const watchedFrom: string[] = [];
    const server = await localApiserver((request, response) => {
      const query = new URL(request.url ?? '/', 'http://local').searchParams;
      response.writeHead(200, { 'content-type': 'application/json' });
      if (query.get('watch') !== 'true') {
        return response.end(
          JSON.stringify({ metadata: { resourceVersion: '10' }, items: [configMap('a', '9')] }),
        );
      }
      watchedFrom.push(query.get('resourceVersion') ?? '');
      if (watchedFrom.length === 1) {
        return response.end(
          `${line('BOOKMARK', { kind: 'ConfigMap', metadata: { resourceVersion: '15' } })}\n`,
        );
      }
      if (watchedFrom.length === 2) return response.end(`${line('ADDED', configMap('b', '16'))}\n`);
      // Later watches stay open until the informer stops.
      response.write('');
    });
    const warnings: string[] = [];
    const seen: { change: ChangeType; name: string }[] = [];
    const informer = new Informer(server.client, {
      resource: coreResources.configMaps,
      log: pino({ level: 'warn' }, { write: (message: string) => warnings.push(message) }),
      onChange: (change, object) => seen.push({ change, name: object.metadata.name }),
    });
    try {
      await informer.start();
      await vi.waitFor(() => expect(watchedFrom.length).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
      expect(watchedFrom).toEqual(['10', '15', '16']);
      expect(informer.resourceVersion).toBe('16');
      expect(seen).toEqual([
        { change: 'added', name: 'a' },
        { change: 'added', name: 'b' },
      ]);
      expect(warnings).toEqual([]);
    } finally {
      await informer.stop();
      await server.close();
    }
  });
});
