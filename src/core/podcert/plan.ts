import { durationMs } from '../../api/duration.ts';
import type { PodModeEntry } from '../../api/registrationentry.ts';
import type { TrustDomain, X509KeyType } from '../../api/trustdomain.ts';
import { activeAuthority } from '../authorities/lifecycle.ts';
import type { Journal, X509Authority } from '../authorities/model.ts';
import type { ClaimVerdict } from '../claims.ts';
import { isRefusal, keyTypeRefusal, x509Lifetime } from '../svid/desired-identity.ts';
import type { SignedX509Svid } from '../svid/x509-svid.ts';
import { podBindingProblem, type RequestClaims } from './pod-binding.ts';
import { RequestKeyError, requestKey, SIGNABLE_KEY_TYPES } from './public-key.ts';
import type { PodCertificateDenial, PodCertificateFailure } from './reasons.ts';
import { chooseEntry, fillPath, type PodEntry, type SelectablePod } from './selection.ts';
import { MIN_POD_CERTIFICATE_LIFETIME_MS, podCertificateValidity } from './validity.ts';

/** While the trust domain has no active authority, or it ends within the hour, look again this soon. */
export const NOT_READY_RETRY_MS = 5_000;

/** The request as the planner reads it. */
export interface ObservedRequest {
  namespace: string;
  name: string;
  spec: RequestClaims & {
    signerName: string;
    maxExpirationSeconds: number;
    stubPKCS10Request?: string | undefined;
    pkixPublicKey?: string | undefined;
    unverifiedUserAnnotations?: Record<string, string> | undefined;
  };
}

/** The pod a request names, as the cluster has it. */
export interface ObservedPod {
  facts: SelectablePod;
  nodeName: string | undefined;
  deletionTimestamp: string | undefined;
}

/** What the planner knows of the TrustDomain object that answers for the request's signer name. */
export interface ObservedSigner {
  trustDomain: TrustDomain;
  /** Why it may not issue to the namespace at all. */
  refusal: { reason: PodCertificateDenial; message: string } | undefined;
  /** Its pod-mode entries in the namespace. */
  entries: () => readonly (PodEntry & { entry: PodModeEntry })[];
  /** Whether the namespace may claim an identity; NamespaceNotCached while its labels are unknown. */
  claim: (identity: {
    spiffeIDPath: string;
    dnsNames: readonly string[];
  }) => ClaimVerdict | { allowed: false; rule: 'NamespaceNotCached'; message: string };
  journal: Journal | Error | undefined;
}

/** What the planner looks at; the pod and its ServiceAccount are read only when a decision needs them. */
export interface PodCertificateObservation {
  request: ObservedRequest;
  /** Undefined when no TrustDomain object answers for the signer name. */
  signer: ObservedSigner | undefined;
  pod: () => Promise<ObservedPod | undefined>;
  serviceAccountUid: (name: string) => Promise<string | undefined>;
  now: Date;
  random: () => number;
}

export interface X509Template {
  spiffeId: string;
  dnsNames: readonly string[];
  spki: Buffer;
  keyType: X509KeyType;
  notBefore: Date;
  notAfter: Date;
}

/** Signs with an authority's key; asynchronous so that key generation or an HSM fits behind it. */
export interface AuthoritySigner {
  signX509(authority: X509Authority, template: X509Template): Promise<SignedX509Svid>;
}

export type PodCertificateConclusion =
  | { outcome: 'Denied'; reason: PodCertificateDenial; message: string }
  | { outcome: 'Failed'; reason: PodCertificateFailure; message: string };

/** What to do with a request: write nothing and look again, conclude it, or issue the certificate. */
export type PodCertificatePlan =
  | { retryAfterMs: number }
  | PodCertificateConclusion
  | { outcome: 'Issued'; status: IssuedStatus; audit: IssuedAudit };

export interface IssuedStatus {
  message: string;
  certificateChain: string;
  notBefore: string;
  beginRefreshAt: string;
  notAfter: string;
}

/** The signing, for the audit log: recorded before the status is written. */
export interface IssuedAudit {
  operation: 'x509-svid';
  trustDomain: string;
  spiffeId: string;
  entryUid: string;
  keyType: X509KeyType;
  reason: string;
  signer: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  for: string;
}

const retry = { retryAfterMs: NOT_READY_RETRY_MS };
const denied = (reason: PodCertificateDenial, message: string) => ({
  outcome: 'Denied' as const,
  reason,
  message,
});

/**
 * Decides a PodCertificateRequest to one of Trustline's signers: finds the pod and the entry that selects
 * it, and either plans the X.509-SVID for the kubelet's key or says why not. A transient problem (no
 * active authority yet, a namespace not cached) plans another look.
 */
export async function planPodCertificate(
  observed: PodCertificateObservation,
  signer: AuthoritySigner,
): Promise<PodCertificatePlan> {
  const { request, signer: answering } = observed;
  const { spec, namespace } = request;
  if (!answering) return denied('UnknownSigner', `no TrustDomain answers for signer ${spec.signerName}`);
  const { trustDomain } = answering;
  if (answering.refusal) return { outcome: 'Denied', ...answering.refusal };
  const pod = await observed.pod();
  if (!pod) return denied('PodNotFound', `pod ${namespace}/${spec.podName} does not exist`);
  const { facts } = pod;
  const binding = podBindingProblem(spec, {
    namespace,
    uid: facts.uid,
    nodeName: pod.nodeName,
    serviceAccountName: facts.serviceAccountName,
    deletionTimestamp: pod.deletionTimestamp,
    serviceAccountUID: await observed.serviceAccountUid(facts.serviceAccountName),
  });
  if (binding) return denied(binding.rule, binding.message);
  const choice = chooseEntry(facts, answering.entries(), spec.unverifiedUserAnnotations ?? {});
  if ('denied' in choice) return denied(choice.denied, choice.message);
  const { entry } = choice.entry;

  let key: ReturnType<typeof requestKey>;
  try {
    key = requestKey(spec);
  } catch (error) {
    if (!(error instanceof RequestKeyError)) throw error;
    return error.code === 'UnknownKeyType'
      ? denied('UnsupportedKeyType', `${error.message}; use ECDSAP256`)
      : { outcome: 'Failed', reason: 'MalformedRequest', message: error.message };
  }
  const svidKeyType = SIGNABLE_KEY_TYPES[key.keyType];
  const wanted = entry.spec.x509.keyType;
  if (svidKeyType === undefined || (wanted !== undefined && wanted !== svidKeyType)) {
    const allowed = wanted
      ? `RegistrationEntry ${entry.metadata.name} asks for ${wanted} keys`
      : `Trustline signs ${Object.keys(SIGNABLE_KEY_TYPES).join(', ')}`;
    return denied(
      'UnsupportedKeyType',
      `the kubelet made a ${key.keyType} key; ${allowed}: set the podCertificate volume's keyType to match (ECDSAP256 suits most)`,
    );
  }

  const limit =
    keyTypeRefusal(svidKeyType, trustDomain.spec, 'the kubelet made a key of type') ??
    x509Lifetime(entry.spec, trustDomain.spec);
  if (isRefusal(limit)) return denied(limit.refused, limit.message);

  const spiffeIDPath = fillPath(entry.spec.spiffeIDPath, facts);
  const dnsNames = entry.spec.dnsNames ?? [];
  const verdict = answering.claim({ spiffeIDPath, dnsNames });
  if (!verdict.allowed && verdict.rule === 'NamespaceNotCached') return retry;
  if (!verdict.allowed) return denied(verdict.rule, verdict.message);

  const { journal } = answering;
  const { now } = observed;
  if (!journal || journal instanceof Error) return retry;
  const authority = activeAuthority(journal, 'X509');
  if (!authority) return retry;
  const validity = podCertificateValidity({
    now,
    entryTtlMs: limit.ttlMs,
    maxExpirationSeconds: spec.maxExpirationSeconds,
    authorityNotAfter: new Date(authority.notAfter),
    random: observed.random,
  });
  if ('tooShort' in validity) {
    // A CA lifetime under an hour never leaves room; otherwise the next authority soon will.
    if (durationMs(trustDomain.spec.ca.ttl) > MIN_POD_CERTIFICATE_LIFETIME_MS) return retry;
    return {
      outcome: 'Failed',
      reason: 'AuthorityLifetimeTooShort',
      message: `${validity.tooShort}; TrustDomain ${trustDomain.metadata.name} has ca.ttl ${trustDomain.spec.ca.ttl}`,
    };
  }

  const spiffeId = `spiffe://${trustDomain.spec.trustDomain}${spiffeIDPath}`;
  const svid = await signer.signX509(authority, {
    spiffeId,
    dnsNames,
    spki: key.spki,
    keyType: svidKeyType,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
  });
  const lifetime = validity.adjusted ? `; lifetime ${validity.adjusted}` : '';
  return {
    outcome: 'Issued',
    audit: {
      operation: 'x509-svid',
      trustDomain: trustDomain.spec.trustDomain,
      spiffeId,
      entryUid: entry.metadata.uid ?? '',
      keyType: svidKeyType,
      reason: `pod-certificate: pod ${namespace}/${spec.podName} on node ${spec.nodeName}${lifetime}`,
      signer: svid.authorityId,
      subject: svid.serial,
      notBefore: svid.notBefore.toISOString(),
      notAfter: svid.notAfter.toISOString(),
      for: `PodCertificateRequest/${namespace}/${request.name}`,
    },
    status: {
      message: `${spiffeId} for pod ${spec.podName} from RegistrationEntry ${entry.metadata.name}, signed by X.509 authority ${svid.authorityId}${lifetime}`,
      certificateChain: [svid.certificate, ...svid.chain].join(''),
      notBefore: svid.notBefore.toISOString(),
      beginRefreshAt: validity.beginRefreshAt.toISOString(),
      notAfter: svid.notAfter.toISOString(),
    },
  };
}
