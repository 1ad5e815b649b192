import { createPrivateKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { X509KeyType } from '../../src/api/trustdomain.ts';
import { UPSTREAM_CERT_KEY, UPSTREAM_PRIVATE_KEY_KEY, UPSTREAM_ROOTS_KEY } from '../../src/api/well-known.ts';
import { privateKeyMatches, x509SigningKey } from '../../src/core/authorities/keys.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { X509Authority } from '../../src/core/authorities/model.ts';
import { decodePem } from '../../src/core/authorities/pem.ts';
import { parseUpstreamCA } from '../../src/core/authorities/upstream.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import {
  children,
  namedBits,
  oid,
  readElement,
  sequence,
  time,
  unsignedInteger,
} from '../../src/core/svid/der.ts';
import { SvidError } from '../../src/core/svid/validation.ts';
import {
  mintX509Svid,
  prepareX509Signer,
  type X509Svid,
  type X509SvidParams,
  type X509SvidSigner,
} from '../../src/core/svid/x509-svid.ts';
import { mintX509SvidWithBuilder } from '../../src/core/svid/x509-svid-builder.ts';
import { openssl } from '../openssl.ts';
import { expectedKeyId, failure } from './expectations.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TRUST_DOMAIN = 'example.org';
const SPIFFE_ID = 'spiffe://example.org/ns/payments/sa/api';
const DNS_NAMES = ['api.payments.svc', '*.api.payments.svc.cluster.local'];
const AUTHORITY_KEY_TYPES: X509KeyType[] = ['EC-P256', 'EC-P384', 'RSA-2048'];
const LEAF_KEY_TYPES: X509KeyType[] = ['EC-P256', 'EC-P384', 'RSA-2048'];
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SKI_OID = '2.5.29.14';

/** The certificate's signature algorithm by the authority's key type. */
const signatureAlgorithms: Record<string, { name: string; hash: { name: string } }> = {
  'EC-P256': { name: 'ECDSA', hash: { name: 'SHA-256' } },
  'EC-P384': { name: 'ECDSA', hash: { name: 'SHA-384' } },
  'RSA-2048': { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } },
};
const leafShapes: Record<string, { type: string; curve?: string; bits?: number }> = {
  'EC-P256': { type: 'ec', curve: 'prime256v1' },
  'EC-P384': { type: 'ec', curve: 'secp384r1' },
  'RSA-2048': { type: 'rsa', bits: 2048 },
};

const workDir = mkdtempSync(join(tmpdir(), 'trustline-svid-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
let files = 0;

function writeTemp(...pems: string[]): string {
  files += 1;
  const path = join(workDir, `${files}.pem`);
  writeFileSync(path, pems.join(''));
  return path;
}

/** `openssl verify -x509_strict` for one purpose at `at`, through the SVID's chain to `roots`. */
function opensslVerify(svid: X509Svid, roots: string, purpose: 'sslclient' | 'sslserver', at = NOW): string {
  const untrusted = svid.chain.length === 0 ? [] : ['-untrusted', writeTemp(...svid.chain)];
  const attime = String(Math.floor(at.getTime() / 1000));
  const args = [
    'verify',
    '-x509_strict',
    '-purpose',
    purpose,
    '-attime',
    attime,
    '-CAfile',
    writeTemp(roots),
  ];
  return openssl([...args, ...untrusted, writeTemp(svid.certificate)]);
}

const parse = (pem: string) => ({ node: new X509Certificate(pem), parsed: new x509.X509Certificate(pem) });
const hex = (buffer: ArrayBuffer) => Buffer.from(buffer).toString('hex');

/**
 * Everything a verifier reads from the certificate, by both parsers, except what is random per
 * SVID: serial, key, signature and the subject key identifier (which follows the key).
 */
function profileOf(pem: string) {
  const { node, parsed } = parse(pem);
  return {
    subject: [parsed.subject, node.subject],
    issuer: [parsed.issuer, node.issuer],
    validity: [parsed.notBefore.toISOString(), parsed.notAfter.toISOString(), node.validFrom, node.validTo],
    signatureAlgorithm: parsed.signatureAlgorithm,
    extensions: parsed.extensions.map((extension) => ({
      type: extension.type,
      critical: extension.critical,
      value: extension.type === SKI_OID ? 'per key' : hex(extension.value),
    })),
    subjectAltName: node.subjectAltName,
    extKeyUsage: node.keyUsage,
    ca: node.ca,
    keyType: node.publicKey.asymmetricKeyType,
    keyDetails: node.publicKey.asymmetricKeyDetails,
  };
}

/** The DER of the certificate's validity and serial, to check the encodings themselves. */
function tbsFields(pem: string) {
  const [block] = decodePem(pem);
  if (block === undefined) throw new Error('no PEM block');
  const der = block.der;
  const [tbs] = children(der, readElement(der, 0));
  if (tbs === undefined) throw new Error('no TBSCertificate');
  const [version, serial, , , validity] = children(der, tbs);
  if (version === undefined || serial === undefined || validity === undefined) throw new Error('short TBS');
  return {
    version: der.subarray(version.start, version.end).toString('hex'),
    serial: der.subarray(serial.contentStart, serial.end),
    validityTags: children(der, validity).map((time) => time.tag),
  };
}

interface TestCa {
  certificate: PeculiarCertificate;
  privateKey: KeyObject;
  pem: string;
}

/** An upstream CA certificate, self-signed without an issuer. */
async function makeCa(
  name: string,
  keys = generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  issuer?: TestCa,
) {
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const signer = x509SigningKey(issuer?.privateKey ?? keys.privateKey);
  const issuerKeyId = issuer?.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}, O=Upstream`,
    issuer: issuer?.certificate.subjectName ?? `CN=${name}, O=Upstream`,
    notBefore: new Date(NOW.getTime() - 30 * DAY),
    notAfter: new Date(NOW.getTime() + 365 * DAY),
    publicKey: spki,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      ...(issuerKeyId === undefined ? [] : [new x509.AuthorityKeyIdentifierExtension(issuerKeyId)]),
    ],
  });
  return { certificate, privateKey: keys.privateKey, pem: certificate.toString('pem') };
}

const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A hand-built or builder mint, as a promise either way. */
type Mint = (signer: X509SvidSigner, params: X509SvidParams) => Promise<X509Svid>;
const paths: [string, Mint][] = [
  ['hand-built', async (signer, params) => mintX509Svid(signer, params)],
  ['builder', mintX509SvidWithBuilder],
];

const selfSigned = new Map<X509KeyType, { authority: X509Authority; signer: X509SvidSigner }>();
let upstreamRoot: TestCa;
let upstreamSigner: TestCa;
let upstreamAuthority: X509Authority;

beforeAll(async () => {
  for (const keyType of AUTHORITY_KEY_TYPES) {
    const authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType,
      now: NOW,
      ttlMs: 30 * DAY,
    });
    selfSigned.set(keyType, { authority, signer: prepareX509Signer(authority) });
  }
  upstreamRoot = await makeCa('Root');
  upstreamSigner = await makeCa('Issuing', generateKeyPairSync('ec', { namedCurve: 'P-256' }), upstreamRoot);
  const upstream = parseUpstreamCA(
    {
      [UPSTREAM_CERT_KEY]: upstreamSigner.pem,
      [UPSTREAM_PRIVATE_KEY_KEY]: pkcs8(upstreamSigner.privateKey),
      [UPSTREAM_ROOTS_KEY]: upstreamRoot.pem,
    },
    NOW,
  );
  upstreamAuthority = await mintX509Authority({
    trustDomain: TRUST_DOMAIN,
    keyType: 'EC-P256',
    now: NOW,
    ttlMs: 30 * DAY,
    upstream,
  });
}, 60_000);

function authorityOf(keyType: X509KeyType) {
  const entry = selfSigned.get(keyType);
  if (entry === undefined) throw new Error(`no ${keyType} authority`);
  return entry;
}

const params = (overrides: Partial<X509SvidParams> = {}): X509SvidParams => ({
  spiffeId: SPIFFE_ID,
  dnsNames: DNS_NAMES,
  keyType: 'EC-P256',
  ttlMs: HOUR,
  now: NOW,
  ...overrides,
});

/** Every SPIFFE X509-SVID rule that one certificate can show. */
function expectSpiffeProfile(svid: X509Svid, authority: X509Authority, request: X509SvidParams): void {
  const { node, parsed } = parse(svid.certificate);
  const authorityCertificate = parse(authority.certificate);
  const keyType = request.keyType ?? 'EC-P256';
  const dnsNames = request.dnsNames ?? [];

  expect(tbsFields(svid.certificate).version).toBe('a003020102');
  expect(parsed.subject).toBe('O=Trustline');
  expect(parsed.issuer).toBe(authorityCertificate.parsed.subject);
  expect(node.checkIssued(authorityCertificate.node)).toBe(true);
  expect(node.verify(authorityCertificate.node.publicKey)).toBe(true);
  expect(parsed.signatureAlgorithm).toEqual(signatureAlgorithms[authority.keyType]);

  const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
  expect(san?.critical).toBe(false);
  expect(san?.names.items.map(({ type, value }) => ({ type, value }))).toEqual([
    { type: 'url', value: request.spiffeId },
    ...dnsNames.map((value) => ({ type: 'dns', value })),
  ]);
  expect(node.subjectAltName).toBe(
    [`URI:${request.spiffeId}`, ...dnsNames.map((n) => `DNS:${n}`)].join(', '),
  );

  const basicConstraints = parsed.getExtension(x509.BasicConstraintsExtension);
  expect(basicConstraints?.critical).toBe(true);
  expect(basicConstraints?.ca).toBe(false);
  expect(node.ca).toBe(false);

  const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
  expect(keyUsage?.critical).toBe(true);
  const { digitalSignature, keyEncipherment } = x509.KeyUsageFlags;
  expect(keyUsage?.usages).toBe(
    keyType.startsWith('RSA') ? digitalSignature | keyEncipherment : digitalSignature,
  );

  const extKeyUsage = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  expect(extKeyUsage?.usages).toEqual([SERVER_AUTH, CLIENT_AUTH]);
  expect(node.keyUsage).toEqual([SERVER_AUTH, CLIENT_AUTH]);

  expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toBe(expectedKeyId(node.publicKey));
  expect(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(authority.id);
  expect(parsed.extensions.map((extension) => extension.type).sort()).toEqual(
    ['2.5.29.14', '2.5.29.15', '2.5.29.17', '2.5.29.19', '2.5.29.35', '2.5.29.37'].sort(),
  );

  const serial = tbsFields(svid.certificate).serial;
  expect(serial.length).toBeGreaterThanOrEqual(8);
  expect((serial[0] ?? 0) & 0x80).toBe(0);
  expect(BigInt(`0x${svid.serial}`)).toBe(BigInt(`0x${node.serialNumber}`));

  const notBefore = Math.floor((request.now.getTime() - 10_000) / 1000) * 1000;
  const notAfter = Math.min(
    Math.floor((request.now.getTime() + request.ttlMs) / 1000) * 1000,
    Date.parse(authority.notAfter),
  );
  expect(svid.notBefore.getTime()).toBe(notBefore);
  expect(svid.notAfter.getTime()).toBe(notAfter);
  expect(parsed.notBefore.getTime()).toBe(notBefore);
  expect(parsed.notAfter.getTime()).toBe(notAfter);

  const privateKey = createPrivateKey(svid.privateKey);
  expect(svid.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  expect(privateKeyMatches(privateKey, node.publicKey)).toBe(true);
  const shape = leafShapes[keyType];
  expect(node.publicKey.asymmetricKeyType).toBe(shape?.type);
  expect(node.publicKey.asymmetricKeyDetails?.namedCurve).toBe(shape?.curve);
  expect(node.publicKey.asymmetricKeyDetails?.modulusLength).toBe(shape?.bits);

  expect(svid.authorityId).toBe(authority.id);
  expect(svid.keyType).toBe(keyType);
}

describe.each(paths)('%s X.509-SVIDs', (_, mint) => {
  it.each(AUTHORITY_KEY_TYPES)('follow every SPIFFE rule under an %s authority', async (authorityKeyType) => {
    const { authority, signer } = authorityOf(authorityKeyType);
    for (const request of [params(), params({ dnsNames: [] }), params({ keyType: 'RSA-2048' })]) {
      const svid = await mint(signer, request);
      expectSpiffeProfile(svid, authority, request);
      expect(svid.chain).toEqual([]);
    }
  });

  it('issue a fresh key every time', async () => {
    const { signer } = authorityOf('EC-P256');
    const first = await mint(signer, params());
    const second = await mint(signer, params());
    expect(first.privateKey).not.toBe(second.privateKey);
    expect(parse(first.certificate).node.publicKey.equals(parse(second.certificate).node.publicKey)).toBe(
      false,
    );
  });

  it('default to an EC P-256 key and no DNS names', async () => {
    const { authority, signer } = authorityOf('EC-P256');
    const svid = await mint(signer, { spiffeId: SPIFFE_ID, ttlMs: HOUR, now: NOW });
    expect(svid.keyType).toBe('EC-P256');
    expectSpiffeProfile(svid, authority, { spiffeId: SPIFFE_ID, ttlMs: HOUR, now: NOW });
  });

  it("end at the authority's notAfter when the lifetime would outlast it", async () => {
    const { authority, signer } = authorityOf('EC-P256');
    const now = new Date(Date.parse(authority.notAfter) - 30 * 60_000 - 250);
    const svid = await mint(signer, params({ now, ttlMs: HOUR }));
    expect(svid.notAfter.toISOString()).toBe(authority.notAfter);
    expect(parse(svid.certificate).parsed.notAfter.toISOString()).toBe(authority.notAfter);
    expectSpiffeProfile(svid, authority, params({ now, ttlMs: HOUR }));
  });

  it('carry the authority and its upstream chain when an upstream CA signed the authority', async () => {
    const signer = prepareX509Signer(upstreamAuthority);
    for (const request of [params(), params({ keyType: 'RSA-2048', dnsNames: [] })]) {
      const svid = await mint(signer, request);
      expectSpiffeProfile(svid, upstreamAuthority, request);
      expect(svid.chain.map((pem) => new X509Certificate(pem).raw.toString('hex'))).toEqual(
        [upstreamAuthority.certificate, upstreamSigner.pem].map((pem) =>
          new X509Certificate(pem).raw.toString('hex'),
        ),
      );
      for (const purpose of ['sslclient', 'sslserver'] as const) {
        expect(opensslVerify(svid, upstreamRoot.pem, purpose)).toContain(': OK');
      }
      // Without its chain the leaf does not reach the upstream root.
      expect(() => opensslVerify({ ...svid, chain: [] }, upstreamRoot.pem, 'sslclient')).toThrow(
        /unable to get local issuer/,
      );
    }
  });

  it('use UTCTime through 2049 and GeneralizedTime from 2050', async () => {
    const now = new Date('2049-12-31T23:30:00.000Z');
    const authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now,
      ttlMs: DAY,
    });
    const svid = await mint(prepareX509Signer(authority), params({ now, ttlMs: HOUR }));
    expect(tbsFields(svid.certificate).validityTags).toEqual([0x17, 0x18]);
    const { node, parsed } = parse(svid.certificate);
    expect(parsed.notBefore.toISOString()).toBe('2049-12-31T23:29:50.000Z');
    expect(parsed.notAfter.toISOString()).toBe('2050-01-01T00:30:00.000Z');
    expect(node.validTo).toBe('Jan  1 00:30:00 2050 GMT');
    expect(opensslVerify(svid, authority.certificate, 'sslserver', now)).toContain(': OK');
  });
});

describe('hand-built and builder X.509-SVIDs', () => {
  const cases = AUTHORITY_KEY_TYPES.flatMap((authorityKeyType) =>
    LEAF_KEY_TYPES.flatMap((leafKeyType) =>
      [DNS_NAMES, []].map((dnsNames) => ({ authorityKeyType, leafKeyType, dnsNames })),
    ),
  );

  it.each(cases)(
    '$authorityKeyType authority, $leafKeyType leaf, DNS names $dnsNames: same certificate, both verified by openssl',
    async ({ authorityKeyType, leafKeyType, dnsNames }) => {
      const { authority, signer } = authorityOf(authorityKeyType);
      const request = params({ keyType: leafKeyType, dnsNames });
      const hand = await mintX509Svid(signer, request);
      const built = await mintX509SvidWithBuilder(signer, request);
      expect(profileOf(hand.certificate)).toEqual(profileOf(built.certificate));
      expectSpiffeProfile(hand, authority, request);
      for (const svid of [hand, built]) {
        for (const purpose of ['sslclient', 'sslserver'] as const) {
          expect(opensslVerify(svid, authority.certificate, purpose)).toContain(': OK');
        }
      }
    },
    30_000,
  );

  it('encode everything but the serial, key, signature and key identifier byte for byte alike', async () => {
    const { signer } = authorityOf('EC-P256');
    const hand = parse((await mintX509Svid(signer, params())).certificate).parsed;
    const built = parse((await mintX509SvidWithBuilder(signer, params())).certificate).parsed;
    expect(hex(hand.subjectName.toArrayBuffer())).toBe(hex(built.subjectName.toArrayBuffer()));
    expect(hex(hand.issuerName.toArrayBuffer())).toBe(hex(built.issuerName.toArrayBuffer()));
    const withoutKeyId = (certificate: PeculiarCertificate) =>
      certificate.extensions.filter((e) => e.type !== SKI_OID).map((e) => hex(e.rawData));
    expect(withoutKeyId(hand)).toEqual(withoutKeyId(built));
  });
});

describe('DER encoding', () => {
  const hexOf = (buffer: Buffer) => buffer.toString('hex');

  it.each([
    ['1949-12-31T23:59:59.999Z', '180f31393439313233313233353935395a'],
    ['1950-01-01T00:00:00.000Z', '170d3530303130313030303030305a'],
    ['2049-12-31T23:59:59.500Z', '170d3439313233313233353935395a'],
    ['2050-01-01T00:00:00.000Z', '180f32303530303130313030303030305a'],
  ])('writes %s as RFC 5280 asks', (date, der) => {
    expect(hexOf(time(new Date(date)))).toBe(der);
  });

  it('writes minimal positive integers', () => {
    expect(hexOf(unsignedInteger(Buffer.of(0, 0, 0x7f)))).toBe('02017f');
    expect(hexOf(unsignedInteger(Buffer.of(0, 0x80)))).toBe('02020080');
    expect(hexOf(unsignedInteger(Buffer.of(0, 0)))).toBe('020100');
  });

  it('writes short and long lengths', () => {
    expect(hexOf(sequence(Buffer.alloc(127))).slice(0, 4)).toBe('307f');
    expect(hexOf(sequence(Buffer.alloc(128))).slice(0, 6)).toBe('308180');
    expect(hexOf(sequence(Buffer.alloc(256))).slice(0, 8)).toBe('30820100');
    expect(hexOf(sequence(Buffer.alloc(65_536))).slice(0, 10)).toBe('3083010000');
  });

  it('writes object identifiers and named bits', () => {
    expect(hexOf(oid('1.2.840.113549.1.1.11'))).toBe('06092a864886f70d01010b');
    expect(hexOf(oid('2.5.29.17'))).toBe('0603551d11');
    expect(hexOf(namedBits([0]))).toBe('03020780');
    expect(hexOf(namedBits([0, 2]))).toBe('030205a0');
    expect(hexOf(namedBits([8]))).toBe('0303070080');
  });
});

describe('serial numbers', () => {
  it('are positive, at least 64 bits, and distinct across 1,000 SVIDs', async () => {
    const { signer } = authorityOf('EC-P256');
    const serials = new Set<string>();
    for (let i = 0; i < 1000; i += 1) {
      const svid = await mintX509Svid(signer, params({ dnsNames: [] }));
      const serial = tbsFields(svid.certificate).serial;
      expect((serial[0] ?? 0) & 0x80).toBe(0);
      // 128 random bits: 16 octets, 17 with the sign octet; fewer only for leading zero octets.
      expect(serial.length).toBeGreaterThanOrEqual(8);
      expect(serial.length).toBeLessThanOrEqual(17);
      serials.add(svid.serial);
    }
    expect(serials.size).toBe(1000);
  });
});

describe.each(paths)('%s X.509-SVID requests that break the rules', (_, mint) => {
  const signer = () => authorityOf('EC-P256').signer;

  it.each([
    ['no path', 'spiffe://example.org'],
    ['an empty path', 'spiffe://example.org/'],
    ['an empty segment', 'spiffe://example.org/ns//sa'],
    ['a trailing slash', 'spiffe://example.org/ns/'],
    ['an upper-case scheme', 'SPIFFE://example.org/ns'],
    ['another scheme', 'https://example.org/ns'],
    ['an upper-case trust domain', 'spiffe://Example.org/ns'],
    ['a port', 'spiffe://example.org:8443/ns'],
    ['a user', 'spiffe://user@example.org/ns'],
    ['a query', 'spiffe://example.org/ns?x=1'],
    ['a fragment', 'spiffe://example.org/ns#x'],
    ['a space', 'spiffe://example.org/n s'],
    ['percent-encoding', 'spiffe://example.org/ns/%41'],
    ['over 2048 characters', `spiffe://example.org/${'a'.repeat(2030)}`],
    ['leading white space', ' spiffe://example.org/ns'],
  ])('InvalidSpiffeId for %s', async (_, spiffeId) => {
    const error = await failure(() => mint(signer(), params({ spiffeId })));
    expect(error.code).toBe('InvalidSpiffeId');
    expect(error.name).toBe('SvidError');
    expect(error.message).toContain('is not a workload SPIFFE ID: write spiffe://<trust domain>/<path>');
  });

  it.each(['spiffe://example.org/ns/./sa', 'spiffe://example.org/ns/..'])(
    "InvalidSpiffeId for the '.' or '..' segment of %j",
    async (spiffeId) => {
      const error = await failure(() => mint(signer(), params({ spiffeId })));
      expect(error.code).toBe('InvalidSpiffeId');
      expect(error.message).toBe(`${JSON.stringify(spiffeId)} has a '.' or '..' path segment`);
    },
  );

  it('TrustDomainMismatch for a SPIFFE ID of another trust domain', async () => {
    const error = await failure(() => mint(signer(), params({ spiffeId: 'spiffe://example.com/ns' })));
    expect(error.code).toBe('TrustDomainMismatch');
    expect(error.message).toBe(
      '"spiffe://example.com/ns" is in trust domain example.com, but the authority signs for example.org',
    );
  });

  it.each([
    'API.example.org',
    'a..b',
    '.a.b',
    'a.b.',
    '-a.b',
    'a-.b',
    'a_b.c',
    '1.2.3.4',
    '*',
    '*.',
    'a.*.b',
    '**.a',
    '',
    'a b.c',
    `${'a'.repeat(64)}.b`,
    `${'a.'.repeat(126)}bc`,
  ])('InvalidDnsName for %j', async (dnsName) => {
    const error = await failure(() => mint(signer(), params({ dnsNames: ['ok.example.org', dnsName] })));
    expect(error.code).toBe('InvalidDnsName');
    expect(error.message).toContain(
      `${JSON.stringify(dnsName.length > 80 ? `${dnsName.slice(0, 80)}…` : dnsName)} is not a DNS name`,
    );
  });

  it('accepts a SPIFFE ID of exactly 2048 characters', async () => {
    const spiffeId = `spiffe://example.org/${'a'.repeat(2048 - 21)}`;
    expect(spiffeId).toHaveLength(2048);
    const svid = await mint(signer(), params({ spiffeId }));
    expect(new X509Certificate(svid.certificate).subjectAltName).toContain(spiffeId);
  });

  it('accepts single labels, wildcards and 253-character names, and drops repeats', async () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(long).toHaveLength(253);
    const dnsNames = ['api', '*.api.svc', long, 'api', '0a.x1'];
    const svid = await mint(signer(), params({ dnsNames }));
    expect(new X509Certificate(svid.certificate).subjectAltName).toBe(
      `URI:${SPIFFE_ID}, DNS:api, DNS:*.api.svc, DNS:${long}, DNS:0a.x1`,
    );
  });

  it.each([0, -1, 999, Number.NaN, Number.POSITIVE_INFINITY])('InvalidTtl for %d ms', async (ttlMs) => {
    const error = await failure(() => mint(signer(), params({ ttlMs })));
    expect(error.code).toBe('InvalidTtl');
    expect(error.message).toBe(`the lifetime must be at least one second, not ${ttlMs} ms`);
  });

  it('InvalidTime for an invalid now', async () => {
    const error = await failure(() => mint(signer(), params({ now: new Date(Number.NaN) })));
    expect(error.code).toBe('InvalidTime');
    expect(error.message).toBe('now is not a valid date');
  });

  it.each([0, 500, 60_000])('AuthorityExpired %d ms after the authority ends', async (afterMs) => {
    const { authority } = authorityOf('EC-P256');
    const now = new Date(Date.parse(authority.notAfter) + afterMs);
    const error = await failure(() => mint(signer(), params({ now })));
    expect(error.code).toBe('AuthorityExpired');
    expect(error.message).toBe(
      `the authority is valid until ${authority.notAfter}: too late to issue an SVID at ${now.toISOString()}`,
    );
  });

  it('end with the authority when it ends a millisecond after now', async () => {
    const { authority } = authorityOf('EC-P256');
    const now = new Date(Date.parse(authority.notAfter) - 1);
    expect((await mint(signer(), params({ now }))).notAfter.toISOString()).toBe(authority.notAfter);
  });
});

describe('prepareX509Signer', () => {
  const expectUnusable = (authority: X509Authority, message: string | RegExp) => {
    let thrown: unknown;
    try {
      prepareX509Signer(authority);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SvidError);
    expect(thrown).toMatchObject({ code: 'AuthorityUnusable' });
    if (thrown instanceof Error) expect(thrown.message).toMatch(message);
  };

  it('reads the trust domain, lifetime and chain of the authority', () => {
    const { authority, signer } = authorityOf('EC-P384');
    expect(signer.trustDomain).toBe(TRUST_DOMAIN);
    expect(signer.authorityId).toBe(authority.id);
    expect(signer.notAfter.toISOString()).toBe(authority.notAfter);
    expect(signer.hash).toBe('sha384');
    expect(signer.chain).toEqual([]);
    expect(prepareX509Signer(upstreamAuthority).chain).toHaveLength(2);
  });

  it("AuthorityUnusable for another authority's key", () => {
    const { authority } = authorityOf('EC-P256');
    expectUnusable(
      { ...authority, privateKey: authorityOf('EC-P384').authority.privateKey },
      `the private key of authority ${authority.id} is not its certificate's`,
    );
  });

  it('AuthorityUnusable for an unreadable key', () => {
    const { authority } = authorityOf('EC-P256');
    expectUnusable(
      { ...authority, privateKey: 'nope' },
      `the private key of authority ${authority.id} is not readable`,
    );
  });

  it("AuthorityUnusable for an id that is not the certificate's key identifier", () => {
    const { authority } = authorityOf('EC-P256');
    expectUnusable(
      { ...authority, id: authorityOf('EC-P384').authority.id },
      /is not its certificate's subject key identifier$/,
    );
  });

  it('AuthorityUnusable for a certificate that is not one', () => {
    const { authority } = authorityOf('EC-P256');
    expectUnusable({ ...authority, certificate: 'garbage' }, /is not one PEM certificate$/);
    expectUnusable(
      { ...authority, certificate: authority.certificate + authority.certificate },
      /is not one PEM certificate$/,
    );
  });

  it('AuthorityUnusable for a certificate that names no trust domain', () => {
    const id = upstreamRoot.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? '';
    expectUnusable(
      {
        ...upstreamAuthority,
        upstream: undefined,
        id,
        certificate: upstreamRoot.pem,
        privateKey: pkcs8(upstreamRoot.privateKey),
      },
      `the certificate of authority ${id} does not name one trust domain as spiffe://<trust domain>`,
    );
  });

  it('AuthorityUnusable for a key other than EC P-256, EC P-384 or RSA', async () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
    const signing = x509SigningKey(keys.privateKey);
    const ski = await x509.SubjectKeyIdentifierExtension.create(spki);
    const certificate = await x509.X509CertificateGenerator.create({
      subject: 'O=Trustline',
      issuer: 'O=Trustline',
      publicKey: spki,
      signingKey: signing.key,
      signingAlgorithm: signing.algorithm,
      extensions: [
        ski,
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://example.org' }]),
      ],
    });
    expectUnusable(
      {
        ...upstreamAuthority,
        upstream: undefined,
        id: ski.keyId,
        certificate: certificate.toString('pem'),
        privateKey: pkcs8(keys.privateKey),
      },
      `authority ${ski.keyId} has a key that is not EC P-256, EC P-384 or RSA`,
    );
  });
});
