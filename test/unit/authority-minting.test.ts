import { createPublicKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { importJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtAlgorithm, X509KeyType } from '../../src/api/trustdomain.ts';
import {
  importJwtSigningKey,
  importX509SigningKey,
  KeyError,
  x509SigningKey,
} from '../../src/core/authorities/keys.ts';
import {
  AuthorityIntegrityError,
  checkAuthority,
  mintJwtAuthority,
  mintX509Authority,
} from '../../src/core/authorities/mint.ts';
import {
  type Authority,
  type JwtAuthority,
  jwtAuthoritySchema,
  type X509Authority,
  x509AuthoritySchema,
} from '../../src/core/authorities/model.ts';
import { parseUpstreamCA, type UpstreamCA, UpstreamError } from '../../src/core/authorities/upstream.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { openssl } from '../openssl.ts';
import { expectedKeyId } from './expectations.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TRUST_DOMAIN = 'example.org';
const KEY_TYPES: X509KeyType[] = ['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'];
const ALGORITHMS: JwtAlgorithm[] = ['ES256', 'ES384', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

/** What each key type must produce, checked against the certificate's public key. */
const keyShapes: Record<X509KeyType, { type: string; curve?: string; bits?: number; hash: string }> = {
  'EC-P256': { type: 'ec', curve: 'prime256v1', hash: 'SHA-256' },
  'EC-P384': { type: 'ec', curve: 'secp384r1', hash: 'SHA-384' },
  'RSA-2048': { type: 'rsa', bits: 2048, hash: 'SHA-256' },
  'RSA-3072': { type: 'rsa', bits: 3072, hash: 'SHA-256' },
  'RSA-4096': { type: 'rsa', bits: 4096, hash: 'SHA-256' },
};
const jwtKeyShapes: Record<JwtAlgorithm, { kty: string; crv?: string; bits?: number }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  RS256: { kty: 'RSA', bits: 2048 },
  RS384: { kty: 'RSA', bits: 3072 },
  RS512: { kty: 'RSA', bits: 4096 },
  PS256: { kty: 'RSA', bits: 2048 },
  PS384: { kty: 'RSA', bits: 3072 },
  PS512: { kty: 'RSA', bits: 4096 },
};

const workDir = mkdtempSync(join(tmpdir(), 'trustline-minting-'));

function writeTemp(name: string, ...pems: string[]): string {
  const path = join(workDir, name);
  writeFileSync(path, pems.join(''));
  return path;
}

const parse = (pem: string) => ({ node: new X509Certificate(pem), parsed: new x509.X509Certificate(pem) });

interface TestCa {
  certificate: PeculiarCertificate;
  privateKey: KeyObject;
  pem: string;
}

/** A CA certificate for the upstream fixtures, self-signed when no issuer is given. */
async function makeCa(name: string, notAfter: Date, issuer?: TestCa): Promise<TestCa> {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const signer = x509SigningKey(issuer?.privateKey ?? keys.privateKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(spki);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}, O=Upstream`,
    issuer: issuer?.certificate.subjectName ?? `CN=${name}, O=Upstream`,
    notBefore: new Date(NOW.getTime() - 30 * DAY),
    notAfter,
    publicKey: spki,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ski,
      new x509.AuthorityKeyIdentifierExtension(
        issuer?.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? ski.keyId,
      ),
    ],
  });
  return { certificate, privateKey: keys.privateKey, pem: certificate.toString('pem') };
}

const exported = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

const mintedX509 = new Map<X509KeyType, X509Authority>();
const mintedJwt = new Map<JwtAlgorithm, JwtAuthority>();
function selfSigned(keyType: X509KeyType): X509Authority {
  const authority = mintedX509.get(keyType);
  if (authority === undefined) throw new Error(`no ${keyType} authority minted`);
  return authority;
}
function jwtAuthority(algorithm: JwtAlgorithm): JwtAuthority {
  const authority = mintedJwt.get(algorithm);
  if (authority === undefined) throw new Error(`no ${algorithm} authority minted`);
  return authority;
}
let root: TestCa;
let intermediate: TestCa;
let upstream: UpstreamCA;

beforeAll(async () => {
  // Generated together: key generation runs on the thread pool, and RSA-4096 is slow.
  const [x509List, jwtList] = await Promise.all([
    Promise.all(
      KEY_TYPES.map((keyType) =>
        mintX509Authority({ trustDomain: TRUST_DOMAIN, keyType, now: NOW, ttlMs: DAY }),
      ),
    ),
    Promise.all(ALGORITHMS.map((algorithm) => mintJwtAuthority({ algorithm, now: NOW, ttlMs: DAY }))),
  ]);
  for (const authority of x509List) mintedX509.set(authority.keyType, authority);
  for (const authority of jwtList) mintedJwt.set(authority.algorithm, authority);
  root = await makeCa('Upstream Root', new Date(NOW.getTime() + 3650 * DAY));
  intermediate = await makeCa('Upstream Intermediate', new Date(NOW.getTime() + 30 * DAY), root);
  upstream = parseUpstreamCA(
    { 'tls.crt': intermediate.pem, 'tls.key': exported(intermediate.privateKey), 'ca.crt': root.pem },
    NOW,
  );
}, 120_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('mintX509Authority, self-signed', () => {
  it.each(KEY_TYPES)('%s: a Prepared authority the journal schema accepts', (keyType) => {
    const authority = selfSigned(keyType);
    expect(x509AuthoritySchema.parse(authority)).toEqual(authority);
    expect(authority).toMatchObject({ type: 'X509', state: 'Prepared', keyType });
    expect(authority.upstream).toBeUndefined();
    expect(authority.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it.each(KEY_TYPES)('%s: a CA certificate with critical basicConstraints and keyUsage', (keyType) => {
    const { node, parsed } = parse(selfSigned(keyType).certificate);
    expect(node.ca).toBe(true);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect(constraints).toMatchObject({ ca: true, critical: true });
    const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
    expect(keyUsage?.critical).toBe(true);
    expect(keyUsage?.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
    );
  });

  it.each(KEY_TYPES)('%s: exactly one SAN, the URI of the trust domain', (keyType) => {
    const { node, parsed } = parse(selfSigned(keyType).certificate);
    expect(node.subjectAltName).toBe('URI:spiffe://example.org');
    const names = parsed.getExtensions(x509.SubjectAlternativeNameExtension).flatMap((e) => e.names.toJSON());
    expect(names).toEqual([{ type: 'url', value: 'spiffe://example.org' }]);
  });

  it.each(KEY_TYPES)('%s: the id is the subject key identifier, by RFC 5280 method 1', (keyType) => {
    const authority = selfSigned(keyType);
    const { node, parsed } = parse(authority.certificate);
    expect(authority.id).toMatch(/^[0-9a-f]{40}$/);
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase()).toBe(authority.id);
    expect(authority.id).toBe(expectedKeyId(node.publicKey));
  });

  it.each(KEY_TYPES)('%s: key type and signature hash as documented', (keyType) => {
    const { node, parsed } = parse(selfSigned(keyType).certificate);
    const shape = keyShapes[keyType];
    expect(node.publicKey.asymmetricKeyType).toBe(shape.type);
    expect(node.publicKey.asymmetricKeyDetails?.namedCurve).toBe(shape.curve);
    expect(node.publicKey.asymmetricKeyDetails?.modulusLength).toBe(shape.bits);
    expect(parsed.signatureAlgorithm.hash.name).toBe(shape.hash);
  });

  it.each(KEY_TYPES)('%s: self-signed, and verifies itself', async (keyType) => {
    const { node, parsed } = parse(selfSigned(keyType).certificate);
    expect(parsed.subject).toBe('O=Trustline, CN=example.org');
    expect(parsed.issuer).toBe(parsed.subject);
    expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)).toBeNull();
    expect(node.verify(node.publicKey)).toBe(true);
    expect(await parsed.verify({ date: NOW })).toBe(true);
    const file = writeTemp(`self-${keyType}.pem`, selfSigned(keyType).certificate);
    expect(
      openssl([
        'verify',
        '-x509_strict',
        '-attime',
        String((NOW.getTime() / 1000) | 0),
        '-CAfile',
        file,
        file,
      ]),
    ).toContain(': OK');
  });

  it('backdates notBefore by 10 s and ends ttl after now, to the second, as the certificate says', () => {
    const authority = selfSigned('EC-P256');
    const { parsed } = parse(authority.certificate);
    expect(authority.notBefore).toBe('2030-06-01T11:59:50.000Z');
    expect(authority.notAfter).toBe('2030-06-02T12:00:00.000Z');
    expect(parsed.notBefore.toISOString()).toBe(authority.notBefore);
    expect(parsed.notAfter.toISOString()).toBe(authority.notAfter);
  });

  it('uses a random positive serial of at most 128 bits', () => {
    const serials = KEY_TYPES.map((keyType) =>
      BigInt(`0x${parse(selfSigned(keyType).certificate).node.serialNumber}`),
    );
    for (const serial of serials) {
      expect(serial > 0n && serial < 2n ** 128n).toBe(true);
    }
    expect(new Set(serials).size).toBe(serials.length);
  });

  it('keeps the CN within 64 characters for a 255-character trust domain; the SAN has it whole', async () => {
    const trustDomain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
    expect(trustDomain).toHaveLength(255);
    const authority = await mintX509Authority({ trustDomain, keyType: 'EC-P256', now: NOW, ttlMs: DAY });
    const { node, parsed } = parse(authority.certificate);
    expect(parsed.subjectName.getField('CN')).toEqual(['a'.repeat(63).concat('.')]);
    expect(node.subjectAltName).toBe(`URI:spiffe://${trustDomain}`);
    const file = writeTemp('long.pem', authority.certificate);
    expect(openssl(['x509', '-in', file, '-noout', '-subject'])).toContain('CN');
  });
});

describe('mintX509Authority, signed by an upstream CA', () => {
  it('is signed by the upstream signer, with its id and chain recorded', async () => {
    const authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: NOW,
      ttlMs: DAY,
      upstream,
    });
    expect(x509AuthoritySchema.parse(authority)).toEqual(authority);
    expect(authority.upstream).toEqual({
      signerId: upstream.signerId,
      rootId: upstream.rootId,
      chain: [upstream.signerCertificate],
    });
    const { node, parsed } = parse(authority.certificate);
    const signer = new X509Certificate(intermediate.pem);
    expect(parsed.issuer).toBe(intermediate.certificate.subject);
    expect(node.checkIssued(signer)).toBe(true);
    expect(node.verify(signer.publicKey)).toBe(true);
    expect(node.verify(node.publicKey)).toBe(false);
    expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(upstream.signerId);
    expect(upstream.signerId).toBe(
      intermediate.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toBe(authority.id);
    expect(node.ca).toBe(true);
    expect(node.subjectAltName).toBe('URI:spiffe://example.org');
    expect(parsed.signatureAlgorithm.hash.name).toBe('SHA-384');
    expect(() => checkAuthority(authority)).not.toThrow();
  });

  it('passes openssl verify against the roots, through the chain, and signs a leaf that does too', async () => {
    const authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'RSA-2048',
      now: NOW,
      ttlMs: DAY,
      upstream,
    });
    const leafKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = importX509SigningKey(authority.privateKey);
    const leaf = await x509.X509CertificateGenerator.create({
      subject: 'O=Workload',
      issuer: new x509.X509Certificate(authority.certificate).subjectName,
      notBefore: new Date(NOW.getTime() - HOUR),
      notAfter: new Date(NOW.getTime() + HOUR),
      publicKey: leafKeys.publicKey.export({ type: 'spki', format: 'der' }),
      signingKey: signer.key,
      signingAlgorithm: signer.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.SubjectAlternativeNameExtension(
          [{ type: 'url', value: 'spiffe://example.org/workload' }],
          true,
        ),
        new x509.AuthorityKeyIdentifierExtension(authority.id),
      ],
    });
    const at = String((NOW.getTime() / 1000) | 0);
    const roots = writeTemp('roots.pem', ...upstream.roots.map((r) => r.certificate));
    const chain = writeTemp('chain.pem', ...(authority.upstream?.chain ?? []));
    const intermediateFile = writeTemp('intermediate.pem', authority.certificate);
    const leafFile = writeTemp('leaf.pem', leaf.toString('pem'));
    const verify = (untrusted: string, file: string) =>
      openssl(['verify', '-x509_strict', '-attime', at, '-CAfile', roots, '-untrusted', untrusted, file]);
    expect(verify(chain, intermediateFile)).toContain(': OK');
    const both = writeTemp('both.pem', authority.certificate, ...(authority.upstream?.chain ?? []));
    expect(verify(both, leafFile)).toContain(': OK');
    // Without the chain, the authority does not reach the root.
    expect(() => openssl(['verify', '-attime', at, '-CAfile', roots, intermediateFile])).toThrow(
      /unable to get local issuer/,
    );
  });

  it('ends when the upstream signer ends if the ttl would outlive it', async () => {
    const authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: NOW,
      ttlMs: 90 * DAY,
      upstream,
    });
    expect(authority.notAfter).toBe(intermediate.certificate.notAfter.toISOString());
    expect(parse(authority.certificate).parsed.notAfter.toISOString()).toBe(authority.notAfter);
    const shorter = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: NOW,
      ttlMs: DAY,
      upstream,
    });
    expect(shorter.notAfter).toBe('2030-06-02T12:00:00.000Z');
  });

  it('refuses to mint under an upstream signer that has expired by now', async () => {
    const later = new Date(intermediate.certificate.notAfter.getTime() + 1000);
    const minting = mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: later,
      ttlMs: DAY,
      upstream,
    });
    await expect(minting).rejects.toThrow(UpstreamError);
    await expect(minting).rejects.toMatchObject({ code: 'SignerExpired' });
  });
});

describe('mintJwtAuthority', () => {
  it.each(ALGORITHMS)('%s: a Prepared authority with a random kid and a bare public JWK', (algorithm) => {
    const authority = jwtAuthority(algorithm);
    expect(jwtAuthoritySchema.parse(authority)).toEqual(authority);
    expect(authority).toMatchObject({ type: 'JWT', state: 'Prepared', algorithm });
    expect(authority.id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(authority.notBefore).toBe('2030-06-01T11:59:50.000Z');
    expect(authority.notAfter).toBe('2030-06-02T12:00:00.000Z');
    const shape = jwtKeyShapes[algorithm];
    const { publicKey } = authority;
    expect(publicKey.kty).toBe(shape.kty);
    expect(publicKey.crv).toBe(shape.crv);
    for (const member of ['kid', 'alg', 'use', 'd', 'p', 'q']) expect(publicKey).not.toHaveProperty(member);
    const key = createPublicKey({ key: publicKey, format: 'jwk' });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(shape.bits);
  });

  it.each(ALGORITHMS)(
    '%s: a JWT signed with the imported private key verifies with the public JWK',
    async (algorithm) => {
      const authority = jwtAuthority(algorithm);
      const signingKey = importJwtSigningKey(authority.privateKey, algorithm);
      const token = await new SignJWT({ sub: 'spiffe://example.org/workload' })
        .setProtectedHeader({ alg: algorithm, kid: authority.id })
        .sign(signingKey);
      const verified = await jwtVerify(token, await importJWK(authority.publicKey, algorithm));
      expect(verified.payload.sub).toBe('spiffe://example.org/workload');
      expect(verified.protectedHeader).toEqual({ alg: algorithm, kid: authority.id });
      const other = jwtAuthority(algorithm === 'ES256' ? 'ES384' : 'ES256');
      await expect(jwtVerify(token, await importJWK(other.publicKey, other.algorithm))).rejects.toThrow();
    },
  );

  it('gives each authority its own kid', () => {
    expect(new Set(ALGORITHMS.map((algorithm) => jwtAuthority(algorithm).id)).size).toBe(ALGORITHMS.length);
  });

  it('refuses to import a key for an algorithm it does not fit', () => {
    expect(() => importJwtSigningKey(jwtAuthority('ES256').privateKey, 'ES384')).toThrow(KeyError);
    expect(() => importJwtSigningKey(jwtAuthority('RS256').privateKey, 'RS512')).toThrow(
      expect.objectContaining({ code: 'WrongAlgorithm' }),
    );
  });
});

describe('checkAuthority', () => {
  const failure = (authority: Authority): AuthorityIntegrityError | undefined => {
    try {
      checkAuthority(authority);
      return undefined;
    } catch (error) {
      if (error instanceof AuthorityIntegrityError) return error;
      throw error;
    }
  };

  it('accepts every freshly minted authority', () => {
    for (const authority of [...mintedX509.values(), ...mintedJwt.values()]) {
      expect(failure(authority)).toBeUndefined();
    }
  });

  it.each([
    [
      'a swapped X.509 key',
      () => ({ ...selfSigned('EC-P256'), privateKey: selfSigned('EC-P384').privateKey }),
      'KeyMismatch',
    ],
    [
      'a key of another type than recorded',
      () => ({ ...selfSigned('EC-P256'), keyType: 'EC-P384' as const }),
      'KeyMismatch',
    ],
    [
      'a swapped JWT key',
      () => ({ ...jwtAuthority('ES256'), privateKey: jwtAuthority('PS256').privateKey }),
      'KeyMismatch',
    ],
    [
      'a JWT key for another algorithm',
      () => ({ ...jwtAuthority('RS256'), algorithm: 'PS512' as const }),
      'KeyMismatch',
    ],
    [
      'an id that is not the SKI',
      () => ({ ...selfSigned('EC-P256'), id: selfSigned('EC-P384').id }),
      'IdMismatch',
    ],
    [
      'a moved notAfter',
      () => ({ ...selfSigned('EC-P256'), notAfter: '2030-06-02T12:00:01.000Z' }),
      'ValidityMismatch',
    ],
    [
      'a moved notBefore',
      () => ({ ...selfSigned('EC-P256'), notBefore: '2030-06-01T12:00:00.000Z' }),
      'ValidityMismatch',
    ],
    [
      'an unreadable certificate',
      () => ({ ...selfSigned('EC-P256'), certificate: 'not a certificate' }),
      'CertificateUnreadable',
    ],
    [
      'two certificates where one belongs',
      () => ({ ...selfSigned('EC-P256'), certificate: selfSigned('EC-P256').certificate.repeat(2) }),
      'CertificateUnreadable',
    ],
    [
      'an unreadable private key',
      () => ({ ...selfSigned('EC-P256'), privateKey: 'garbage' }),
      'KeyUnreadable',
    ],
    [
      'an unreadable JWK',
      () => ({ ...jwtAuthority('ES256'), publicKey: { kty: 'EC', crv: 'P-256' } }),
      'PublicKeyUnreadable',
    ],
  ] satisfies [string, () => Authority, string][])('detects %s', (_name, tamper, code) => {
    const error = failure(tamper());
    expect(error?.code).toBe(code);
    expect(error?.message).not.toMatch(/PRIVATE KEY|MII/);
  });

  it('detects a certificate that claims an upstream signer that did not sign it', async () => {
    const authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: NOW,
      ttlMs: DAY,
      upstream,
    });
    expect(failure(authority)).toBeUndefined();
    const rootId = root.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? '';
    expect(failure({ ...authority, upstream: { signerId: rootId, rootId, chain: [root.pem] } })?.code).toBe(
      'SignatureInvalid',
    );
    expect(
      failure({ ...authority, upstream: { signerId: authority.id, rootId, chain: [intermediate.pem] } })
        ?.code,
    ).toBe('IdMismatch');
    expect(
      failure({
        ...selfSigned('EC-P256'),
        upstream: { signerId: upstream.signerId, rootId, chain: [intermediate.pem] },
      })?.code,
    ).toBe('SignatureInvalid');
  });
});
