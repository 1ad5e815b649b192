import { describe, expect, it } from 'vitest';
import type { ApiRequest } from '../../src/kube/api-request.ts';
import { describeRequest } from '../../src/kube/api-request.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { RequestTimeoutError } from '../../src/kube/rest.ts';
import { METRIC_NAMES, Metrics } from '../../src/observability/metrics.ts';
import { localApiserver } from '../fixtures/local-apiserver.ts';

describe('what a Kubernetes API request is counted as', () => {
  it.each([
    ['PUT', '/api/v1/namespaces/apps/secrets/web-svid', {}, 'PUT', 'secrets'],
    ['GET', '/api/v1/namespaces/apps/secrets/web-svid', {}, 'GET', 'secrets'],
    ['GET', '/api/v1/namespaces/apps/secrets', { limit: 500 }, 'LIST', 'secrets'],
    ['GET', '/api/v1/secrets', { watch: true }, 'WATCH', 'secrets'],
    [
      'PATCH',
      '/apis/trustline.dev/v1alpha1/namespaces/apps/registrationentries/web/status',
      {},
      'PATCH',
      'registrationentries/status',
    ],
    ['PUT', '/apis/trustline.dev/v1alpha1/trustdomains/prod/status', {}, 'PUT', 'trustdomains/status'],
    ['POST', '/api/v1/namespaces/apps/events', {}, 'POST', 'events'],
    ['GET', '/api/v1/namespaces/apps', {}, 'GET', 'namespaces'],
    ['PUT', '/api/v1/namespaces/apps/status', {}, 'PUT', 'namespaces/status'],
    ['POST', '/api/v1/namespaces', {}, 'POST', 'namespaces'],
    ['DELETE', '/api/v1/namespaces/apps/configmaps', {}, 'DELETECOLLECTION', 'configmaps'],
    ['POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {}, 'POST', 'subjectaccessreviews'],
    ['GET', '/apis/certificates.k8s.io/v1beta1', {}, 'GET', 'discovery'],
    ['GET', '/version', {}, 'GET', 'other'],
  ])('%s %s → %s %s', (method, path, query, verb, resource) => {
    expect(describeRequest(method, path, query)).toEqual({ verb, resource });
  });
});

describe('the REST client counts what it sends', () => {
  it('reports each request, a 429 sent again counting twice and apart from other 4xx, by verb, resource and code class, never by object name', async () => {
    let throttled = false;
    const seen: ApiRequest[] = [];
    const server = await localApiserver(
      (request, response) => {
        if (request.url?.includes('/secrets/') && !throttled) {
          throttled = true;
          response.writeHead(429, { 'retry-after': '0', 'content-type': 'application/json' });
          return response.end('{}');
        }
        if (request.url?.includes('missing')) {
          response.writeHead(404, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ reason: 'NotFound', message: 'not found' }));
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      },
      { onRequest: (request) => seen.push(request) },
    );
    try {
      await server.client.request('PUT', '/api/v1/namespaces/apps/secrets/web-svid', { body: {} });
      await expect(
        server.client.request('GET', '/api/v1/namespaces/apps/configmaps/missing'),
      ).rejects.toThrow(KubeApiError);
      expect(seen).toEqual([
        { verb: 'PUT', resource: 'secrets', code: '429' },
        { verb: 'PUT', resource: 'secrets', code: '2xx' },
        { verb: 'GET', resource: 'configmaps', code: '4xx' },
      ]);
    } finally {
      await server.close();
    }
  });

  it('counts into one Prometheus counter whose labels are verb, resource and code', async () => {
    const metrics = new Metrics();
    metrics.countApiRequest({ verb: 'PUT', resource: 'secrets', code: '2xx' });
    metrics.countApiRequest({ verb: 'PUT', resource: 'secrets', code: '2xx' });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`${METRIC_NAMES.apiRequests}{verb="PUT",resource="secrets",code="2xx"} 2`);
  });
});

describe('the REST client bounds each request', () => {
  it('fails a request the server never answers with an error naming the bound, within it', async () => {
    const seen: ApiRequest[] = [];
    // Accepts the request and never writes a byte back.
    // Not sent again, so the bound of one attempt is what is measured.
    const server = await localApiserver(() => {}, {
      requestTimeoutMs: 300,
      transientRetries: 0,
      onRequest: (r) => seen.push(r),
    });
    try {
      const started = performance.now();
      const error = await server.client.request('GET', '/api/v1/namespaces/apps/secrets/web-svid').then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      const elapsed = performance.now() - started;
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(String(error)).toContain(
        'GET /api/v1/namespaces/apps/secrets/web-svid: no answer from the apiserver within 0.3 s',
      );
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2_000);
      expect(seen).toEqual([{ verb: 'GET', resource: 'secrets', code: 'error' }]);
    } finally {
      await server.close();
    }
  });

  it('fails a request whose body stops half-way once the bound has passed', async () => {
    const server = await localApiserver(
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"items": [');
      },
      { requestTimeoutMs: 300 },
    );
    try {
      await expect(server.client.request('GET', '/api/v1/namespaces/apps/secrets')).rejects.toThrow(
        /no answer from the apiserver within 0\.3 s/,
      );
    } finally {
      await server.close();
    }
  });

  it('leaves a watch open past the bound', async () => {
    const server = await localApiserver(
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"1"}}}\n');
        setTimeout(
          () => response.end('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"2"}}}\n'),
          500,
        );
      },
      { requestTimeoutMs: 100 },
    );
    try {
      const lines: string[] = [];
      for await (const line of server.client.lines(
        '/api/v1/secrets',
        { watch: true },
        new AbortController().signal,
      ))
        lines.push(line);
      expect(lines).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
