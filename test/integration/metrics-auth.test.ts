import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_NAME } from '../../src/deploy/names.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import { METRIC_NAMES } from '../../src/observability/metrics.ts';
import { bearer, connectWithCrds, kubectl, OperatorProcess, uniqueName, waitFor } from './support.ts';
import { createNamespace } from './trust-domains.ts';

/** The ClusterRole the kustomize base ships (the chart's is `<fullname>-metrics-reader`). */
const READER_ROLE = `${OPERATOR_NAME}-metrics-reader`;

/**
 * From a scraper's side, on the real apiserver: /metrics answers only a bearer token that a TokenReview
 * authenticates and whose user RBAC lets `get` /metrics; probes answer anyone, on their own port.
 */
describe('secure metrics', () => {
  const run = uniqueName('metrics');
  const operatorNamespace = `${run}-system`;
  const binding = `${run}-scraper`;
  let client: RestClient;
  let operator: OperatorProcess;
  let scraperToken = '';

  const statusAndBody = async (headers: Record<string, string>) => {
    const response = await operator.fetchMetrics(headers);
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    client = await connectWithCrds();
    for (const file of ['config/default/namespace.yaml', 'config/rbac/rbac.yaml']) {
      const applied = await kubectl(['apply', '-f', file]);
      expect(applied.code, applied.stderr).toBe(0);
    }
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, run);
    const account = await kubectl(['create', 'serviceaccount', 'scraper', '-n', run]);
    expect(account.code, account.stderr).toBe(0);
    const token = await kubectl(['create', 'token', 'scraper', '-n', run, '--duration=10m']);
    expect(token.code, token.stderr).toBe(0);
    scraperToken = token.stdout.trim();
    operator = await OperatorProcess.start({ TRUSTLINE_NAMESPACE: operatorNamespace });
  });

  afterAll(async () => {
    await kubectl(['delete', 'clusterrolebinding', binding, '--ignore-not-found']);
    await operator?.stop();
    await client?.close();
  });

  it('answers 401 and no metrics to a scrape without a bearer token', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: 'Bearer ' },
    ];
    for (const headers of attempts) {
      const { status, body } = await statusAndBody(headers);
      expect(status, JSON.stringify(headers)).toBe(401);
      expect(body).not.toContain(METRIC_NAMES.leader);
    }
  });

  it('answers 401 to forged tokens: random, and a ServiceAccount JWT signed by a key the apiserver does not trust', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = Math.floor(Date.now() / 1000);
    const forgedJwt = await new SignJWT({
      kubernetes: { namespace: run, serviceaccount: { name: 'scraper' } },
    })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://kubernetes.default.svc')
      .setSubject(`system:serviceaccount:${run}:scraper`)
      .setAudience('https://kubernetes.default.svc')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    for (const forged of [randomBytes(24).toString('hex'), forgedJwt]) {
      const { status, body } = await statusAndBody(bearer(forged));
      expect(status).toBe(401);
      expect(body).toBe('the bearer token authenticates no one');
    }
  });

  it('answers 403 to a real ServiceAccount that RBAC does not let read /metrics, then 200 once bound to the metrics-reader role', async () => {
    const refused = await statusAndBody(bearer(scraperToken));
    expect(refused.status).toBe(403);
    expect(refused.body).toBe(`system:serviceaccount:${run}:scraper may not get /metrics`);
    expect(refused.body).not.toContain(METRIC_NAMES.leader);

    const bound = await kubectl([
      'create',
      'clusterrolebinding',
      binding,
      `--clusterrole=${READER_ROLE}`,
      `--serviceaccount=${run}:scraper`,
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    // A refusal is remembered for ten seconds; the binding takes effect after that.
    const served = await waitFor(
      'the bound ServiceAccount to be served metrics',
      async () => {
        const attempt = await statusAndBody(bearer(scraperToken));
        return attempt.status === 200 ? attempt : undefined;
      },
      30_000,
    );
    expect(served.body).toMatch(new RegExp(`^${METRIC_NAMES.leader} 1$`, 'm'));
  });

  it('serves metrics only over TLS, and never writes a token to its log', async () => {
    const plain = await fetch(`http://127.0.0.1:${operator.metricsPort()}/metrics`, {
      headers: bearer(scraperToken),
    }).then(
      (response) => response.status,
      (error: unknown) => error,
    );
    expect(plain).toBeInstanceOf(Error);
    expect(operator.log).not.toContain(scraperToken);
  });

  it('answers probes without a token on their own port, and serves no metrics there', async () => {
    expect(operator.probePort()).not.toBe(operator.metricsPort());
    const healthz = await operator.probe('/healthz');
    expect([healthz.status, await healthz.text()]).toEqual([200, 'ok']);
    const readyz = await operator.probe('/readyz');
    expect([readyz.status, await readyz.text()]).toEqual([200, 'ok']);
    const metrics = await operator.probe('/metrics');
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).not.toContain(METRIC_NAMES.leader);
  });
});
