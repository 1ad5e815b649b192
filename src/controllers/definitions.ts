import { keyRevocationKind } from '../api/keyrevocation.ts';
import { registrationEntryKind } from '../api/registrationentry.ts';
import { trustDomainKind } from '../api/trustdomain.ts';
import {
  keyRevocationWatches,
  type Mapping,
  podCertificateRequestWatches,
  registrationEntryWatches,
  trustDomainWatches,
} from './watches.ts';

/** The caches Trustline keeps; `svidSecrets` is one or one per namespace Secret mode is limited to. */
export type CacheName =
  | 'trustDomains'
  | 'registrationEntries'
  | 'keyRevocations'
  | 'namespaces'
  | 'configMaps'
  | 'secrets'
  | 'svidSecrets'
  | 'pods'
  | 'podCertificateRequests'
  | 'clusterTrustBundles';

export interface QueueTuning {
  workers: number;
  rate: { perSecond: number; burst: number };
  reservedForNewFlows: number;
}

export interface ControllerDefinition {
  /** The kind it reconciles, which names its queue. */
  name: string;
  /** The cache of the objects it reconciles: each of them is queued when the controller starts. */
  reconciles: CacheName;
  /** What it writes, besides the status of what it reconciles. */
  owns: readonly string[];
  /** For each cache it watches, the keys a change there asks it to look at. */
  watches: Partial<Record<CacheName, Mapping>>;
  queue: (concurrency: number) => QueueTuning;
}

const standardQueue = (concurrency: number): QueueTuning => ({
  workers: concurrency,
  rate: { perSecond: 50, burst: 200 },
  reservedForNewFlows: 0,
});

export const controllers: readonly ControllerDefinition[] = [
  {
    name: trustDomainKind.kind,
    reconciles: 'trustDomains',
    owns: ['journal Secret', 'bundle ConfigMaps', 'OIDC ConfigMap', 'ClusterTrustBundles'],
    watches: trustDomainWatches,
    queue: standardQueue,
  },
  {
    name: registrationEntryKind.kind,
    reconciles: 'registrationEntries',
    owns: ['SVID Secrets'],
    watches: registrationEntryWatches,
    // Entries come by the thousand (a namespace applied at once), each once per change: the watch
    // events of its own Secret and status writes do not bring it back (echoes.ts). Namespaces are served round-robin, and a quarter of the workers wait for a namespace with
    // nothing running: one namespace's slow RSA-4096 churn never holds another's first SVID back.
    queue: (concurrency) => ({
      workers: 4 * concurrency,
      rate: { perSecond: 2_000, burst: 2_000 },
      reservedForNewFlows: concurrency,
    }),
  },
  {
    name: keyRevocationKind.kind,
    reconciles: 'keyRevocations',
    owns: [],
    watches: keyRevocationWatches,
    queue: standardQueue,
  },
  {
    name: 'PodCertificateRequest',
    reconciles: 'podCertificateRequests',
    owns: [],
    watches: podCertificateRequestWatches,
    queue: standardQueue,
  },
];
