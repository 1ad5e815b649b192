import { ANNOTATION_TRUST_DOMAIN, LABEL_TRUST_DOMAIN_OBJECT } from '../api/well-known.ts';
import type { Journal } from '../core/authorities/model.ts';
import { labelValueFor } from '../core/labels.ts';
import { inProgress } from '../core/revocation/progress.ts';
import { type ChangeType, type KubeObject, objectKey } from '../kube/informer.ts';
import { claimOf, waitsForOwner } from './ownership.ts';
import { servesPods, trustDomainNameOf, trustDomainRefOf, upstreamSecretOf } from './references.ts';
import { owningEntryName } from './registrationentry/svid-secrets.ts';

/** How long pod events gather before the entries of their namespace count their pods again. */
export const POD_CHANGE_BATCH_MS = 1_000;

/** How long SVID Secret events gather before a revocation under way counts them again. */
export const REVOCATION_PROGRESS_BATCH_MS = 1_000;

/** A cache as the mapping functions read it. */
export interface Lister {
  get(key: string): KubeObject | undefined;
  list(): KubeObject[];
  byNamespace(namespace: string): KubeObject[];
}

/** What the mapping functions may look at besides the changed object. */
export interface ClusterView {
  trustDomains: Lister;
  registrationEntries: Lister;
  keyRevocations: Lister;
  journals: { get(trustDomain: string): Journal | Error | undefined };
}

/**
 * Keys to enqueue: one key, or every object of `scan` that `matches`. A scan may cover every entry of
 * the cluster, and a handler cannot wait: it runs in slices after the handler returns.
 */
export type Wake =
  | { key: string; delayMs?: number }
  | { scan: readonly KubeObject[]; matches?: (object: KubeObject) => boolean; delayMs?: number };

/** A pure function from a changed object (and what the caches hold) to the keys a controller must look at. */
export type Mapping = (change: ChangeType, object: KubeObject, view: ClusterView) => Wake[];

const keys = (objects: readonly KubeObject[], delayMs?: number): Wake[] =>
  objects.map((object) => ({ key: objectKey(object), delayMs }));

/** The object itself, unless it is gone. */
export const itself: Mapping = (change, object) => (change === 'deleted' ? [] : [{ key: objectKey(object) }]);

/**
 * The TrustDomain objects that decide with this one who serves a trust domain or signer name: those
 * sharing a name with it, and those waiting for an owner to let go of one.
 */
export function contendersOf(object: KubeObject, view: ClusterView): Set<string> {
  const claim = claimOf(object);
  return new Set([
    object.metadata.name,
    ...view.trustDomains.list().flatMap((other) => {
      const theirs = claimOf(other);
      const shared =
        claim &&
        theirs &&
        (theirs.trustDomain === claim.trustDomain || theirs.signerName === claim.signerName);
      return shared || waitsForOwner(other) ? [other.metadata.name] : [];
    }),
  ]);
}

const trustDomainsNamed = (names: Set<string>, view: ClusterView) =>
  view.trustDomains.list().filter((trustDomain) => names.has(trustDomain.metadata.name));

const entriesOf = (names: Set<string>, view: ClusterView): Wake => ({
  scan: view.registrationEntries.list(),
  matches: (entry) => names.has(trustDomainRefOf(entry) ?? ''),
});

const revocationsOf = (names: Set<string>, view: ClusterView, delayMs?: number): Wake[] =>
  keys(
    view.keyRevocations.list().filter((revocation) => names.has(trustDomainRefOf(revocation) ?? '')),
    delayMs,
  );

/** The TrustDomain objects whose journal a Secret is (restored from a backup, say). */
const journalOwners = (secret: KubeObject, view: ClusterView): Set<string> | undefined => {
  const journalOf = secret.metadata.annotations?.[ANNOTATION_TRUST_DOMAIN];
  if (journalOf === undefined) return undefined;
  const owners = view.trustDomains
    .list()
    .filter((trustDomain) => trustDomainNameOf(trustDomain) === journalOf);
  return new Set(owners.map((trustDomain) => trustDomain.metadata.name));
};

/** The TrustDomain object an SVID Secret's entry names, when a revocation of its journal waits for SVIDs. */
export function revocationWaitingOn(secret: KubeObject, view: ClusterView): string | undefined {
  const owner = owningEntryName(secret);
  const entry = owner && view.registrationEntries.get(`${secret.metadata.namespace}/${owner}`);
  const reference = entry ? trustDomainRefOf(entry) : undefined;
  const trustDomain = reference ? view.trustDomains.get(reference) : undefined;
  const name = trustDomain && trustDomainNameOf(trustDomain);
  const journal = name ? view.journals.get(name) : undefined;
  return journal && !(journal instanceof Error) && inProgress(journal).length > 0 ? reference : undefined;
}

/** ConfigMaps and ClusterTrustBundles Trustline publishes carry the label of their TrustDomain object. */
const publishedObjectOwner: Mapping = (_change, object, view) => {
  const owner = object.metadata.labels?.[LABEL_TRUST_DOMAIN_OBJECT];
  if (!owner) return [];
  return keys(view.trustDomains.list().filter((td) => labelValueFor(td.metadata.name) === owner));
};

export const trustDomainWatches = {
  // Objects that claim the same trust domain or signer name decide between them who serves it.
  trustDomains: (change, object, view) => [
    ...keys(trustDomainsNamed(contendersOf(object, view), view)),
    ...itself(change, object, view),
  ],
  // A TrustDomain cares about its entries only while its deletion waits for them.
  registrationEntries: (_change, object, view) => {
    const reference = trustDomainRefOf(object);
    return reference && view.trustDomains.get(reference)?.metadata.deletionTimestamp
      ? [{ key: reference }]
      : [];
  },
  // The TrustDomain controller carries revocations out: it writes the journal. The spec never changes,
  // so status updates need not wake it.
  keyRevocations: (change, object) => {
    const reference = trustDomainRefOf(object);
    return reference && change !== 'updated' ? [{ key: reference }] : [];
  },
  namespaces: (_change, _object, view) => keys(view.trustDomains.list()),
  configMaps: publishedObjectOwner,
  clusterTrustBundles: publishedObjectOwner,
  // An upstream CA Secret, or a journal.
  secrets: (_change, object, view) => {
    const owners = journalOwners(object, view) ?? new Set();
    return keys(
      view.trustDomains
        .list()
        .filter((td) => upstreamSecretOf(td) === object.metadata.name || owners.has(td.metadata.name)),
    );
  },
  // While a revocation waits for SVIDs to be re-issued, each re-issued one may be the last. Batched: a
  // thousand re-issued Secrets wake it about once a second, not a thousand times.
  svidSecrets: (_change, object, view) => {
    const reference = revocationWaitingOn(object, view);
    return reference ? [{ key: reference, delayMs: REVOCATION_PROGRESS_BATCH_MS }] : [];
  },
} satisfies Record<string, Mapping>;

export const registrationEntryWatches = {
  registrationEntries: itself,
  // The entries of each contender follow the decision about who serves the name.
  trustDomains: (_change, object, view) => [entriesOf(contendersOf(object, view), view)],
  // Grants select namespaces by label.
  namespaces: (_change, object, view) => [
    { scan: view.registrationEntries.byNamespace(object.metadata.name) },
  ],
  // New authorities or a new bundle: entries re-sign or refresh their ca.crt.
  secrets: (_change, object, view) => {
    const owners = journalOwners(object, view);
    return owners ? [entriesOf(owners, view)] : [];
  },
  svidSecrets: (_change, object) => {
    const owner = owningEntryName(object);
    return owner ? [{ key: `${object.metadata.namespace}/${owner}` }] : [];
  },
  // Batched: a rollout changes many pods of a namespace at once.
  pods: (_change, object, view) => [
    {
      scan: view.registrationEntries.byNamespace(object.metadata.namespace ?? ''),
      matches: servesPods,
      delayMs: POD_CHANGE_BATCH_MS,
    },
  ],
} satisfies Record<string, Mapping>;

export const keyRevocationWatches = {
  keyRevocations: itself,
  trustDomains: (_change, object, view) => revocationsOf(contendersOf(object, view), view),
  // Revocations report the journal's progress.
  secrets: (_change, object, view) => {
    const owners = journalOwners(object, view);
    return owners ? revocationsOf(owners, view) : [];
  },
  svidSecrets: (_change, object, view) => {
    const reference = revocationWaitingOn(object, view);
    return reference ? revocationsOf(new Set([reference]), view, REVOCATION_PROGRESS_BATCH_MS) : [];
  },
} satisfies Record<string, Mapping>;

export const podCertificateRequestWatches = { podCertificateRequests: itself } satisfies Record<
  string,
  Mapping
>;
