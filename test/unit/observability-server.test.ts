import type { Server } from 'node:http';
import { pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { Agent, fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsAccess } from '../../src/observability/metrics-auth.ts';
import { startMetricsServer, startProbeServer } from '../../src/observability/server.ts';
import { selfSignedServingCert } from '../../src/observability/serving-cert.ts';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const selfSigned = new Agent({ connect: { rejectUnauthorized: false } });

function registry(): Registry {
  const created = new Registry();
  new Gauge({ name: 'trustline_test_metric', help: 'for tests', registers: [created] }).set(1);
  return created;
}

/** Allows the token `good` and no other, without an apiserver: the reviews are the integration test's. */
const access = () =>
  new MetricsAccess({
    authenticate: async (token) => (token === 'good' ? { username: 'scraper' } : undefined),
    authorize: async () => ({ allowed: true }),
    now: () => new Date(),
    log: pino({ level: 'silent' }),
  });

describe('the probe and metrics servers', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('answers probes without credentials, ready only once the caches have synced, and serves nothing else', async () => {
    let ready = false;
    const { server, address } = await startProbeServer(LOOPBACK, () => ready);
    servers.push(server);
    const get = (path: string, method = 'GET') =>
      fetch(`http://127.0.0.1:${address.port}${path}`, { method });
    expect((await get('/healthz')).status).toBe(200);
    const syncing = await get('/readyz');
    expect([syncing.status, await syncing.text()]).toEqual([503, 'caches are syncing']);
    ready = true;
    expect((await get('/readyz?verbose')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(404);
    expect((await get('/healthz', 'POST')).status).toBe(405);
  });

  it('serves metrics over HTTPS only to an accepted bearer token, asking for one with 401', async () => {
    const tls = await selfSignedServingCert(new Date());
    const { server, address } = await startMetricsServer(registry(), LOOPBACK, { access: access(), tls });
    servers.push(server);
    const get = (headers: Record<string, string>, path = '/metrics') =>
      fetch(`https://127.0.0.1:${address.port}${path}`, { dispatcher: selfSigned, headers });
    const refused = await get({});
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused.text()).not.toContain('trustline_test_metric');
    expect((await get({ authorization: 'Bearer forged' })).status).toBe(401);
    const served = await get({ authorization: 'Bearer good' });
    expect(served.status).toBe(200);
    expect(await served.text()).toMatch(/^trustline_test_metric 1$/m);
    expect((await get({ authorization: 'Bearer good' }, '/healthz')).status).toBe(404);
    await expect(fetch(`http://127.0.0.1:${address.port}/metrics`)).rejects.toThrow();
  });

  it('serves metrics over plain HTTP to anyone when not secure', async () => {
    const { server, address } = await startMetricsServer(registry(), LOOPBACK, undefined);
    servers.push(server);
    const served = await fetch(`http://127.0.0.1:${address.port}/metrics`);
    expect(served.status).toBe(200);
    expect(await served.text()).toMatch(/^trustline_test_metric 1$/m);
  });
});
