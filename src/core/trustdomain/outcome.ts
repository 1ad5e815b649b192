import { CONFIGMAP_LIMIT_BYTES } from '../bundle/trust-bundle.ts';
import type { DesiredCondition } from '../conditions.ts';
import { readyCondition as ready } from '../conditions.ts';
import { bundlePublishedCondition } from './conditions.ts';
import { HELD_RECHECK_MS } from './gate.ts';
import type { RotationPlan } from './plan.ts';
import { BUNDLE_PUBLISHED_CONDITION, TrustDomainReason } from './reasons.ts';

/** A level-triggered safety net: foreign ConfigMaps and namespaces are looked at again this often. */
export const RESYNC_MS = 10 * 60_000;
/** Wake a little after a threshold so the clock has surely passed it. */
const THRESHOLD_SLACK_MS = 1_000;
/** How soon a namespace whose write failed is tried again. */
export const PUBLISH_RETRY_MS = 15_000;

/** What writing one publication came to. */
export interface PublicationOutcome {
  /** Namespaces where a ConfigMap of that name exists that Trustline did not create. */
  foreign: readonly string[];
  failed: readonly { namespace: string; message: string }[];
}

export interface PublishedOutcome {
  bundle: PublicationOutcome;
  oidc: PublicationOutcome;
  /** Why the ClusterTrustBundle was not written, if it was not. */
  clusterTrustBundle: string | undefined;
}

/** The status to write, once, and when to look again. */
export interface Conclusion {
  fields: Record<string, unknown>;
  conditions: DesiredCondition[];
  requeueAfterMs: number;
}

/** A bundle over the ConfigMap limit is published nowhere: the status says so. */
export function oversized(plan: RotationPlan): Conclusion | undefined {
  if (plan.bundleBytes <= CONFIGMAP_LIMIT_BYTES) return undefined;
  const tooLarge = ready(
    TrustDomainReason.BundleTooLarge,
    `the trust bundle is ${plan.bundleBytes} bytes, over the ${CONFIGMAP_LIMIT_BYTES}-byte ConfigMap limit; remove roots from the upstream ca.crt`,
  );
  return {
    fields: plan.statusFields,
    conditions: [plan.input.problem ?? tooLarge, { ...tooLarge, type: BUNDLE_PUBLISHED_CONDITION }],
    requeueAfterMs: RESYNC_MS,
  };
}

function readyCondition(plan: RotationPlan, outcome: PublishedOutcome, oidcCopy: string): DesiredCondition {
  const { problem, signing } = plan.input;
  const active = plan.journal.authorities.filter((authority) => authority.state === 'Active');
  // Security before availability: say so when nothing signs X.509-SVIDs and nothing can be minted.
  if (problem) {
    return !signing.mint && !active.some((authority) => authority.type === 'X509')
      ? {
          ...problem,
          message: `${problem.message}; issuance is stopped: the X.509 signer is tainted by a revocation and no successor can be minted until this is repaired`,
        }
      : problem;
  }
  const discoveryProblem =
    outcome.oidc.foreign.length > 0
      ? `${oidcCopy} exists and was not created by Trustline`
      : outcome.oidc.failed.map(({ message }) => message).join('; ');
  if (discoveryProblem) {
    return ready(
      TrustDomainReason.OIDCNotPublished,
      `the OIDC discovery documents were not written: ${discoveryProblem}`,
    );
  }
  return ready(
    TrustDomainReason.Ready,
    `active authorities: ${active.map((authority) => `${authority.type} ${authority.id}`).join(', ')}; bundle sequence ${plan.journal.bundle.sequence}`,
    'True',
  );
}

/**
 * The status after the publications were written, and when to look again: the next lifecycle or
 * revocation threshold, an upstream root's expiry, or a retry of what failed. `at` is the clock now.
 */
export function conclude(plan: RotationPlan, outcome: PublishedOutcome, at: Date): Conclusion {
  const { input } = plan;
  const { bundle, oidc } = outcome;
  const namespaces = input.namespaces;
  const oidcConfig = input.trustDomain.spec.oidc;
  const oidcCopy = `OIDC ConfigMap ${oidcConfig?.namespace}/${oidcConfig?.configMapName}`;
  // Every copy counts, whatever Ready says: a ClusterTrustBundle or OIDC document that was not
  // written may still hold a revoked key, so the bundle is not published.
  const published = bundlePublishedCondition(
    namespaces.length,
    { bundle: bundle.foreign, others: oidc.foreign.length > 0 ? [oidcCopy] : [] },
    [
      ...bundle.failed,
      ...oidc.failed.map(({ message }) => ({ namespace: oidcCopy, message })),
      ...(outcome.clusterTrustBundle
        ? [{ namespace: 'ClusterTrustBundle', message: outcome.clusterTrustBundle }]
        : []),
    ],
  );
  const now = input.now.getTime();
  const rootExpiries = (input.signing.upstream?.roots ?? [])
    .map((root) => Date.parse(root.notAfter))
    .filter((expiry) => expiry > now);
  const failed = bundle.failed.length > 0 || oidc.failed.length > 0 || outcome.clusterTrustBundle;
  const wakeAt = Math.min(
    plan.nextCheckAt,
    ...rootExpiries,
    ...(failed ? [now + PUBLISH_RETRY_MS] : []),
    ...(input.problem ? [now + HELD_RECHECK_MS] : []),
  );
  return {
    fields: {
      ...plan.statusFields,
      bundleNamespaces: namespaces.length - bundle.foreign.length - bundle.failed.length,
      foreignBundleNamespaces: bundle.foreign,
    },
    conditions: [readyCondition(plan, outcome, oidcCopy), published],
    requeueAfterMs: Math.min(RESYNC_MS, Math.max(0, wakeAt - at.getTime()) + THRESHOLD_SLACK_MS),
  };
}
