import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { z } from 'zod';
import { keyRevocationKind } from './api/keyrevocation.ts';
import { registrationEntryKind } from './api/registrationentry.ts';
import { trustDomainKind } from './api/trustdomain.ts';
import {
  ANNOTATION_TRUST_DOMAIN,
  LABEL_MANAGED_BY,
  LABEL_TRUST_DOMAIN_OBJECT,
  MANAGED_BY_TRUSTLINE,
} from './api/well-known.ts';
import type { OperatorConfig } from './config.ts';
import { JournalCache } from './controllers/journal-cache.ts';
import { KeyRevocationReconciler } from './controllers/keyrevocation/reconciler.ts';
import { claimOf, waitsForOwner } from './controllers/ownership.ts';
import { slimPod } from './controllers/podcertificate/pods.ts';
import { PodCertificateSigner } from './controllers/podcertificate/signer.ts';
import { RegistrationEntryReconciler } from './controllers/registrationentry/reconciler.ts';
import { owningEntryName } from './controllers/registrationentry/svid-secrets.ts';
import { SignerCache } from './controllers/signer-cache.ts';
import { PodCertificateInventory } from './controllers/svid-inventory.ts';
import { TrustDomainReconciler } from './controllers/trustdomain/reconciler.ts';
import { labelValueFor } from './core/labels.ts';
import { inProgress } from './core/revocation/progress.ts';
import { inSlices } from './core/time-slice.ts';
import type { ApiRequest } from './kube/api-request.ts';
import { discoverResources } from './kube/discovery.ts';
import { EventRecorder } from './kube/events.ts';
import { type ChangeType, Informer, type KubeObject, objectKey } from './kube/informer.ts';
import { LeaderElector } from './kube/leader-election.ts';
import { CERTIFICATES_GROUP, coreResources, type ResourceType, trustlineResource } from './kube/resources.ts';
import { RestClient } from './kube/rest.ts';
import { type ReconcileResult, WorkQueue } from './kube/workqueue.ts';
import { AuditLog } from './observability/audit.ts';
import { type FailpointTrigger, failpointsFromEnvironment } from './observability/failpoints.ts';
import { Metrics } from './observability/metrics.ts';
import { type ObservabilityServers, startObservabilityServers } from './observability/server.ts';

export interface OperatorOptions {
  config: KubeConfig;
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

/** How long pod events gather before the entries of their namespace count their pods again. */
const POD_CHANGE_BATCH_MS = 1_000;

/** How long SVID Secret events gather before a revocation under way counts them again. */
const REVOCATION_PROGRESS_BATCH_MS = 1_000;

const referencesSchema = z.object({
  spec: z.object({
    trustDomain: z.string().optional(),
    trustDomainRef: z.object({ name: z.string() }).optional(),
    upstream: z.object({ secretName: z.string() }).optional(),
    secret: z.object({ name: z.string() }).optional(),
  }),
});
const references = (object: KubeObject) => referencesSchema.safeParse(object).data?.spec;

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
    config,
    settings,
    log,
    now = () => new Date(),
    concurrency = 8,
    failpoint = failpointsFromEnvironment(),
    onLeadershipLost,
  }: OperatorOptions): Promise<Operator> {
    const metrics = new Metrics(now);
    const onRequest = (request: ApiRequest) => metrics.countApiRequest(request);
    const client = await RestClient.fromKubeConfig(config, { rateLimit: settings.apiRateLimit, onRequest });
    metrics.collectProcessMetrics();
    const audit = settings.auditLog ? AuditLog.toFile(settings.auditLog) : new AuditLog();
    const queues: WorkQueue[] = [];
    const informers: Informer[] = [];
    const queue = (
      name: string,
      reconcile: (key: string) => Promise<ReconcileResult>,
      { workers = concurrency, rate = { perSecond: 50, burst: 200 }, reservedForNewFlows = 0 } = {},
    ) => {
      const created = new WorkQueue({
        name,
        log,
        concurrency: workers,
        rate,
        reservedForNewFlows,
        reconcile: async (key) => {
          metrics.countReconcile(name);
          try {
            return await reconcile(key);
          } catch (error) {
            metrics.countReconcileError(name);
            throw error;
          }
        },
      });
      queues.push(created);
      return created;
    };
    const informer = (
      resource: ResourceType,
      onChange: (change: ChangeType, object: KubeObject) => void,
      scope: {
        namespace?: string;
        labelSelector?: string;
        transform?: (object: KubeObject) => KubeObject;
      } = {},
    ) => {
      const created = new Informer(client, { resource, log, onChange, ...scope });
      informers.push(created);
      return created;
    };

    let trustDomainQueue: WorkQueue | undefined;
    const enqueueTrustDomains = (matches: (object: KubeObject) => boolean = () => true) => {
      for (const object of trustDomains.list()) if (matches(object)) trustDomainQueue?.add(objectKey(object));
    };
    const trustDomainName = (object: KubeObject) => references(object)?.trustDomain;
    const trustDomains = informer(trustlineResource(trustDomainKind), (change, object) => {
      // Objects that claim the same trust domain or signer name decide between them who serves it, and
      // the entries of each follow the decision.
      const claim = claimOf(object);
      const contenders = new Set([
        object.metadata.name,
        ...trustDomains.list().flatMap((other) => {
          const theirs = claimOf(other);
          const shared =
            claim &&
            theirs &&
            (theirs.trustDomain === claim.trustDomain || theirs.signerName === claim.signerName);
          return shared || waitsForOwner(other) ? [other.metadata.name] : [];
        }),
      ]);
      enqueueTrustDomains((other) => contenders.has(other.metadata.name));
      if (change !== 'deleted') trustDomainQueue?.add(objectKey(object));
      entriesOfTrustDomains(contenders);
      revocationsOfTrustDomains(contenders);
    });
    let entryQueue: WorkQueue | undefined;
    // One event may concern every entry in the cluster, and a handler cannot wait: the scan goes on in
    // slices after it returns.
    const enqueueEntries = (
      candidates: KubeObject[],
      matches: (entry: KubeObject) => boolean = () => true,
      delayMs = 0,
    ) => {
      const scan = async () => {
        for await (const object of inSlices(candidates))
          if (matches(object)) entryQueue?.addAfter(objectKey(object), delayMs);
      };
      scan().catch((error: unknown) => log.error({ err: error }, 'could not queue RegistrationEntries'));
    };
    const entriesOfTrustDomains = (names: Set<string>) =>
      enqueueEntries(registrationEntries.list(), (entry) =>
        names.has(references(entry)?.trustDomainRef?.name ?? ''),
      );
    const registrationEntries = informer(trustlineResource(registrationEntryKind), (change, object) => {
      if (change !== 'deleted') entryQueue?.add(objectKey(object));
      // A TrustDomain cares about its entries only while its deletion waits for them.
      const reference = references(object)?.trustDomainRef?.name;
      if (reference && trustDomains.get(reference)?.metadata.deletionTimestamp)
        trustDomainQueue?.add(reference);
    });
    let revocationQueue: WorkQueue | undefined;
    const keyRevocations = informer(trustlineResource(keyRevocationKind), (change, object) => {
      if (change !== 'deleted') revocationQueue?.add(objectKey(object));
      // The TrustDomain controller carries revocations out: it writes the journal. The spec never
      // changes, so status updates need not wake it.
      const reference = references(object)?.trustDomainRef?.name;
      if (reference && change !== 'updated') trustDomainQueue?.add(reference);
    });
    const revocationsOfTrustDomains = (names: Set<string>, delayMs = 0) => {
      for (const object of keyRevocations.list()) {
        if (names.has(references(object)?.trustDomainRef?.name ?? ''))
          revocationQueue?.addAfter(objectKey(object), delayMs);
      }
    };
    const namespaces = informer(coreResources.namespaces, (_change, object) => {
      enqueueTrustDomains();
      // Grants select namespaces by label.
      enqueueEntries(registrationEntries.byNamespace(object.metadata.name));
    });
    const configMaps = informer(
      coreResources.configMaps,
      (_change, object) => {
        const owner = object.metadata.labels?.[LABEL_TRUST_DOMAIN_OBJECT];
        if (owner) enqueueTrustDomains((trustDomain) => labelValueFor(trustDomain.metadata.name) === owner);
      },
      { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}` },
    );
    const secrets = informer(
      coreResources.secrets,
      (_change, object) => {
        // An upstream CA Secret, or a journal (restored from a backup, say).
        const journalOf = object.metadata.annotations?.[ANNOTATION_TRUST_DOMAIN];
        enqueueTrustDomains(
          (trustDomain) =>
            references(trustDomain)?.upstream?.secretName === object.metadata.name ||
            (journalOf !== undefined && trustDomainName(trustDomain) === journalOf),
        );
        // New authorities or a new bundle: entries re-sign or refresh their ca.crt, and revocations
        // report the journal's progress.
        if (journalOf !== undefined) {
          const names = new Set(
            trustDomains
              .list()
              .filter((trustDomain) => trustDomainName(trustDomain) === journalOf)
              .map((trustDomain) => trustDomain.metadata.name),
          );
          entriesOfTrustDomains(names);
          revocationsOfTrustDomains(names);
        }
      },
      { namespace: settings.namespace },
    );
    // SVID Secrets, by Trustline's label: in every namespace, or only in those Secret mode is limited to.
    const onSvidSecret = (_change: ChangeType, object: KubeObject) => {
      const owner = owningEntryName(object);
      if (!owner) return;
      entryQueue?.add(`${object.metadata.namespace}/${owner}`);
      // While a revocation waits for SVIDs to be re-issued, each re-issued one may be the last.
      const entry = registrationEntries.get(`${object.metadata.namespace}/${owner}`);
      const reference = entry && references(entry)?.trustDomainRef?.name;
      const trustDomain = reference ? trustDomains.get(reference) : undefined;
      const name = trustDomain && trustDomainName(trustDomain);
      const journal = name ? journals.get(name) : undefined;
      if (reference && journal && !(journal instanceof Error) && inProgress(journal).length > 0) {
        // Batched: a thousand re-issued Secrets wake each of them about once a second, not a thousand times.
        trustDomainQueue?.addAfter(reference, REVOCATION_PROGRESS_BATCH_MS);
        revocationsOfTrustDomains(new Set([reference]), REVOCATION_PROGRESS_BATCH_MS);
      }
    };
    const svidSecretScope = { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}` };
    const svidSecretCaches = settings.secretNamespaces
      ? new Map(
          settings.secretNamespaces.map((namespace) => [
            namespace,
            informer(coreResources.secrets, onSvidSecret, { ...svidSecretScope, namespace }),
          ]),
        )
      : informer(coreResources.secrets, onSvidSecret, svidSecretScope);
    const secretCaches = (namespace: string) =>
      svidSecretCaches instanceof Map ? svidSecretCaches.get(namespace) : svidSecretCaches;

    // Projected-volume mode, where the apiserver serves it: versions come from discovery.
    const certificates = await discoverResources(client, CERTIFICATES_GROUP, [
      'podcertificaterequests',
      'clustertrustbundles',
    ]);
    const requestResource = certificates.get('podcertificaterequests');
    const trustBundleResource = certificates.get('clustertrustbundles');
    log.info(
      {
        podCertificateRequests: requestResource && `${requestResource.group}/${requestResource.version}`,
        clusterTrustBundles:
          trustBundleResource && `${trustBundleResource.group}/${trustBundleResource.version}`,
      },
      'discovered the certificates API',
    );
    let signerQueue: WorkQueue | undefined;
    const pods =
      requestResource &&
      informer(
        coreResources.pods,
        (_change, object) =>
          // Batched: a rollout changes many pods of a namespace at once.
          enqueueEntries(
            registrationEntries.byNamespace(object.metadata.namespace ?? ''),
            (entry) => references(entry)?.secret === undefined,
            POD_CHANGE_BATCH_MS,
          ),
        { transform: slimPod },
      );
    const podCertificateRequests =
      requestResource &&
      informer(requestResource, (change, object) => {
        if (change !== 'deleted') signerQueue?.add(objectKey(object));
      });
    const podCertificates = podCertificateRequests && new PodCertificateInventory(podCertificateRequests);
    const clusterTrustBundles =
      trustBundleResource &&
      informer(
        trustBundleResource,
        (_change, object) => {
          const owner = object.metadata.labels?.[LABEL_TRUST_DOMAIN_OBJECT];
          if (owner) enqueueTrustDomains((trustDomain) => labelValueFor(trustDomain.metadata.name) === owner);
        },
        { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}` },
      );

    const events = new EventRecorder(client, log, now);
    const journals = new JournalCache(secrets, settings.namespace);
    const signers = new SignerCache();
    const entryReconciler = new RegistrationEntryReconciler({
      client,
      entries: registrationEntries,
      trustDomains,
      namespaces,
      journals,
      secretCaches,
      pods,
      secretModeOff: settings.secretNamespaces?.length === 0,
      clusterDomain: settings.clusterDomain,
      signers,
      log,
      now,
      metrics,
      audit,
      events,
    });
    const trustDomainReconciler = new TrustDomainReconciler({
      client,
      caches: {
        trustDomains,
        registrationEntries,
        namespaces,
        configMaps,
        secrets,
        keyRevocations,
        svidSecrets: secretCaches,
        journals,
        podCertificates,
      },
      operatorNamespace: settings.namespace,
      log,
      now,
      metrics,
      audit,
      events,
      failpoint,
      clusterTrustBundles: trustBundleResource &&
        clusterTrustBundles && { resource: trustBundleResource, cache: clusterTrustBundles },
    });
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
    await Promise.all(informers.map((cache) => cache.start()));
    synced = true;
    log.info('caches synced');

    // Queues exist only once every cache is whole (a reconcile that saw a half-listed cache of
    // namespaces or ConfigMaps would remove bundles that should stay) and only on the leader: a
    // standby keeps its caches warm and writes nothing.
    const startControllers = () => {
      log.info('reconciling');
      trustDomainQueue = queue(trustDomainKind.kind, trustDomainReconciler.reconcile);
      // Entries come by the thousand (a namespace applied at once). Each goes through the queue three or
      // four times as its Secret and status land, and most of those passes send no request at all.
      // Namespaces are served round-robin, and a quarter of the workers wait for a namespace with
      // nothing running: one namespace's slow RSA-4096 churn never holds another's first SVID back.
      entryQueue = queue(registrationEntryKind.kind, entryReconciler.reconcile, {
        workers: 4 * concurrency,
        rate: { perSecond: 2_000, burst: 2_000 },
        reservedForNewFlows: concurrency,
      });
      const revocationReconciler = new KeyRevocationReconciler({
        client,
        keyRevocations,
        trustDomains,
        registrationEntries,
        secrets,
        svidSecrets: secretCaches,
        podCertificates,
        journals,
        operatorNamespace: settings.namespace,
        now,
        metrics,
        audit,
        events,
      });
      revocationQueue = queue(keyRevocationKind.kind, revocationReconciler.reconcile);
      if (requestResource && pods && podCertificateRequests) {
        const signer = new PodCertificateSigner({
          client,
          resource: requestResource,
          requests: podCertificateRequests,
          pods,
          entries: registrationEntries,
          trustDomains,
          namespaces,
          journals,
          signers,
          clusterDomain: settings.clusterDomain,
          log,
          now,
          metrics,
          audit,
          events,
        });
        signerQueue = queue('PodCertificateRequest', signer.reconcile);
        for (const object of podCertificateRequests.list()) signerQueue.add(objectKey(object));
      }

      for (const object of trustDomains.list()) trustDomainQueue.add(objectKey(object));
      for (const object of registrationEntries.list()) entryQueue.add(objectKey(object));
      for (const object of keyRevocations.list()) revocationQueue.add(objectKey(object));
    };

    const election = settings.leaderElection;
    if (!election) {
      metrics.setLeader(true);
      startControllers();
      return new Operator(client, undefined, informers, queues, server, undefined, log);
    }
    metrics.setLeader(false);
    // A connection pool of its own and no rate limit: renewal never waits behind reconciles.
    const leaseClient = await RestClient.fromKubeConfig(config, { onRequest });
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
        for (const queue of queues) void queue.shutdown();
        onLeadershipLost?.();
      },
    });
    elector.start();
    return new Operator(client, leaseClient, informers, queues, server, elector, log);
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
