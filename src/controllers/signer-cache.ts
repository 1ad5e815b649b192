import type { Logger } from 'pino';
import type { Journal, JwtAuthority, X509Authority } from '../core/authorities/model.ts';
import { type JwtSvidSigner, prepareJwtSigner } from '../core/svid/jwt-svid.ts';
import { prepareX509Signer, type X509SvidSigner } from '../core/svid/x509-svid.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { Informer } from '../kube/informer.ts';
import type { RestClient } from '../kube/rest.ts';
import type { AuditLog } from '../observability/audit.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { JournalCache } from './journal-cache.ts';

/**
 * Signers prepared once per authority, shared by everything that signs SVIDs: the key import is the
 * expensive part.
 */
export class SignerCache {
  readonly #x509 = new Map<string, X509SvidSigner>();
  readonly #jwt = new Map<string, JwtSvidSigner>();

  x509(authority: X509Authority): X509SvidSigner {
    let signer = this.#x509.get(authority.id);
    if (!signer) {
      signer = prepareX509Signer(authority);
      this.#x509.set(authority.id, signer);
    }
    return signer;
  }

  jwt(authority: JwtAuthority, trustDomain: string): JwtSvidSigner {
    let signer = this.#jwt.get(authority.id);
    if (!signer) {
      signer = prepareJwtSigner(authority, trustDomain);
      this.#jwt.set(authority.id, signer);
    }
    return signer;
  }

  /** Drops the signers of tainted and revoked authorities, so no copy of their keys stays in memory. */
  forgetUnfit(journal: Journal): void {
    const unfit = [
      ...journal.revoked.map((revoked) => revoked.id),
      ...journal.authorities.filter((a) => a.state === 'Tainted').map((a) => a.id),
    ];
    for (const id of unfit) {
      this.#x509.delete(id);
      this.#jwt.delete(id);
    }
  }
}

/** What every controller that signs SVIDs works with, besides its caches. */
export interface SigningContext {
  client: RestClient;
  entries: Informer;
  trustDomains: Informer;
  namespaces: Informer;
  journals: JournalCache;
  signers: SignerCache;
  clusterDomain: string;
  log: Logger;
  now: () => Date;
  random?: () => number;
  metrics: Metrics;
  audit: AuditLog;
  events: EventRecorder;
}
