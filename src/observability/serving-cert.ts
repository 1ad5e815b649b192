import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { exportPrivateKeyPem, generateX509KeyPair, x509SigningKey } from '../core/authorities/keys.ts';
import { encodePem } from '../core/authorities/pem.ts';
import { x509 } from '../core/authorities/x509.ts';

/** A year: the certificate is made anew at every start, and scrapers do not verify it (see README). */
export const SERVING_CERT_TTL_MS = 365 * 24 * 60 * 60 * 1_000;
/** Clocks of the scrapers may lag a little behind this one. */
const BACKDATE_MS = 5 * 60 * 1_000;

/**
 * A self-signed TLS serving certificate for the metrics endpoint, made at start and kept in memory
 * only, as controller-runtime's secure metrics do: it keeps bearer tokens and metrics off the wire in
 * the clear. Its names are the pod's host name and loopback; no CA vouches for it.
 */
export async function selfSignedServingCert(
  now: Date,
  host = hostname(),
): Promise<{ key: string; cert: string; fingerprint: string }> {
  const keys = await generateX509KeyPair('EC-P256');
  const signing = x509SigningKey(keys.privateKey);
  const name = new x509.Name([{ O: ['Trustline'] }, { CN: [`${host.slice(0, 48)} metrics`] }]);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(16).toString('hex'),
    subject: name,
    issuer: name,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + SERVING_CERT_TTL_MS),
    publicKey: keys.publicKey.export({ type: 'spki', format: 'der' }),
    signingKey: signing.key,
    signingAlgorithm: signing.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: host },
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
  });
  return {
    key: exportPrivateKeyPem(keys.privateKey),
    cert: encodePem('CERTIFICATE', new Uint8Array(certificate.rawData)),
    fingerprint: Buffer.from(await certificate.getThumbprint('SHA-256')).toString('hex'),
  };
}
