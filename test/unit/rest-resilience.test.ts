import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ApiRequest } from '../../src/kube/api-request.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { localApiserver } from '../fixtures/local-apiserver.ts';

const ok = (response: ServerResponse, body: unknown = { kind: 'Secret' }) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

const unavailable = (response: ServerResponse) => {
  response.writeHead(503, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ reason: 'ServiceUnavailable', message: 'etcd is slow' }));
};

describe('the REST client on a transient failure', () => {
  it('sends a GET again after 503s, with backoff, and returns the answer that follows', async () => {
    const seen: ApiRequest[] = [];
    let answered = 0;
    const server = await localApiserver(
      (_request, response) => {
        answered += 1;
        if (answered <= 2) return unavailable(response);
        ok(response);
      },
      { onRequest: (request) => seen.push(request) },
    );
    try {
      const started = performance.now();
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets/web')).resolves.toEqual({
        kind: 'Secret',
      });
      // Two waits of at least 100 ms and 200 ms: the backoff's lower bounds.
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(seen.map((request) => request.code)).toEqual(['5xx', '5xx', '2xx']);
    } finally {
      await server.close();
    }
  });

  it('sends a GET again when the connection is reset under it', async () => {
    let answered = 0;
    const server = await localApiserver((request, response) => {
      answered += 1;
      if (answered === 1) return request.socket.destroy();
      ok(response);
    });
    try {
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets/web')).resolves.toEqual({
        kind: 'Secret',
      });
      expect(answered).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('sends a GET again that timed out, and a second answer in time is returned', async () => {
    let answered = 0;
    const server = await localApiserver(
      (_request, response) => {
        answered += 1;
        // The first is never answered.
        if (answered > 1) ok(response);
      },
      { requestTimeoutMs: 200 },
    );
    try {
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets/web')).resolves.toEqual({
        kind: 'Secret',
      });
      expect(answered).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('sends a server-side apply again after a reset: applying twice is applying once', async () => {
    let answered = 0;
    const server = await localApiserver((request, response) => {
      answered += 1;
      if (answered === 1) return request.socket.destroy();
      ok(response);
    });
    try {
      await server.client.request('PATCH', '/api/v1/namespaces/apps/secrets/web', {
        contentType: 'application/apply-patch+yaml',
        body: { kind: 'Secret' },
      });
      expect(answered).toBe(2);
    } finally {
      await server.close();
    }
  });

  it.each([
    ['POST', '/api/v1/namespaces/apps/secrets', undefined],
    ['PUT', '/api/v1/namespaces/apps/secrets/web', undefined],
    ['DELETE', '/api/v1/namespaces/apps/secrets/web', undefined],
    ['PATCH', '/api/v1/namespaces/apps/secrets/web', 'application/json-patch+json'],
  ])('never sends a %s that may have landed again (%s)', async (method, path, contentType) => {
    let answered = 0;
    const server = await localApiserver((_request, response) => {
      answered += 1;
      unavailable(response);
    });
    try {
      const error = await server.client
        .request(method, path, { contentType, body: {} })
        .catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(KubeApiError);
      expect(answered).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('gives up after its retries and throws the last failure', async () => {
    let answered = 0;
    const server = await localApiserver(
      (_request, response) => {
        answered += 1;
        unavailable(response);
      },
      { transientRetries: 2 },
    );
    try {
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets/web')).rejects.toThrow(
        /etcd is slow/,
      );
      expect(answered).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('does not send again a 404: the answer will not change', async () => {
    let answered = 0;
    const server = await localApiserver((_request, response) => {
      answered += 1;
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ reason: 'NotFound', message: 'not found' }));
    });
    try {
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets/web')).rejects.toThrow(
        KubeApiError,
      );
      expect(answered).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe("the REST client's watches", () => {
  it('never take the connections requests need: with more watches open than the pool has, a request is answered', async () => {
    const CONNECTIONS = 2;
    let watching = 0;
    const server = await localApiserver(
      (request, response) => {
        if (request.url?.includes('watch=true')) {
          watching += 1;
          // Headers and nothing else, as a quiet watch holds its connection for minutes.
          response.writeHead(200, { 'content-type': 'application/json' });
          return response.flushHeaders();
        }
        ok(response);
      },
      { connections: CONNECTIONS, requestTimeoutMs: 2_000, transientRetries: 0 },
    );
    const stop = new AbortController();
    const watches = Array.from({ length: CONNECTIONS + 1 }, async () => {
      for await (const _line of server.client.lines('/api/v1/secrets', { watch: true }, stop.signal));
    });
    const ended = Promise.allSettled(watches);
    try {
      await expect.poll(() => watching, { timeout: 5_000 }).toBe(CONNECTIONS + 1);
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets/web')).resolves.toEqual({
        kind: 'Secret',
      });
    } finally {
      stop.abort();
      await ended;
      await server.close();
    }
  });
});
