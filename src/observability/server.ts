import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { OperatorConfig } from '../config.ts';
import type { RestClient } from '../kube/rest.ts';
import { type MetricsAccess, metricsAccessThrough } from './metrics-auth.ts';
import { selfSignedServingCert } from './serving-cert.ts';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const text = (response: ServerResponse, status: number, body: string) =>
  response.writeHead(status, { 'content-type': 'text/plain' }).end(body);

async function listen(
  server: Server,
  { host, port }: { host: string; port: number },
  what: string,
): Promise<{ server: Server; address: AddressInfo }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error(`the ${what} server has no TCP address`);
  return { server, address };
}

/** Only GET is served; the path is read without its query string. */
const routed =
  (route: (path: string, response: ServerResponse, request: IncomingMessage) => void): Handler =>
  (request, response) => {
    if (request.method !== 'GET') {
      response.writeHead(405).end();
      return;
    }
    route(new URL(request.url ?? '/', 'http://localhost').pathname, response, request);
  };

/**
 * Serves `/healthz` and `/readyz` for the kubelet, over plain HTTP and without authentication: they
 * say only whether the process lives and its caches have synced. Ready means the caches have synced:
 * a standby replica is ready too, so a rollout can proceed while it waits for the Lease.
 */
export function startProbeServer(
  listenOn: { host: string; port: number },
  isReady: () => boolean,
): Promise<{ server: Server; address: AddressInfo }> {
  const handler = routed((path, response) => {
    if (path === '/healthz') text(response, 200, 'ok');
    else if (path === '/readyz') {
      if (isReady()) text(response, 200, 'ok');
      else text(response, 503, 'caches are syncing');
    } else response.writeHead(404).end();
  });
  return listen(createHttpServer(handler), listenOn, 'probe');
}

/**
 * Serves `/metrics` for Prometheus. Secure (the default): over HTTPS with `tls`, and only to callers
 * whose bearer token `access` authenticates and authorises. Without `secure`: plain HTTP to anyone.
 */
export function startMetricsServer(
  registry: Registry,
  listenOn: { host: string; port: number },
  secure: { access: MetricsAccess; tls: { key: string; cert: string } } | undefined,
): Promise<{ server: Server; address: AddressInfo }> {
  const serve = (response: ServerResponse) =>
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => response.writeHead(500).end(),
    );
  const handler = routed((path, response, request) => {
    if (path !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    if (!secure) {
      void serve(response);
      return;
    }
    secure.access.check(request.headers.authorization, { path, verb: 'get' }).then(
      (decision) => {
        if (decision.status === 200) return serve(response);
        if (decision.status === 401) response.setHeader('www-authenticate', 'Bearer');
        text(response, decision.status, decision.message);
      },
      () => response.writeHead(500).end(),
    );
  });
  const server = secure ? createHttpsServer(secure.tls, handler) : createHttpServer(handler);
  return listen(server, listenOn, 'metrics');
}

/** The probe and metrics servers, closed together as one server closes. */
export interface ObservabilityServers {
  close(done: () => void): void;
}

/**
 * The probe server and the metrics server as the settings ask, secure metrics checked against the
 * apiserver `client` talks to. Logs where each listens: tests and people read the ports from there.
 */
export async function startObservabilityServers({
  registry,
  settings,
  client,
  now,
  log,
  isReady,
}: {
  registry: Registry;
  settings: Pick<OperatorConfig, 'metrics' | 'metricsSecure' | 'probes'>;
  client: RestClient;
  now: () => Date;
  log: Logger;
  isReady: () => boolean;
}): Promise<ObservabilityServers> {
  const probes = await startProbeServer(settings.probes, isReady);
  log.info({ address: probes.address.address, port: probes.address.port }, 'serving health probes');
  const tls = settings.metricsSecure ? await selfSignedServingCert(now()) : undefined;
  const metrics = await startMetricsServer(
    registry,
    settings.metrics,
    tls && { access: metricsAccessThrough(client, now, log), tls },
  );
  log.info(
    {
      address: metrics.address.address,
      port: metrics.address.port,
      secure: tls !== undefined,
      certificateSha256: tls?.fingerprint,
    },
    'serving metrics',
  );
  if (!tls)
    log.warn(
      'metrics are served over plain HTTP to anyone who can reach the port (TRUSTLINE_METRICS_SECURE=false)',
    );
  const servers = [probes.server, metrics.server];
  return {
    close: (done) =>
      void Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      ).then(done),
  };
}
