import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../hack/controlplane/cluster.ts';
import type { ApiRequest } from '../../src/kube/api-request.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { RestClient, type RestClientOptions } from '../../src/kube/rest.ts';
import { localApiserver } from '../fixtures/local-apiserver.ts';

const SECRET = '/api/v1/namespaces/apps/secrets/web';

const ok = (response: ServerResponse) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ kind: 'Secret' }));
};

const unavailable = (response: ServerResponse) => {
  response.writeHead(503, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ reason: 'ServiceUnavailable', message: 'etcd is slow' }));
};

/** A reset connection: the request may have reached the server, no answer comes back. */
const reset = (request: IncomingMessage) => request.socket.destroy();

/**
 * Runs `use` against a server that answers the n-th request it receives (from 1) with `answer`, and
 * returns how many requests it received.
 */
async function received(
  answer: (n: number, request: IncomingMessage, response: ServerResponse) => void,
  use: (client: RestClient) => Promise<void>,
  options: RestClientOptions = {},
): Promise<number> {
  let count = 0;
  const server = await localApiserver((request, response) => {
    count += 1;
    answer(count, request, response);
  }, options);
  try {
    await use(server.client);
  } finally {
    await server.close();
  }
  return count;
}

const getsTheSecret = (client: RestClient) =>
  expect(client.request('GET', SECRET)).resolves.toEqual({ kind: 'Secret' });

describe('the REST client on a transient failure', () => {
  it('sends a GET again after 503s, with backoff, and returns the answer that follows', async () => {
    const seen: ApiRequest[] = [];
    let elapsed = 0;
    await received(
      (n, _request, response) => (n <= 2 ? unavailable(response) : ok(response)),
      async (client) => {
        const started = performance.now();
        await getsTheSecret(client);
        elapsed = performance.now() - started;
      },
      { onRequest: (request) => seen.push(request) },
    );
    // Two waits of at least 100 ms and 200 ms: the backoff's lower bounds.
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(seen.map((request) => request.code)).toEqual(['5xx', '5xx', '2xx']);
  });

  it("waits as long as a 503's Retry-After asks before sending again, not only the backoff", async () => {
    let elapsed = 0;
    const count = await received(
      (n, _request, response) => {
        if (n > 1) return ok(response);
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        response.end(JSON.stringify({ reason: 'ServiceUnavailable', message: 'shutting down' }));
      },
      async (client) => {
        const started = performance.now();
        await getsTheSecret(client);
        elapsed = performance.now() - started;
      },
    );
    expect(count).toBe(2);
    // The first backoff is at most 200 ms; the apiserver asked for a second.
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
  });

  it('sends a GET again when the connection is reset under it', async () => {
    expect(
      await received((n, request, response) => (n === 1 ? reset(request) : ok(response)), getsTheSecret),
    ).toBe(2);
  });

  it('sends a GET again that timed out, and a second answer in time is returned', async () => {
    // The first is never answered.
    const count = await received((n, _request, response) => n > 1 && ok(response), getsTheSecret, {
      requestTimeoutMs: 200,
    });
    expect(count).toBe(2);
  });

  it('sends a server-side apply again after a reset: applying twice is applying once', async () => {
    const count = await received(
      (n, request, response) => (n === 1 ? reset(request) : ok(response)),
      async (client) => {
        await client.request('PATCH', SECRET, {
          contentType: 'application/apply-patch+yaml',
          body: { kind: 'Secret' },
        });
      },
    );
    expect(count).toBe(2);
  });

  it.each([
    ['POST', '/api/v1/namespaces/apps/secrets', undefined],
    ['PUT', SECRET, undefined],
    ['DELETE', SECRET, undefined],
    ['PATCH', SECRET, 'application/json-patch+json'],
  ])('never sends a %s that may have landed again (%s)', async (method, path, contentType) => {
    const count = await received(
      (_n, _request, response) => unavailable(response),
      async (client) => {
        const error = await client.request(method, path, { contentType, body: {} }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KubeApiError);
      },
    );
    expect(count).toBe(1);
  });

  it('sends even a POST again when the connection was refused: nothing reached the apiserver', async () => {
    const config = new KubeConfig();
    // A port nothing listens on.
    config.loadFromOptions({
      clusters: [{ name: 'closed', server: `http://127.0.0.1:${await freePort()}`, skipTLSVerify: true }],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'closed', cluster: 'closed', user: 'nobody' }],
      currentContext: 'closed',
    });
    const sent: ApiRequest[] = [];
    const client = await RestClient.fromKubeConfig(config, {
      transientRetries: 2,
      onRequest: (request) => sent.push(request),
    });
    try {
      await expect(client.request('POST', '/api/v1/namespaces/apps/secrets', { body: {} })).rejects.toThrow();
      expect(sent).toEqual(Array(3).fill({ verb: 'POST', resource: 'secrets', code: 'error' }));
    } finally {
      await client.destroy();
    }
  });

  it('gives up after its retries and throws the last failure', async () => {
    const count = await received(
      (_n, _request, response) => unavailable(response),
      (client) => expect(client.request('GET', SECRET)).rejects.toThrow(/etcd is slow/),
      { transientRetries: 2 },
    );
    expect(count).toBe(3);
  });

  it('does not send again a 404: the answer will not change', async () => {
    const count = await received(
      (_n, _request, response) => {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ reason: 'NotFound', message: 'not found' }));
      },
      (client) => expect(client.request('GET', SECRET)).rejects.toThrow(KubeApiError),
    );
    expect(count).toBe(1);
  });
});

describe("the REST client's watches", () => {
  it('never take the connections requests need: with more watches open than the pool has, a request is answered', async () => {
    const CONNECTIONS = 2;
    let watching = 0;
    const stop = new AbortController();
    await received(
      (_n, request, response) => {
        if (!request.url?.includes('watch=true')) return ok(response);
        watching += 1;
        // Headers and nothing else, as a quiet watch holds its connection for minutes.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.flushHeaders();
      },
      async (client) => {
        const watches = Array.from({ length: CONNECTIONS + 1 }, async () => {
          for await (const _line of client.lines('/api/v1/secrets', { watch: true }, stop.signal));
        });
        const ended = Promise.allSettled(watches);
        try {
          await expect.poll(() => watching, { timeout: 5_000 }).toBe(CONNECTIONS + 1);
          await getsTheSecret(client);
        } finally {
          stop.abort();
          await ended;
        }
      },
      { connections: CONNECTIONS, requestTimeoutMs: 2_000, transientRetries: 0 },
    );
  });
});
