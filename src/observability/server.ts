import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * Serves `/metrics` for Prometheus and `/healthz` and `/readyz` for the kubelet's probes. Ready means
 * the caches have synced: a standby replica is ready too, so a rollout can proceed while it waits for
 * the Lease.
 */
export async function startMetricsServer(
  registry: Registry,
  { host, port }: { host: string; port: number },
  isReady: () => boolean,
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    switch (request.url) {
      case '/metrics':
        registry.metrics().then(
          (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => response.writeHead(500).end(),
        );
        return;
      case '/healthz':
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      case '/readyz':
        if (isReady()) response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        else response.writeHead(503, { 'content-type': 'text/plain' }).end('caches are syncing');
        return;
      default:
        response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the metrics server has no TCP address');
  return { server, address };
}
