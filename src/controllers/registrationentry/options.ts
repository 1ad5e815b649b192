import type { Informer } from '../../kube/informer.ts';
import type { SigningContext } from '../signing-context.ts';

export interface EntryControllerOptions extends SigningContext {
  /** The cache of pods, when the cluster serves PodCertificateRequests. */
  pods?: Informer | undefined;
  /** The cache of Trustline's Secrets in a namespace; undefined where Secret mode may not write. */
  secretCaches: (namespace: string) => Informer | undefined;
  /** Set when the operator writes no SVID Secrets at all, so refusals say so. */
  secretModeOff?: boolean;
}
