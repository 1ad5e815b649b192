import type { Informer } from '../../kube/informer.ts';
import type { ConfirmedSvids } from '../confirmed-svids.ts';
import type { Echoes } from '../echoes.ts';
import type { SigningContext } from '../signing-context.ts';

/** What the entry controller reads of a cache: narrow, so tests hand it an in-memory one. */
export type CacheReader = Pick<Informer, 'get' | 'list' | 'byNamespace'>;

/**
 * The signing context the entry controller uses, each part by its public members only, so that the
 * operator passes its real caches and clients and unit tests pass in-memory fakes.
 */
export interface EntryControllerOptions {
  client: Pick<SigningContext['client'], 'request'>;
  entries: CacheReader;
  trustDomains: CacheReader;
  namespaces: CacheReader;
  journals: Pick<SigningContext['journals'], 'get' | 'version'>;
  signers: Pick<SigningContext['signers'], 'x509' | 'jwt' | 'forgetUnfit'>;
  clusterDomain: string;
  /** Part of the signing context the operator hands every controller; the entry controller logs nothing itself. */
  log?: SigningContext['log'];
  now: () => Date;
  random?: () => number;
  metrics: Pick<SigningContext['metrics'], 'setSvidExpiry' | 'countIssued' | 'countRenewalFailure'>;
  audit: Pick<SigningContext['audit'], 'signed'>;
  events: Pick<SigningContext['events'], 'record' | 'recordRoutine'>;
  /** The cache of pods, when the cluster serves PodCertificateRequests. */
  pods?: CacheReader | undefined;
  /** The cache of Trustline's Secrets in a namespace; undefined where Secret mode may not write. */
  secretCaches: (namespace: string) => CacheReader | undefined;
  /** Where the entry controller's own writes go, so their watch events do not bring the entry back. */
  echoes?: Pick<Echoes, 'expect' | 'forget'>;
  /** Where SVID Secret writes the apiserver confirmed go, so revocations count them before the cache does. */
  confirmedSvids?: Pick<ConfirmedSvids, 'confirm'>;
  /** Set when the operator writes no SVID Secrets at all, so refusals say so. */
  secretModeOff?: boolean;
}
