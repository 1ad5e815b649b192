import type { Logger } from 'pino';
import { keyRevocationKind } from './api/keyrevocation.ts';
import { trustDomainKind } from './api/trustdomain.ts';
import type { OperatorConfig } from './config.ts';
import { createCaches } from './controllers/caches.ts';
import { ConfirmedSvids } from './controllers/confirmed-svids.ts';
import { controllers } from './controllers/definitions.ts';
import { Echoes } from './controllers/echoes.ts';
import { JournalCache } from './controllers/journal-cache.ts';
import { createReconcilers } from './controllers/reconcilers.ts';
import { RevocationWaker } from './controllers/revocation-waker.ts';
import { Router } from './controllers/router.ts';
import type { ApiRequest } from './kube/api-request.ts';
import type { ClusterCredentials } from './kube/credentials.ts';
import { EventRecorder } from './kube/events.ts';
import type { Informer } from './kube/informer.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { RestClient } from './kube/rest.ts';
import type { WorkQueue } from './kube/workqueue.ts';
import { AuditLog } from './observability/audit.ts';
import { type FailpointTrigger, failpointsFromEnvironment } from './observability/failpoints.ts';
import { Metrics } from './observability/metrics.ts';
import { type ObservabilityServers, startObservabilityServers } from './observability/server.ts';

export interface OperatorOptions {
  credentials: ClusterCredentials;
  settings: OperatorConfig;
  log: Logger;
  now?: () => Date;
  concurrency?: number;
  failpoint?: FailpointTrigger;
  /** Called when this replica loses the leader Lease; its queues take no new work by then. */
  onLeadershipLost?: () => void;
}

/**
 * How long a stopping replica lets reconciles in flight finish (one may wait on a queue of RSA keys);
 * the rest are cut off, which any reconcile survives.
 */
const SHUTDOWN_GRACE_MS = 5_000;

/** Trustline's controllers with their caches and queues: started together, stopped together. */
export class Operator {
  readonly #client: RestClient;
  readonly #leaseClient: RestClient | undefined;
  readonly #informers: Informer[];
  readonly #queues: WorkQueue[];
  readonly #server: ObservabilityServers;
  readonly #elector: LeaderElector | undefined;
  readonly #log: Logger;

  private constructor(
    client: RestClient,
    leaseClient: RestClient | undefined,
    informers: Informer[],
    queues: WorkQueue[],
    server: ObservabilityServers,
    elector: LeaderElector | undefined,
    log: Logger,
  ) {
    this.#client = client;
    this.#leaseClient = leaseClient;
    this.#informers = informers;
    this.#queues = queues;
    this.#server = server;
    this.#elector = elector;
    this.#log = log;
  }

  static async start({
    credentials,
    settings,
    log,
    now = () => new Date(),
    concurrency = 8,
    failpoint = failpointsFromEnvironment(),
    onLeadershipLost,
  }: OperatorOptions): Promise<Operator> {
    const metrics = new Metrics(now);
    const onRequest = (request: ApiRequest) => metrics.countApiRequest(request);
    const client = RestClient.connect(credentials, { rateLimit: settings.apiRateLimit, onRequest });
    metrics.collectProcessMetrics();
    const audit = settings.auditLog ? AuditLog.toFile(settings.auditLog) : new AuditLog();
    const caches = await createCaches(client, settings, log);
    const journals = new JournalCache(caches.secrets, settings.namespace);
    const observability = { log, now, metrics, audit, events: new EventRecorder(client, log, now) };
    const echoes = new Echoes(() => now().getTime());
    const view = { ...caches, journals };
    // The router is made from the reconcilers, which report to the waker: it wakes through the router.
    let router: Router | undefined;
    const waker = new RevocationWaker({
      view,
      svidSecrets: (namespace) => confirmedSvids.caches(namespace),
      wake: (secret) =>
        router?.wakeNow('svidSecrets', secret, [trustDomainKind.kind, keyRevocationKind.kind]),
      log,
    });
    const confirmedSvids = new ConfirmedSvids(caches.secretCaches, (secret) => waker.written(secret));
    const written = { echoes, confirmedSvids };
    router = new Router({
      definitions: controllers,
      reconcilers: createReconcilers({
        client,
        settings,
        caches,
        journals,
        failpoint,
        ...written,
        ...observability,
      }),
      view,
      log,
      concurrency,
      onReconcile: (controller) => metrics.countReconcile(controller),
      onReconcileError: (controller) => metrics.countReconcileError(controller),
      echoes,
    });
    for (const [name, cache] of caches.watched) {
      if (name === 'svidSecrets') cache.subscribe(confirmedSvids.observe);
      cache.subscribe(router.handler(name));
    }

    let synced = false;
    const server = await startObservabilityServers({
      registry: metrics.registry,
      settings,
      client,
      now,
      log,
      isReady: () => synced,
    });
    log.info({ server: client.server, namespace: settings.namespace }, 'starting caches');
    const informers = caches.watched.map(([, cache]) => cache);
    await Promise.all(informers.map((cache) => cache.start()));
    synced = true;
    log.info('caches synced');
    router.enqueueAll(caches);

    // Queues work only once every cache is whole (a reconcile that saw a half-listed cache of
    // namespaces or ConfigMaps would remove bundles that should stay) and only on the leader: a
    // standby keeps its caches warm and its keys queued, and writes nothing.
    const startControllers = () => {
      log.info('reconciling');
      router.resume();
    };
    const election = settings.leaderElection;
    if (!election) {
      metrics.setLeader(true);
      startControllers();
      return new Operator(client, undefined, informers, router.queues, server, undefined, log);
    }
    metrics.setLeader(false);
    // A connection pool of its own and no rate limit: renewal never waits behind reconciles.
    const leaseClient = RestClient.connect(credentials, { onRequest });
    const elector = new LeaderElector({
      client: leaseClient,
      namespace: settings.namespace,
      name: election.leaseName,
      identity: election.identity,
      timing: election.timing,
      log,
      onStartedLeading: () => {
        metrics.setLeader(true);
        startControllers();
      },
      onStoppedLeading: () => {
        metrics.setLeader(false);
        // Another replica may be writing already: take no new work, and let the process end at once
        // (reconciles survive being cut off halfway) rather than drain what is in flight.
        for (const queue of router.queues) void queue.shutdown();
        onLeadershipLost?.();
      },
    });
    elector.start();
    return new Operator(client, leaseClient, informers, router.queues, server, elector, log);
  }

  /**
   * Stops watching, lets reconciles in flight finish, then releases the leader Lease (so a standby
   * never writes while this replica still does) and closes connections.
   */
  async stop(): Promise<void> {
    await this.#elector?.abort();
    await Promise.all(this.#informers.map((informer) => informer.stop()));
    const drained = await Promise.all(this.#queues.map((queue) => queue.shutdown(SHUTDOWN_GRACE_MS)));
    if (drained.includes(false)) {
      // No write of this replica may land once the Lease is released and a standby takes over.
      this.#log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'reconciles still running at shutdown are cut off');
      await this.#client.destroy();
    }
    await this.#elector?.release();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.all([this.#client.close(), this.#leaseClient?.close()]);
    this.#log.info('stopped');
  }
}
