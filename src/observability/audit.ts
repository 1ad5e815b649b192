import type { Logger } from 'pino';

/** One signing operation: what was signed, by which key, for whom. Never key material. */
export interface SigningRecord {
  operation: 'x509-authority' | 'jwt-authority' | 'x509-svid' | 'jwt-svid';
  trustDomain: string;
  /** The key that signed: an authority id, or the upstream signer's id. */
  signer: string;
  /** What was produced: a certificate's subject key id or serial, a JWT's kid or jti. */
  subject: string;
  notBefore: string;
  notAfter: string;
  /** The object the signing serves, such as TrustDomain/example. */
  for: string;
}

/**
 * The audit stream: one JSON line per signing operation, tagged `audit: true` so a log pipeline can route
 * it to tamper-evident storage apart from the operational log.
 */
export class AuditLog {
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log.child({ audit: true });
  }

  signed(record: SigningRecord): void {
    this.#log.info({ signing: record }, `signed ${record.operation}`);
  }
}
