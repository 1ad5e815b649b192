import { hasPlaceholders, type PodModeEntry } from '../../api/registrationentry.ts';
import { signerNameOf, type TrustDomain } from '../../api/trustdomain.ts';
import { USER_ANNOTATION_ENTRY } from '../../api/well-known.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import { activeAuthority } from '../../core/authorities/lifecycle.ts';
import { readyCondition as ready } from '../../core/conditions.ts';
import { podEntryView } from '../../core/podcert/selection.ts';
import { isRefusal, keyTypeRefusal, x509Lifetime } from '../../core/svid/desired-identity.ts';
import { EntryReason } from '../../core/svid/reasons.ts';
import type { KubeObject } from '../../kube/informer.ts';
import { parsePod } from '../../kube/objects.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import { asPodEntry, podEntriesIn, selectablePod } from '../podcertificate/pods.ts';
import { issuanceRefusal } from '../signing-context.ts';
import { claimRefusal } from './claim.ts';
import type { EntryControllerOptions } from './options.ts';
import { type EntryReporter, RECHECK_MS } from './refusals.ts';

/**
 * A workloadSelector entry signs nothing itself: kubelets ask for each pod's certificate. Its status
 * tells which pods it selects, which of them it serves, and who serves the rest.
 */
export async function reconcilePodEntry(
  options: EntryControllerOptions,
  reporter: EntryReporter,
  object: KubeObject,
  entry: PodModeEntry,
  trustDomain: TrustDomain,
): Promise<ReconcileResult> {
  const { pods, journals, entries } = options;
  const namespace = entry.metadata.namespace ?? '';
  if (pods === undefined) {
    await reporter.refuse(
      object,
      EntryReason.PodCertificatesUnavailable,
      'this cluster does not serve PodCertificateRequests (certificates.k8s.io v1, or v1beta1 with the PodCertificateRequest feature gate): use spec.secret instead of spec.workloadSelector',
    );
    return undefined;
  }
  const refusal = issuanceRefusal(options, namespace, trustDomain) ?? podEntryLimits(entry, trustDomain);
  if (refusal) {
    await reporter.refuse(object, refusal.reason, refusal.message);
    return undefined;
  }
  if (!hasPlaceholders(entry.spec.spiffeIDPath)) {
    const claim = await claimRefusal(options, reporter, object, entry, trustDomain);
    if (claim) return claim.result;
  }
  const journal = journals.get(trustDomain.spec.trustDomain);
  if (journal instanceof JournalError || !journal || !activeAuthority(journal, 'X509')) {
    await reporter.refuse(
      object,
      EntryReason.TrustDomainNotReady,
      `TrustDomain ${trustDomain.metadata.name} has no active X.509 authority yet`,
    );
    return { requeueAfterMs: RECHECK_MS };
  }
  const signerName = signerNameOf(trustDomain);
  const candidates = podEntriesIn(entries, namespace, trustDomain.metadata.name);
  const me = candidates.find((candidate) => candidate.name === entry.metadata.name) ?? asPodEntry(entry);
  const view = podEntryView(
    me,
    pods.byNamespace(namespace).flatMap((podObject) => {
      const pod = parsePod(podObject);
      return pod ? [selectablePod(pod, signerName)] : [];
    }),
    candidates,
  );
  const spiffeId = `spiffe://${trustDomain.spec.trustDomain}${entry.spec.spiffeIDPath}`;
  const others = view.servedByOthers.length;
  await reporter.report(
    object,
    ready(
      EntryReason.ServingPods,
      `serves ${view.served} of the ${view.selected} pods it selects as ${spiffeId} through signer ${signerName}${others > 0 ? `; ${others} selected pods are served by another entry (the pod names one through the ${USER_ANNOTATION_ENTRY} user annotation, or else the oldest entry wins)` : ''}`,
      'True',
    ),
    {
      spiffeID: spiffeId,
      pods: {
        signerName,
        selected: view.selected,
        served: view.served,
        ...(others > 0 ? { servedByOthers: view.servedByOthers.slice(0, 10) } : {}),
      },
    },
  );
  return undefined;
}

/** A pod entry's own limits breaches: the kubelet's key type is judged per request, by the signer. */
function podEntryLimits(entry: PodModeEntry, trustDomain: TrustDomain) {
  const { keyType } = entry.spec.x509;
  const keyRefusal =
    keyType === undefined ? undefined : keyTypeRefusal(keyType, trustDomain.spec, 'x509.keyType asks for');
  if (keyRefusal) return { reason: keyRefusal.refused, message: keyRefusal.message };
  const lifetime = x509Lifetime(entry.spec, trustDomain.spec);
  return isRefusal(lifetime) ? { reason: lifetime.refused, message: lifetime.message } : undefined;
}
