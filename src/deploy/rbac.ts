import { GROUP, SIGNER_DOMAIN } from '../api/group.ts';
import { allKinds } from '../api/kinds.ts';
import { registrationEntryKind } from '../api/registrationentry.ts';
import { trustDomainKind } from '../api/trustdomain.ts';
import { CERTIFICATES_GROUP, leaseResource } from '../kube/resources.ts';
import { LEADER_LEASE_NAME } from './names.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

const plurals = allKinds.map((kind) => kind.plural);
const READ = ['get', 'list', 'watch'];

/**
 * What the operator may do cluster-wide. The single source for every RBAC manifest Trustline ships:
 * `npm run generate` writes it into the Helm chart and the kustomize base.
 */
export const operatorClusterRules: PolicyRule[] = [
  { apiGroups: [GROUP], resources: plurals, verbs: READ },
  { apiGroups: [GROUP], resources: plurals.map((plural) => `${plural}/status`), verbs: ['patch'] },
  // Finalizers that hold a TrustDomain's deletion while RegistrationEntries use it.
  { apiGroups: [GROUP], resources: [trustDomainKind.plural], verbs: ['patch'] },
  // The bundle goes to every namespace a TrustDomain selects, including ones created later.
  { apiGroups: [''], resources: ['namespaces'], verbs: READ },
  // No delete: a copy a TrustDomain no longer wants is emptied by update, so no root lingers in it.
  { apiGroups: [''], resources: ['configmaps'], verbs: [...READ, 'create', 'update', 'patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  // Projected-volume mode: answer kubelets' requests for pods, and publish each signer's trust bundle.
  { apiGroups: [''], resources: ['pods'], verbs: READ },
  // A request's ServiceAccount UID is checked against the pod's ServiceAccount, read by name.
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] },
  { apiGroups: [CERTIFICATES_GROUP], resources: ['podcertificaterequests'], verbs: READ },
  { apiGroups: [CERTIFICATES_GROUP], resources: ['podcertificaterequests/status'], verbs: ['update'] },
  {
    apiGroups: [CERTIFICATES_GROUP],
    resources: ['signers'],
    resourceNames: [`${SIGNER_DOMAIN}/*`],
    verbs: ['sign', 'attest'],
  },
  {
    apiGroups: [CERTIFICATES_GROUP],
    resources: ['clustertrustbundles'],
    verbs: [...READ, 'create', 'update', 'patch', 'delete'],
  },
  // Secure metrics: who a scraper's token names, and whether RBAC lets it read /metrics.
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];

/**
 * What the operator may do in its own namespace only: the journal Secrets hold every private key,
 * so no cluster-wide role ever grants Secrets.
 */
export const operatorNamespaceRules: PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: [...READ, 'create', 'update'] },
  // Leader election: RBAC cannot name an object that does not exist yet, so create is unnamed.
  { apiGroups: [leaseResource.group], resources: [leaseResource.plural], verbs: ['create'] },
  {
    apiGroups: [leaseResource.group],
    resources: [leaseResource.plural],
    resourceNames: [LEADER_LEASE_NAME],
    verbs: ['get', 'update'],
  },
];

/**
 * What Secret mode needs to write SVID Secrets: cluster-wide by default, or in a Role per namespace
 * when the operator runs with TRUSTLINE_SECRET_NAMESPACES (the chart's `secretNamespaces`). Trustline
 * lists and watches only Secrets carrying its label, but RBAC cannot narrow a grant by label.
 */
export const svidSecretRules: PolicyRule[] = [
  // patch: the writer of derived objects updates them by server-side apply.
  { apiGroups: [''], resources: ['secrets'], verbs: [...READ, 'create', 'update', 'patch'] },
];

/**
 * Rights on RegistrationEntries that the built-in `admin` and `edit` roles (and `view`, to read) gain
 * through aggregation, so application teams can declare identities in their namespaces. TrustDomains
 * and KeyRevocations never join: they are the platform team's.
 */
export const entryEditRules: PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: [registrationEntryKind.plural],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  },
];
export const entryViewRules: PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: [registrationEntryKind.plural, `${registrationEntryKind.plural}/status`],
    verbs: READ,
  },
];

/** A rule on URLs the apiserver serves outside its resources, such as `/metrics`. */
export interface NonResourceRule {
  nonResourceURLs: string[];
  verbs: string[];
}

/**
 * What a scraper needs to read Trustline's metrics: the operator asks the apiserver for exactly this
 * (a SubjectAccessReview for `get` on `/metrics`). Bound to Prometheus's ServiceAccount in
 * `<fullname>-metrics-reader`; it also lets the holder read the apiserver's own /metrics.
 */
export const metricsReaderRules: NonResourceRule[] = [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }];
