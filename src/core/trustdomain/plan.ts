import type { TrustDomain } from '../../api/trustdomain.ts';
import {
  BUNDLE_JWKS_KEY,
  BUNDLE_PEM_KEY,
  BUNDLE_SPIFFE_KEY,
  CONTENT_OIDC_DISCOVERY,
  CONTENT_TRUST_BUNDLE,
} from '../../api/well-known.ts';
import { encodeJournal } from '../authorities/journal-codec.ts';
import { type AuthorityChange, advanceAuthorities } from '../authorities/lifecycle.ts';
import type { Authority, Journal } from '../authorities/model.ts';
import { oidcDiscoveryFiles } from '../bundle/oidc.ts';
import { buildTrustBundle, refreshHintSeconds, sequenceFor } from '../bundle/trust-bundle.ts';
import type { DesiredCondition } from '../conditions.ts';
import type { Publication } from '../publication.ts';
import {
  assessRevocation,
  type RevocationContext,
  type RevocationPlan,
  type RevocationRequest,
} from '../revocation/assess.ts';
import type { PodCertificateRecord } from '../revocation/pod-certificates.ts';
import {
  advanceRevocations,
  inProgress,
  noteReplacements,
  type RevocationStep,
} from '../revocation/progress.ts';
import { trustDomainRevocations } from '../revocation/status.ts';
import { type JournalAsStored, type Signing, UPSTREAM_RECHECK_MS } from './gate.ts';
import { authorityPolicy } from './lifetimes.ts';
import type { AuthorityMinter } from './minter.ts';
import {
  changeEvent,
  type PlannedAudit,
  type PlannedEvent,
  revocationStepRecords,
  signedRecord,
} from './records.ts';
import { activeX509Expiry, authorityStatuses } from './status.ts';

/** What a revocation counts, read only while one needs it: SVIDs and pod certificates by signer. */
export interface RevocationCounts {
  reissuable: ReadonlyMap<string, number>;
  unwritable: ReadonlyMap<string, number>;
  podCertificates: readonly PodCertificateRecord[];
}

export interface RotationInput {
  trustDomain: TrustDomain;
  stored: JournalAsStored;
  signing: Signing;
  /** Why the TrustDomain is not Ready although the pipeline runs. */
  problem: DesiredCondition | undefined;
  now: Date;
  minter: AuthorityMinter;
  /** The valid KeyRevocations naming this TrustDomain and what assessing them needs; none without. */
  revocations: { requests: readonly RevocationRequest[]; context: RevocationContext } | undefined;
  counts: () => Promise<RevocationCounts>;
  /** The namespaces the bundle goes to, sorted. */
  namespaces: readonly string[];
}

export interface RotationPlan {
  input: RotationInput;
  /** The journal to record before anything it signs goes out: undefined when it did not change. */
  write: Journal | undefined;
  journal: Journal;
  steps: RevocationStep[];
  changes: AuthorityChange[];
  /** Recorded before the journal write, so a crash at worst repeats them. */
  audit: PlannedAudit[];
  /** Recorded after the journal write. */
  events: PlannedEvent[];
  statusFields: Record<string, unknown>;
  bundleBytes: number;
  /** The copies that should exist; `oversized` says when the bundle may go nowhere. */
  publications: { bundle: Publication; oidc: Publication; clusterTrustBundlePem: string };
  /** The earliest instant the lifecycle or a revocation could change something. */
  nextCheckAt: number;
}

async function advanceRevocationsOf(input: RotationInput) {
  const { stored, revocations, now } = input;
  const plans: RevocationPlan[] = [];
  const followers: RevocationRequest[] = [];
  const assessed = revocations
    ? revocations.requests.map((request) => ({
        request,
        assessment: assessRevocation(request, revocations.context),
      }))
    : [];
  for (const { request, assessment } of assessed) {
    if (assessment.state === 'accepted') plans.push(assessment.plan);
    if (assessment.state === 'recorded' && !assessment.own) followers.push(request);
  }
  // The SVID Secrets are counted only while a revocation needs them.
  const counting = plans.length > 0 || inProgress(stored.journal).length > 0;
  const counts = counting ? await input.counts() : undefined;
  return advanceRevocations({
    journal: stored.journal,
    now,
    plans,
    followers,
    svidsBySigner: counts?.reissuable ?? new Map(),
    unwritableBySigner: counts?.unwritable ?? new Map(),
    podCertificates: counts?.podCertificates ?? [],
  });
}

/**
 * Advances revocations and, where a signer can be had, the authorities; decides the journal to
 * record and the bundle, OIDC documents and ClusterTrustBundle to publish from it.
 */
export async function planRotation(input: RotationInput): Promise<RotationPlan> {
  const { trustDomain, stored, signing, now, minter } = input;
  const { upstream } = signing;
  const name = trustDomain.spec.trustDomain;
  const policy = authorityPolicy(trustDomain.spec);
  const audit: PlannedAudit[] = [];
  const mint = async (type: 'X509' | 'JWT'): Promise<Authority> => {
    const authority =
      type === 'X509'
        ? await minter.x509({
            trustDomain: name,
            keyType: policy.x509.keyType,
            now,
            ttlMs: policy.x509.ttlMs,
            upstream,
            uriNameConstraint: trustDomain.spec.ca.uriNameConstraint,
          })
        : await minter.jwt({ algorithm: policy.jwt.algorithm, now, ttlMs: policy.jwt.ttlMs });
    audit.push(signedRecord(trustDomain, authority));
    return authority;
  };
  const revocations = await advanceRevocationsOf(input);
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
  const steps = revocations.steps.flatMap((step) => revocationStepRecords(trustDomain, step));
  const owner = { name: trustDomain.metadata.name, uid: trustDomain.metadata.uid ?? '' };
  const { oidc } = trustDomain.spec;
  const issuer = trustDomain.spec.jwt.issuer;
  return {
    input,
    write: encodeJournal(journal) !== encodeJournal(stored.journal) ? journal : undefined,
    journal,
    steps: revocations.steps,
    changes: advanced.changes,
    audit: [...audit, ...steps.map(({ audit }) => audit)],
    events: [...steps.flatMap(({ events }) => events), ...advanced.changes.map(changeEvent)],
    statusFields: {
      authorities: authorityStatuses(journal),
      bundleSequence: journal.bundle.sequence,
      expiresAt: activeX509Expiry(journal),
      revocations: trustDomainRevocations(journal),
    },
    bundleBytes: bundle.byteLength,
    publications: {
      bundle: {
        name: trustDomain.spec.bundle.configMapName ?? `${trustDomain.metadata.name}-trust-bundle`,
        content: CONTENT_TRUST_BUNDLE,
        data: {
          [BUNDLE_PEM_KEY]: bundle.files[BUNDLE_PEM_KEY],
          [BUNDLE_SPIFFE_KEY]: bundle.files[BUNDLE_SPIFFE_KEY],
          [BUNDLE_JWKS_KEY]: bundle.files[BUNDLE_JWKS_KEY],
        },
        namespaces: input.namespaces,
        owner,
      },
      // Without spec.oidc the publication is empty, which removes a copy left from when it was set.
      oidc: {
        name: oidc?.configMapName ?? '',
        content: CONTENT_OIDC_DISCOVERY,
        data: issuer ? oidcDiscoveryFiles({ issuer, jwks: bundle.files[BUNDLE_JWKS_KEY] }) : {},
        namespaces: oidc && issuer ? [oidc.namespace] : [],
        owner,
      },
      clusterTrustBundlePem: bundle.files[BUNDLE_PEM_KEY],
    },
    nextCheckAt: Math.min(
      advanced.nextCheckAt.getTime(),
      revocations.nextCheckAt?.getTime() ?? Number.POSITIVE_INFINITY,
    ),
  };
}
