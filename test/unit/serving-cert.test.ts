import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SERVING_CERT_TTL_MS, selfSignedServingCert } from '../../src/observability/serving-cert.ts';

describe('selfSignedServingCert', () => {
  it('makes a self-signed serverAuth leaf for the host and loopback, valid from now for its TTL', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const { key, cert, fingerprint } = await selfSignedServingCert(now, 'trustline-7d9f-abcde');
    const parsed = new X509Certificate(cert);
    expect(parsed.ca).toBe(false);
    expect(parsed.verify(parsed.publicKey)).toBe(true);
    expect(parsed.checkPrivateKey(createPrivateKey(key))).toBe(true);
    expect(parsed.subjectAltName).toBe(
      'DNS:trustline-7d9f-abcde, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(parsed.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(parsed.validFrom).getTime()).toBeLessThanOrEqual(now.getTime());
    expect(new Date(parsed.validTo).getTime()).toBe(now.getTime() + SERVING_CERT_TTL_MS);
    expect(fingerprint).toBe(parsed.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('makes a new key at every start', async () => {
    const now = new Date();
    const [first, second] = await Promise.all([selfSignedServingCert(now), selfSignedServingCert(now)]);
    expect(first.key).not.toBe(second.key);
  });
});
