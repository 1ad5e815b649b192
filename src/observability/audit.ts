import { type DestinationStream, type Logger, pino } from 'pino';
import type { RevocationReason } from '../api/keyrevocation.ts';
import type { AuthorityKind } from '../api/trustdomain.ts';
import type { RevocationStepName } from '../core/revocation/progress.ts';

/** One signing operation: what was signed, by which key, for whom. Never key material. */
export interface SigningRecord {
  operation: 'x509-authority' | 'jwt-authority' | 'x509-svid' | 'jwt-svid';
  trustDomain: string;
  /** For SVIDs: the SPIFFE ID, the entry's uid, the key type and why it was signed. */
  spiffeId?: string;
  entryUid?: string;
  keyType?: string;
  reason?: string;
  /** The key that signed: an authority id, or the upstream signer's id. */
  signer: string;
  /** What was produced: a certificate's subject key id or serial, a JWT's kid or jti. */
  subject: string;
  notBefore: string;
  notAfter: string;
  /** The object the signing serves, such as TrustDomain/example. */
  for: string;
}

/** One step of a KeyRevocation: what happened to which key, at whose request. Never key material. */
export interface RevocationAuditRecord {
  step: 'Accepted' | 'Refused' | RevocationStepName;
  /** The TrustDomain object's name. */
  trustDomainRef: string;
  /** The SPIFFE trust domain name, once the TrustDomain is known. */
  trustDomain?: string;
  kind: AuthorityKind;
  /** As the journal spells it. */
  id: string;
  /** The KeyRevocation object's name. */
  keyRevocation: string;
  reason: RevocationReason;
  detail: string;
}

/**
 * The audit stream: one JSON line per signing operation, on a pino stream of its own (standard output
 * by default, or a file), tagged `audit: true` so a log pipeline can route it to tamper-evident storage
 * apart from the operational log.
 */
export class AuditLog {
  readonly #log: Logger;

  constructor(destination?: DestinationStream) {
    // Synchronous, like the file destination: a record buffered when the process is killed is lost.
    this.#log = pino(
      { name: 'trustline-audit', base: { audit: true } },
      destination ?? pino.destination({ dest: 1, sync: true }),
    );
  }

  /** An audit log writing to `path` (appending, synchronously, so no record is lost on a crash). */
  static toFile(path: string): AuditLog {
    return new AuditLog(pino.destination({ dest: path, append: true, sync: true, mkdir: true }));
  }

  signed(record: SigningRecord): void {
    this.#log.info({ signing: record }, `signed ${record.operation}`);
  }

  revocation(record: RevocationAuditRecord): void {
    this.#log.info({ revocation: record }, `revocation ${record.step}`);
  }
}
