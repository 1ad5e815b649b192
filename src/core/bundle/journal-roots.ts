import { certificateKeyId } from '../authorities/keys.ts';
import type { Journal } from '../authorities/model.ts';
import { decodeCertificatesPem, encodePem } from '../authorities/pem.ts';
import { x509 } from '../authorities/x509.ts';
import type { UpstreamRoot } from './trust-bundle.ts';

/**
 * The upstream roots of the bundle the journal last recorded, for publishing while the upstream CA
 * Secret cannot be read: the certificates of that bundle.pem that are none of Trustline's own
 * authorities and were never revoked, so a revoked root cannot come back through an old bundle.
 * Undefined when the journal recorded no bundle, so there is nothing to derive the roots from.
 */
export function journalUpstreamRoots(journal: Journal): UpstreamRoot[] | undefined {
  const pem = journal.bundle.pem;
  if (pem === undefined) return undefined;
  const excluded = new Set([...journal.authorities.map((a) => a.id), ...journal.revoked.map((r) => r.id)]);
  return decodeCertificatesPem(pem).flatMap((der) => {
    const certificate = new x509.X509Certificate(der);
    const id = certificateKeyId(certificate);
    if (excluded.has(id)) return [];
    return [
      {
        id,
        certificate: encodePem('CERTIFICATE', der),
        notBefore: certificate.notBefore.toISOString(),
        notAfter: certificate.notAfter.toISOString(),
      },
    ];
  });
}
