import { signerNameOf, type TrustDomain, trustDomainKind } from '../../api/trustdomain.ts';
import type { Journal } from '../../core/authorities/model.ts';
import type { DesiredCondition } from '../../core/conditions.ts';
import type { Publication } from '../../core/publication.ts';
import type { JournalAsStored } from '../../core/trustdomain/gate.ts';
import type { PublicationOutcome } from '../../core/trustdomain/outcome.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import { objectPath, type ResourceType, trustlineResource } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import { writeStatus } from '../status-writer.ts';
import { publishClusterTrustBundle } from './cluster-trust-bundles.ts';
import { JournalStore } from './journal-store.ts';
import { publish, publishedCopies } from './publisher.ts';

/** Every write the TrustDomain controller makes, so its reconciler runs as well against fakes. */
export interface TrustDomainWrites {
  loadJournal(trustDomain: string): Promise<JournalAsStored>;
  /** Carries the resourceVersion read: two writers never fork the keys. */
  saveJournal(previous: JournalAsStored, journal: Journal): Promise<unknown>;
  /** Brings the cluster to the publication; `afterWrite` runs after each write made. */
  publish(publication: Publication, afterWrite?: () => void): Promise<PublicationOutcome>;
  /** Throws a KubeApiError when the apiserver refuses; a no-op where the cluster has none. */
  publishClusterTrustBundle(trustDomain: TrustDomain, pem: string): Promise<void>;
  writeStatus(
    object: KubeObject,
    fields: Record<string, unknown>,
    conditions: readonly DesiredCondition[],
    now: Date,
  ): Promise<unknown>;
  setFinalizers(object: KubeObject, finalizers: string[]): Promise<void>;
}

const resource = trustlineResource(trustDomainKind);

async function setFinalizers(client: RestClient, object: KubeObject, finalizers: string[]): Promise<void> {
  await client.request('PATCH', objectPath(resource, object.metadata.name), {
    contentType: 'application/merge-patch+json',
    body: { metadata: { finalizers, resourceVersion: object.metadata.resourceVersion } },
  });
}

/** The writes against the apiserver. */
export function kubeWrites(options: {
  client: RestClient;
  operatorNamespace: string;
  configMaps: Pick<Informer, 'list'>;
  clusterTrustBundles?: { resource: ResourceType; cache: Informer } | undefined;
}): TrustDomainWrites {
  const { client, configMaps, clusterTrustBundles } = options;
  const journals = new JournalStore(client, options.operatorNamespace);
  return {
    loadJournal: (trustDomain) => journals.load(trustDomain),
    saveJournal: (previous, journal) => journals.save(previous, journal),
    publish: async (publication, afterWrite) =>
      publish(
        client,
        publication,
        await publishedCopies(configMaps.list(), publication.owner, publication.content),
        afterWrite,
      ),
    publishClusterTrustBundle: async (trustDomain, pem) => {
      if (!clusterTrustBundles) return;
      const owner = { name: trustDomain.metadata.name, uid: trustDomain.metadata.uid ?? '' };
      await publishClusterTrustBundle(
        client,
        clusterTrustBundles.resource,
        clusterTrustBundles.cache,
        { ...owner, signerName: signerNameOf(trustDomain) },
        pem,
      );
    },
    writeStatus: (object, fields, conditions, now) =>
      writeStatus(client, resource, object, fields, conditions, now),
    setFinalizers: (object, finalizers) => setFinalizers(client, object, finalizers),
  };
}
