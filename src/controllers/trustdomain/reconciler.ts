import type { Logger } from 'pino';
import { z } from 'zod';
import { API_VERSION } from '../../api/group.ts';
import { keyRevocationKind } from '../../api/keyrevocation.ts';
import {
  claimedTrustDomain,
  signerNameOf,
  type TrustDomain,
  trustDomainKind,
  trustDomainSchema,
} from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import {
  ANNOTATION_REINITIALIZE_KEYS,
  BUNDLE_JWKS_KEY,
  BUNDLE_PEM_KEY,
  BUNDLE_SPIFFE_KEY,
  CONTENT_OIDC_DISCOVERY,
  CONTENT_TRUST_BUNDLE,
  FINALIZER_IN_USE,
} from '../../api/well-known.ts';
import { encodeJournal, JournalError, journalSecretName } from '../../core/authorities/journal-codec.ts';
import { type AuthorityChange, advanceAuthorities } from '../../core/authorities/lifecycle.ts';
import { mintJwtAuthority, mintX509Authority } from '../../core/authorities/mint.ts';
import type { Authority, Journal } from '../../core/authorities/model.ts';
import { type UpstreamCA, UpstreamError } from '../../core/authorities/upstream.ts';
import { journalUpstreamRoots } from '../../core/bundle/journal-roots.ts';
import { oidcDiscoveryFiles } from '../../core/bundle/oidc.ts';
import {
  buildTrustBundle,
  CONFIGMAP_LIMIT_BYTES,
  refreshHintSeconds,
  sequenceFor,
  type UpstreamRoot,
} from '../../core/bundle/trust-bundle.ts';
import type { DesiredCondition } from '../../core/conditions.ts';
import {
  assessRevocation,
  type RevocationPlan,
  type RevocationRequest,
} from '../../core/revocation/assess.ts';
import {
  type AdvanceRevocationsResult,
  advanceRevocations,
  inProgress,
  noteReplacements,
  type RevocationStep,
  revocationStepMessage,
  revokedUpstreamRoot,
} from '../../core/revocation/progress.ts';
import { trustDomainRevocations } from '../../core/revocation/status.ts';
import { selectorMatches } from '../../core/selector.ts';
import { inSlices } from '../../core/time-slice.ts';
import { authorityPolicy, lifetimeProblem } from '../../core/trustdomain/lifetimes.ts';
import { BUNDLE_PUBLISHED_CONDITION, TrustDomainReason } from '../../core/trustdomain/reasons.ts';
import { activeX509Expiry, authorityStatuses } from '../../core/trustdomain/status.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import { namespaceSchema } from '../../kube/objects.ts';
import { objectPath, type ResourceType, trustlineResource } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { FailpointTrigger } from '../../observability/failpoints.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { JournalCache } from '../journal-cache.ts';
import { requestsFor, revocationContext } from '../keyrevocation/context.ts';
import { claimsIn, ownershipIn } from '../ownership.ts';
import { writeStatus } from '../status-writer.ts';
import { type PodCertificateInventory, svidsBySigner } from '../svid-inventory.ts';
import { publishClusterTrustBundle } from './cluster-trust-bundles.ts';
import { JournalStore, type StoredJournal } from './journal-store.ts';
import { publish, publishedCopies } from './publisher.ts';
import { readUpstream, UpstreamNotBoundError } from './upstream-secret.ts';

export interface TrustDomainCaches {
  trustDomains: Informer;
  registrationEntries: Informer;
  namespaces: Informer;
  configMaps: Informer;
  /** Secrets in the operator's namespace. */
  secrets: Informer;
  keyRevocations: Informer;
  /** The cache of Trustline's SVID Secrets in a namespace. */
  svidSecrets: (namespace: string) => Informer | undefined;
  journals: JournalCache;
  /** Certificates issued to PodCertificateRequests, where the cluster serves them: they count in revocations. */
  podCertificates?: PodCertificateInventory | undefined;
}

export interface TrustDomainControllerOptions {
  client: RestClient;
  caches: TrustDomainCaches;
  operatorNamespace: string;
  log: Logger;
  now: () => Date;
  metrics: Metrics;
  audit: AuditLog;
  events: EventRecorder;
  failpoint: FailpointTrigger;
  /** Where ClusterTrustBundles are served and the cache of Trustline's; unset on clusters without them. */
  clusterTrustBundles?: { resource: ResourceType; cache: Informer } | undefined;
}

const resource = trustlineResource(trustDomainKind);
/** A level-triggered safety net: foreign ConfigMaps and namespaces are looked at again this often. */
const RESYNC_MS = 10 * 60_000;
/** Wake a little after a threshold so the clock has surely passed it. */
const THRESHOLD_SLACK_MS = 1_000;
const MAX_NAMES_IN_MESSAGE = 10;
/** How soon a held deletion looks again, for an entry that moved to another TrustDomain. */
const HELD_RECHECK_MS = 30_000;
const UPSTREAM_RECHECK_MS = 60_000;
/** How soon a namespace whose write failed is tried again. */
const PUBLISH_RETRY_MS = 15_000;

const entryRefSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  spec: z.object({ trustDomainRef: z.object({ name: z.string() }) }),
});
/** Whether new authorities may be minted; without, the X.509 roots the bundle publishes. */
type Signing =
  | { mint: true; upstream: UpstreamCA | undefined }
  | { mint: false; upstream: UpstreamCA | undefined; roots: readonly UpstreamRoot[] };

const ready = (reason: string, message: string, status: 'True' | 'False' = 'False'): DesiredCondition => ({
  type: 'Ready',
  status,
  reason,
  message,
});

const listNames = (names: readonly string[]): string =>
  names.length > MAX_NAMES_IN_MESSAGE
    ? `${names.slice(0, MAX_NAMES_IN_MESSAGE).join(', ')} and ${names.length - MAX_NAMES_IN_MESSAGE} more`
    : names.join(', ');

function bundlePublishedCondition(
  selected: number,
  foreign: { bundle: readonly string[]; others: readonly string[] },
  failed: readonly { namespace: string; message: string }[],
): DesiredCondition {
  const type = BUNDLE_PUBLISHED_CONDITION;
  if (failed.length > 0) {
    return {
      type,
      status: 'False',
      reason: TrustDomainReason.PublishFailed,
      message: `the bundle could not be written to ${failed.length} copies (retrying): ${listNames(failed.map(({ namespace, message }) => `${namespace}: ${message}`))}`,
    };
  }
  if (foreign.bundle.length > 0 || foreign.others.length > 0) {
    return {
      type,
      status: 'False',
      reason: TrustDomainReason.ForeignConfigMap,
      message: [
        ...(foreign.bundle.length > 0
          ? [
              `a ConfigMap of the bundle's name that Trustline did not create exists in: ${listNames(foreign.bundle)}`,
            ]
          : []),
        ...foreign.others.map((copy) => `${copy} exists and was not created by Trustline`),
      ].join('; '),
    };
  }
  return {
    type,
    status: 'True',
    reason: TrustDomainReason.Published,
    message: `published to ${selected} namespaces`,
  };
}

const CHANGE_EVENT: Record<AuthorityChange['to'], string> = {
  Prepared: 'AuthorityPrepared',
  Active: 'AuthorityActivated',
  Old: 'AuthorityRetired',
  Tainted: 'AuthorityTainted',
  Revoked: 'AuthorityRevoked',
  Pruned: 'AuthorityPruned',
};

/**
 * Reconciles one TrustDomain: checks the spec, advances its authorities through their lifecycle,
 * records them in the journal before anything they sign is published, publishes the trust bundle and
 * the OIDC discovery documents, and reports status. Every step is idempotent, so a reconcile cut off
 * anywhere converges on the next one.
 */
export class TrustDomainReconciler {
  readonly #options: TrustDomainControllerOptions;
  readonly #journals: JournalStore;

  constructor(options: TrustDomainControllerOptions) {
    this.#options = options;
    this.#journals = new JournalStore(options.client, options.operatorNamespace);
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const object = this.#options.caches.trustDomains.get(key);
    if (!object) return undefined;
    // Deletion comes before validation, so an object that no longer passes the schema can still go.
    let held: DesiredCondition | undefined;
    if (object.metadata.deletionTimestamp) {
      if (!object.metadata.finalizers?.includes(FINALIZER_IN_USE)) return undefined;
      const users = await this.#users(object.metadata.name);
      if (users.length === 0) {
        await this.#setFinalizers(
          object,
          object.metadata.finalizers.filter((finalizer) => finalizer !== FINALIZER_IN_USE),
        );
        this.#forgetMetrics(object);
        return undefined;
      }
      held = ready(
        TrustDomainReason.InUse,
        `deletion waits for ${users.length} RegistrationEntries that use this trust domain: ${listNames(users)}`,
      );
    }
    const parsed = trustDomainSchema.safeParse(object);
    if (!parsed.success) {
      await this.#report(object, held ?? ready(TrustDomainReason.InvalidSpec, describeIssues(parsed.error)));
      return held ? { requeueAfterMs: HELD_RECHECK_MS } : undefined;
    }
    const trustDomain = parsed.data;
    if (!held && !trustDomain.metadata.finalizers?.includes(FINALIZER_IN_USE)) {
      // The update this causes brings the object back through the queue.
      await this.#setFinalizers(object, [...(trustDomain.metadata.finalizers ?? []), FINALIZER_IN_USE]);
      return undefined;
    }
    const refusal = this.#refusal(trustDomain);
    // A revocation does not wait for an unrelated repair: lifetimes that are too short still let
    // Trustline taint, rotate and publish, with the refusal reported instead of Ready.
    const revoking = this.#revoking(trustDomain);
    const lifetimes = refusal?.reason === TrustDomainReason.LifetimeTooShort;
    if (refusal && !lifetimes) {
      await this.#report(object, held ?? refusal);
      return held ? { requeueAfterMs: HELD_RECHECK_MS } : undefined;
    }
    const read = readUpstream(
      trustDomain,
      this.#options.caches.secrets,
      this.#options.operatorNamespace,
      this.#options.now(),
    );
    let stored: StoredJournal;
    try {
      stored = await this.#journals.load(trustDomain.spec.trustDomain);
    } catch (error) {
      if (!(error instanceof JournalError)) throw error;
      this.#options.log.error(
        { trustDomain: trustDomain.spec.trustDomain, err: error },
        'journal unreadable',
      );
      await this.#report(
        object,
        ready(
          TrustDomainReason.JournalInvalid,
          `${error.message}; Trustline leaves it untouched until it is repaired, and no revocation advances`,
        ),
      );
      return undefined;
    }
    const lost = this.#lostJournal(trustDomain, stored);
    if (lost) {
      await this.#report(object, lost);
      return undefined;
    }
    const upstream = read instanceof Error ? undefined : read;
    const revokedRoot = upstream && revokedUpstreamRoot(stored.journal, upstream.rootId);
    // Keys already issued stay as they are while the upstream Secret is unusable; it is looked at
    // again when it changes, and regularly, since a certificate not yet valid becomes valid unprompted.
    const unusable =
      read instanceof Error
        ? ready(
            read instanceof UpstreamError
              ? TrustDomainReason.UpstreamInvalid
              : read instanceof UpstreamNotBoundError
                ? TrustDomainReason.UpstreamNotBound
                : TrustDomainReason.UpstreamNotFound,
            read.message,
          )
        : revokedRoot &&
          // Minting under a revoked root would put the cut-off key back into every SVID chain.
          ready(
            TrustDomainReason.UpstreamRevoked,
            `the upstream signer in Secret ${this.#options.operatorNamespace}/${trustDomain.spec.upstream?.secretName} chains to root ${upstream?.rootId}, which KeyRevocation ${revokedRoot.requestedBy} cut off; put a signer under another root of ca.crt in tls.crt and tls.key`,
          );
    const problem = held ?? (lifetimes ? refusal : undefined) ?? unusable;
    const cannotMint = unusable ?? (lifetimes && !revoking ? refusal : undefined);
    if (cannotMint === undefined) {
      return this.#rotateAndPublish(object, trustDomain, { mint: true, upstream }, stored, problem);
    }
    // Nothing can be minted, but the bundle is the journal's: revocations advance and go out.
    const roots = upstream?.roots ?? (trustDomain.spec.upstream ? journalUpstreamRoots(stored.journal) : []);
    if (stored.resourceVersion === undefined || roots === undefined) {
      await this.#report(object, problem ?? cannotMint);
      return { requeueAfterMs: UPSTREAM_RECHECK_MS };
    }
    return this.#rotateAndPublish(
      object,
      trustDomain,
      { mint: false, upstream, roots },
      stored,
      problem ?? cannotMint,
    );
  };

  /** Whether a KeyRevocation names this TrustDomain or its journal carries one under way. */
  #revoking(trustDomain: TrustDomain): boolean {
    if (requestsFor(this.#options.caches.keyRevocations, trustDomain.metadata.name).length > 0) return true;
    const journal = this.#options.caches.journals.get(trustDomain.spec.trustDomain);
    return journal !== undefined && !(journal instanceof JournalError) && inProgress(journal).length > 0;
  }

  /** The RegistrationEntries that use a TrustDomain, as namespace/name, read in slices. */
  async #users(name: string): Promise<string[]> {
    const users: string[] = [];
    for await (const entry of inSlices(this.#options.caches.registrationEntries.list())) {
      const parsed = entryRefSchema.safeParse(entry);
      if (parsed.success && parsed.data.spec.trustDomainRef.name === name)
        users.push(`${parsed.data.metadata.namespace}/${parsed.data.metadata.name}`);
    }
    return users.sort();
  }

  /**
   * A journal that is gone although this TrustDomain has published a bundle: minting new keys would
   * silently replace every key relying parties trust, so that takes an explicit annotation.
   */
  #lostJournal(trustDomain: TrustDomain, stored: StoredJournal): DesiredCondition | undefined {
    const published = trustDomain.status?.bundleSequence ?? 0;
    if (stored.resourceVersion !== undefined || published === 0) return undefined;
    if (trustDomain.metadata.annotations?.[ANNOTATION_REINITIALIZE_KEYS] === 'true') return undefined;
    return ready(
      TrustDomainReason.JournalMissing,
      `the journal Secret ${this.#options.operatorNamespace}/${journalSecretName(trustDomain.spec.trustDomain)} is gone, ` +
        `but bundle sequence ${published} was published from it; restore it from a backup, or annotate the ` +
        `TrustDomain ${ANNOTATION_REINITIALIZE_KEYS}=true to start over with new keys`,
    );
  }

  /** Problems with the spec that stop Trustline from touching the keys at all. */
  #refusal(trustDomain: TrustDomain): DesiredCondition | undefined {
    const lifetimes = lifetimeProblem(trustDomain.spec);
    if (lifetimes) return ready(TrustDomainReason.LifetimeTooShort, lifetimes);
    const conflict = ownershipIn(this.#options.caches.trustDomains, trustDomain);
    if (conflict) {
      return ready(
        conflict.kind === 'TrustDomain' ? TrustDomainReason.Conflict : TrustDomainReason.SignerConflict,
        conflict.message,
      );
    }
    return undefined;
  }

  /**
   * Advances revocations and, where a signer can be had, the authorities; records the journal; and
   * publishes its bundle everywhere. Without minting, the roots are `signing.roots` and `problem`
   * says why nothing new is signed.
   */
  async #rotateAndPublish(
    object: KubeObject,
    trustDomain: TrustDomain,
    signing: Signing,
    stored: StoredJournal,
    problem: DesiredCondition | undefined,
  ): Promise<ReconcileResult> {
    const { now: clock, failpoint, audit, metrics, events, log } = this.#options;
    const { upstream } = signing;
    const now = clock();
    const name = trustDomain.spec.trustDomain;
    const policy = authorityPolicy(trustDomain.spec);
    const mint = async (type: 'X509' | 'JWT'): Promise<Authority> => {
      const authority =
        type === 'X509'
          ? await mintX509Authority({
              trustDomain: name,
              keyType: policy.x509.keyType,
              now,
              ttlMs: policy.x509.ttlMs,
              upstream,
              uriNameConstraint: trustDomain.spec.ca.uriNameConstraint,
            })
          : await mintJwtAuthority({ algorithm: policy.jwt.algorithm, now, ttlMs: policy.jwt.ttlMs });
      audit.signed({
        operation: type === 'X509' ? 'x509-authority' : 'jwt-authority',
        trustDomain: name,
        signer: authority.type === 'X509' ? (authority.upstream?.signerId ?? authority.id) : authority.id,
        subject: authority.id,
        notBefore: authority.notBefore,
        notAfter: authority.notAfter,
        for: `TrustDomain/${trustDomain.metadata.name}`,
      });
      failpoint('authority-minted');
      return authority;
    };
    const revocations = await this.#advanceRevocations(trustDomain, stored.journal, upstream, now);
    const advanced = signing.mint
      ? await advanceAuthorities({
          journal: revocations.journal,
          now,
          policy,
          mint,
          upstreamSignerId: upstream?.signerId,
        })
      : {
          journal: revocations.journal,
          changes: [],
          nextCheckAt: new Date(now.getTime() + UPSTREAM_RECHECK_MS),
        };
    const settled = noteReplacements(advanced.journal);
    const bundle = buildTrustBundle({
      journal: settled,
      now,
      upstreamRoots: signing.mint ? upstream?.roots : signing.roots,
      refreshHintSeconds: refreshHintSeconds(policy),
    });
    const sequenced = sequenceFor(settled, bundle.contentHash);
    const journal = { ...sequenced, bundle: { ...sequenced.bundle, pem: bundle.files[BUNDLE_PEM_KEY] } };
    const changed = encodeJournal(journal) !== encodeJournal(stored.journal);
    // Audited before the write, as signings are: a record of a step never lost to a crash, at worst
    // repeated when the step is taken again.
    for (const step of revocations.steps) this.#auditRevocationStep(trustDomain, step);
    if (changed) {
      // The commit point: after this write the new keys exist; before it, they never did.
      await this.#journals.save(stored, journal);
      failpoint('journal-written');
      if (revocations.steps.some(({ step }) => step === 'Tainted')) failpoint('revocation-tainted');
      if (revocations.steps.some(({ step }) => step === 'Revoked')) failpoint('revocation-revoked');
    }
    for (const step of revocations.steps) await this.#revocationStepEvents(trustDomain, step);
    for (const change of advanced.changes) {
      metrics.countRotation(name, change.type, change.to);
      log.info({ trustDomain: name, ...change }, 'authority changed state');
      await events.record(
        { apiVersion: trustDomain.apiVersion, kind: trustDomain.kind, metadata: trustDomain.metadata },
        'Normal',
        CHANGE_EVENT[change.to],
        `${change.type === 'X509' ? 'X.509' : 'JWT'} authority ${change.id}: ${change.from ?? 'new'} to ${change.to} (${change.reason})`,
      );
    }
    metrics.setAuthorities(
      name,
      journal.authorities.map(({ type, id, state, notAfter }) => ({
        type,
        id,
        state,
        notAfter: new Date(notAfter),
      })),
    );
    metrics.setBundleSequence(name, journal.bundle.sequence);

    const statusFields = {
      authorities: authorityStatuses(journal),
      bundleSequence: journal.bundle.sequence,
      expiresAt: activeX509Expiry(journal),
      revocations: trustDomainRevocations(journal),
    };
    if (bundle.byteLength > CONFIGMAP_LIMIT_BYTES) {
      const tooLarge = ready(
        TrustDomainReason.BundleTooLarge,
        `the trust bundle is ${bundle.byteLength} bytes, over the ${CONFIGMAP_LIMIT_BYTES}-byte ConfigMap limit; remove roots from the upstream ca.crt`,
      );
      await this.#report(object, problem ?? tooLarge, statusFields, {
        ...tooLarge,
        type: BUNDLE_PUBLISHED_CONDITION,
      });
      return { requeueAfterMs: RESYNC_MS };
    }

    const owner = { name: trustDomain.metadata.name, uid: trustDomain.metadata.uid ?? '' };
    const configMaps = this.#options.caches.configMaps.list();
    const namespaces = await this.#bundleNamespaces(trustDomain);
    const published = await publish(
      this.#options.client,
      {
        name: trustDomain.spec.bundle.configMapName ?? `${trustDomain.metadata.name}-trust-bundle`,
        content: CONTENT_TRUST_BUNDLE,
        data: {
          [BUNDLE_PEM_KEY]: bundle.files[BUNDLE_PEM_KEY],
          [BUNDLE_SPIFFE_KEY]: bundle.files[BUNDLE_SPIFFE_KEY],
          [BUNDLE_JWKS_KEY]: bundle.files[BUNDLE_JWKS_KEY],
        },
        namespaces,
        owner,
      },
      await publishedCopies(configMaps, owner, CONTENT_TRUST_BUNDLE),
      () => {
        if (changed) failpoint('bundle-partly-published');
      },
    );
    const oidc = trustDomain.spec.oidc;
    const issuer = trustDomain.spec.jwt.issuer;
    // Without spec.oidc the plan is empty, which removes a copy left from when it was set.
    const discovery = await publish(
      this.#options.client,
      {
        name: oidc?.configMapName ?? '',
        content: CONTENT_OIDC_DISCOVERY,
        data: issuer ? oidcDiscoveryFiles({ issuer, jwks: bundle.files[BUNDLE_JWKS_KEY] }) : {},
        namespaces: oidc && issuer ? [oidc.namespace] : [],
        owner,
      },
      await publishedCopies(configMaps, owner, CONTENT_OIDC_DISCOVERY),
    );
    const trustBundleProblem = await this.#publishClusterTrustBundle(
      trustDomain,
      bundle.files[BUNDLE_PEM_KEY],
    );
    if (changed) failpoint('bundle-published');

    const active = journal.authorities.filter((authority) => authority.state === 'Active');
    const oidcCopy = `OIDC ConfigMap ${oidc?.namespace}/${oidc?.configMapName}`;
    const discoveryProblem =
      discovery.foreign.length > 0
        ? `${oidcCopy} exists and was not created by Trustline`
        : discovery.failed.map(({ message }) => message).join('; ');
    // Security before availability: say so when nothing signs X.509-SVIDs and nothing can be minted.
    const stopped =
      !signing.mint && problem && !active.some((authority) => authority.type === 'X509')
        ? {
            ...problem,
            message: `${problem.message}; issuance is stopped: the X.509 signer is tainted by a revocation and no successor can be minted until this is repaired`,
          }
        : problem;
    const { foreign, failed } = published;
    await this.#report(
      object,
      stopped ??
        (discoveryProblem
          ? ready(
              TrustDomainReason.OIDCNotPublished,
              `the OIDC discovery documents were not written: ${discoveryProblem}`,
            )
          : ready(
              TrustDomainReason.Ready,
              `active authorities: ${active.map((authority) => `${authority.type} ${authority.id}`).join(', ')}; bundle sequence ${journal.bundle.sequence}`,
              'True',
            )),
      {
        ...statusFields,
        bundleNamespaces: namespaces.length - foreign.length - failed.length,
        foreignBundleNamespaces: foreign,
      },
      // Every copy counts, whatever Ready says: a ClusterTrustBundle or OIDC document that was not
      // written may still hold a revoked key, so the bundle is not published.
      bundlePublishedCondition(
        namespaces.length,
        { bundle: foreign, others: discovery.foreign.length > 0 ? [oidcCopy] : [] },
        [
          ...failed,
          ...discovery.failed.map(({ message }) => ({ namespace: oidcCopy, message })),
          ...(trustBundleProblem ? [{ namespace: 'ClusterTrustBundle', message: trustBundleProblem }] : []),
        ],
      ),
    );
    const rootExpiries = (upstream?.roots ?? [])
      .map((root) => Date.parse(root.notAfter))
      .filter((expiry) => expiry > now.getTime());
    const retries = [
      ...(failed.length > 0 || discovery.failed.length > 0 || trustBundleProblem
        ? [now.getTime() + PUBLISH_RETRY_MS]
        : []),
      ...(problem ? [now.getTime() + HELD_RECHECK_MS] : []),
    ];
    const wakeAt = Math.min(
      advanced.nextCheckAt.getTime(),
      revocations.nextCheckAt?.getTime() ?? Number.POSITIVE_INFINITY,
      ...rootExpiries,
      ...retries,
    );
    return {
      requeueAfterMs: Math.min(RESYNC_MS, Math.max(0, wakeAt - clock().getTime()) + THRESHOLD_SLACK_MS),
    };
  }

  /**
   * Taints what accepted KeyRevocations name and revokes what has been re-issued and waited out. The
   * SVID Secrets are counted only while a revocation needs them.
   */
  async #advanceRevocations(
    trustDomain: TrustDomain,
    journal: Journal,
    upstream: UpstreamCA | undefined,
    now: Date,
  ): Promise<AdvanceRevocationsResult> {
    const { caches, operatorNamespace } = this.#options;
    const requests = requestsFor(caches.keyRevocations, trustDomain.metadata.name);
    const plans: RevocationPlan[] = [];
    const followers: RevocationRequest[] = [];
    if (requests.length > 0) {
      const context = revocationContext({
        trustDomain,
        journal,
        upstream,
        operatorNamespace,
        trustDomains: caches.trustDomains,
        journals: caches.journals,
      });
      for (const request of requests) {
        const assessment = assessRevocation(request, context);
        if (assessment.state === 'accepted') plans.push(assessment.plan);
        if (assessment.state === 'recorded' && !assessment.own) followers.push(request);
      }
    }
    const counting = plans.length > 0 || inProgress(journal).length > 0;
    const counts = counting
      ? await svidsBySigner(caches.registrationEntries, caches.svidSecrets, trustDomain.metadata.name)
      : { reissuable: new Map(), unwritable: new Map() };
    return advanceRevocations({
      journal,
      now,
      plans,
      followers,
      svidsBySigner: counts.reissuable,
      unwritableBySigner: counts.unwritable,
      podCertificates: counting ? ((await caches.podCertificates?.of(signerNameOf(trustDomain))) ?? []) : [],
    });
  }

  #auditRevocationStep(trustDomain: TrustDomain, { step, record }: RevocationStep): void {
    this.#options.audit.revocation({
      step,
      trustDomainRef: trustDomain.metadata.name,
      trustDomain: trustDomain.spec.trustDomain,
      kind: record.kind,
      id: record.id,
      keyRevocation: record.requestedBy,
      reason: record.reason,
      detail: revocationStepMessage(step, record),
    });
  }

  /** An event on the KeyRevocation (while it exists) and on the TrustDomain. */
  async #revocationStepEvents(trustDomain: TrustDomain, { step, record }: RevocationStep): Promise<void> {
    const { events, log, caches } = this.#options;
    const message = revocationStepMessage(step, record);
    log.info({ trustDomain: trustDomain.spec.trustDomain, step, kind: record.kind, id: record.id }, message);
    const revocation = caches.keyRevocations.get(record.requestedBy);
    const reason = `Authority${step}`;
    if (revocation) {
      await events.record(
        { apiVersion: API_VERSION, kind: keyRevocationKind.kind, metadata: revocation.metadata },
        'Normal',
        reason,
        message,
      );
    }
    await events.record(
      { apiVersion: trustDomain.apiVersion, kind: trustDomain.kind, metadata: trustDomain.metadata },
      'Normal',
      reason,
      message,
    );
  }

  /**
   * The namespaces the bundle goes to: every one the selector matches that is not being deleted. A
   * cluster may have thousands: they are read in slices that let the event loop turn.
   */
  async #bundleNamespaces(trustDomain: TrustDomain): Promise<string[]> {
    const selector = trustDomain.spec.bundle.namespaceSelector ?? {};
    const selected: string[] = [];
    for await (const object of inSlices(this.#options.caches.namespaces.list())) {
      const namespace = namespaceSchema.safeParse(object);
      if (!namespace.success || namespace.data.metadata.deletionTimestamp) continue;
      if (selectorMatches(selector, namespace.data.metadata.labels))
        selected.push(namespace.data.metadata.name);
    }
    return selected.sort();
  }

  /** Drops the metrics of a deleted TrustDomain, unless another object serves the same name. */
  #forgetMetrics(object: KubeObject): void {
    const claimed = claimedTrustDomain(object);
    if (claimed === undefined) return;
    const others = claimsIn(this.#options.caches.trustDomains).filter(
      (claim) => claim.name !== object.metadata.name,
    );
    if (others.some((claim) => claim.trustDomain === claimed)) return;
    this.#options.metrics.forgetTrustDomain(claimed);
  }

  async #setFinalizers(object: KubeObject, finalizers: string[]): Promise<void> {
    await this.#options.client.request('PATCH', objectPath(resource, object.metadata.name), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers, resourceVersion: object.metadata.resourceVersion } },
    });
  }

  /** The ClusterTrustBundle of the TrustDomain's signer; a failure is reported and retried, not thrown. */
  async #publishClusterTrustBundle(trustDomain: TrustDomain, pem: string): Promise<string | undefined> {
    const target = this.#options.clusterTrustBundles;
    if (!target) return undefined;
    const signerName = signerNameOf(trustDomain);
    try {
      await publishClusterTrustBundle(
        this.#options.client,
        target.resource,
        target.cache,
        {
          name: trustDomain.metadata.name,
          uid: trustDomain.metadata.uid ?? '',
          signerName,
        },
        pem,
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      const message = `the ClusterTrustBundle of signer ${signerName} was not written: ${error.message}`;
      this.#options.log.warn({ trustDomain: trustDomain.metadata.name, err: error }, message);
      await this.#options.events.record(
        { apiVersion: trustDomain.apiVersion, kind: trustDomain.kind, metadata: trustDomain.metadata },
        'Warning',
        'ClusterTrustBundleNotPublished',
        message,
      );
      return message;
    }
  }

  #report(
    object: KubeObject,
    condition: DesiredCondition,
    fields: Record<string, unknown> = {},
    ...more: DesiredCondition[]
  ): Promise<boolean> {
    return writeStatus(
      this.#options.client,
      resource,
      object,
      fields,
      [condition, ...more],
      this.#options.now(),
    );
  }
}
