import { createHash, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import type { X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { x509SigningKey } from '../../src/core/authorities/keys.ts';
import { encodePem } from '../../src/core/authorities/pem.ts';
import { parseUpstreamCA, type UpstreamCA, UpstreamError } from '../../src/core/authorities/upstream.ts';
import { x509 } from '../../src/core/authorities/x509.ts';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const DAY = 86_400_000;
const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

interface TestCert {
  certificate: PeculiarCertificate;
  keys: { privateKey: KeyObject; publicKey: KeyObject };
  pem: string;
}

interface CertOptions {
  issuer?: TestCert;
  keys?: TestCert['keys'];
  ca?: boolean;
  keyUsage?: number;
  ski?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}

const ecKeys = (namedCurve = 'P-256') => generateKeyPairSync('ec', { namedCurve });

/** A certificate for the fixtures: a CA by default, self-signed unless an issuer is given. */
async function makeCert(name: string, options: CertOptions = {}): Promise<TestCert> {
  const keys = options.keys ?? ecKeys();
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const signer = x509SigningKey(options.issuer?.keys.privateKey ?? keys.privateKey);
  const ski = await x509.SubjectKeyIdentifierExtension.create(spki);
  const issuerKeyId = options.issuer?.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}, O=Upstream`,
    issuer: options.issuer?.certificate.subjectName ?? `CN=${name}, O=Upstream`,
    notBefore: options.notBefore ?? new Date(NOW.getTime() - DAY),
    notAfter: options.notAfter ?? new Date(NOW.getTime() + 365 * DAY),
    publicKey: spki,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(options.ca ?? true, undefined, true),
      new x509.KeyUsagesExtension(options.keyUsage ?? CA_USAGES, true),
      ...(options.ski === false ? [] : [ski]),
      ...(issuerKeyId === undefined ? [] : [new x509.AuthorityKeyIdentifierExtension(issuerKeyId)]),
    ],
  });
  return { certificate, keys, pem: certificate.toString('pem') };
}

const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();
const keyIdOf = (cert: TestCert) => cert.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
/** Re-encoded the way parseUpstreamCA writes PEM, to compare certificates by content. */
const canonical = (cert: TestCert) => encodePem('CERTIFICATE', new Uint8Array(cert.certificate.rawData));

/** Whether a certificate signed with the upstream's key verifies under its signing certificate. */
async function signsUnder(upstream: UpstreamCA, signerCert: TestCert): Promise<boolean> {
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=leaf',
    issuer: signerCert.certificate.subjectName,
    publicKey: ecKeys().publicKey.export({ type: 'spki', format: 'der' }),
    signingKey: upstream.privateKey.key,
    signingAlgorithm: upstream.privateKey.algorithm,
  });
  return new X509Certificate(leaf.toString('pem')).verify(signerCert.keys.publicKey);
}

let root: TestCert;
let intermediate: TestCert;
let signer: TestCert;
let otherRoot: TestCert;

beforeAll(async () => {
  root = await makeCert('Root', { keys: ecKeys('P-384'), notAfter: new Date(NOW.getTime() + 3650 * DAY) });
  intermediate = await makeCert('Intermediate', { issuer: root });
  signer = await makeCert('Signer', { issuer: intermediate, notAfter: new Date(NOW.getTime() + 30 * DAY) });
  otherRoot = await makeCert('Other Root');
});

const secret = (overrides: Record<string, string | undefined> = {}): Record<string, string> => {
  const data: Record<string, string | undefined> = {
    'tls.crt': signer.pem + intermediate.pem,
    'tls.key': pkcs8(signer.keys.privateKey),
    'ca.crt': root.pem,
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(data).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
};

/** The UpstreamError parseUpstreamCA throws for `data`, failing the test if it throws none or another. */
function rejection(data: Record<string, string>, now = NOW): UpstreamError {
  try {
    parseUpstreamCA(data, now);
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error('parseUpstreamCA accepted the Secret');
}

describe('parseUpstreamCA accepts', () => {
  it('a signer, its intermediate and a root, and reads them out', async () => {
    const upstream: UpstreamCA = parseUpstreamCA(secret(), NOW);
    expect(upstream.signerId).toBe(keyIdOf(signer));
    expect(upstream.signerCertificate).toBe(canonical(signer));
    expect(upstream.chain).toEqual([canonical(signer), canonical(intermediate)]);
    expect(upstream.rootId).toBe(keyIdOf(root));
    expect(upstream.notAfter).toBe(signer.certificate.notAfter.toISOString());
    expect(upstream.roots).toEqual([
      {
        id: keyIdOf(root),
        certificate: canonical(root),
        notBefore: root.certificate.notBefore.toISOString(),
        notAfter: root.certificate.notAfter.toISOString(),
      },
    ]);
    expect(await signsUnder(upstream, signer)).toBe(true);
  });

  it('a signer that is itself a root in ca.crt', () => {
    const upstream = parseUpstreamCA(
      { 'tls.crt': root.pem, 'tls.key': pkcs8(root.keys.privateKey), 'ca.crt': otherRoot.pem + root.pem },
      NOW,
    );
    expect(upstream.chain).toEqual([canonical(root)]);
    expect(upstream.roots.map((r) => r.id)).toEqual([keyIdOf(otherRoot), keyIdOf(root)]);
    expect(upstream.rootId).toBe(keyIdOf(root));
  });

  it('a signer whose intermediate is in ca.crt rather than tls.crt', () => {
    const upstream = parseUpstreamCA(secret({ 'tls.crt': signer.pem, 'ca.crt': intermediate.pem }), NOW);
    expect(upstream.chain).toEqual([canonical(signer)]);
  });

  it('tls.crt with CRLF line ends, text between blocks, and its chain in any order', () => {
    const text = `${signer.pem.replaceAll('\n', '\r\n')}subject=CN=Other Root\n${otherRoot.pem}${intermediate.pem}`;
    const upstream = parseUpstreamCA(secret({ 'tls.crt': text }), NOW);
    expect(upstream.chain).toEqual([canonical(signer), canonical(otherRoot), canonical(intermediate)]);
  });

  it.each([
    [
      'SEC1 (EC PRIVATE KEY)',
      () => signer.keys.privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    ],
    [
      'SEC1 after EC PARAMETERS, as openssl ecparam -genkey writes it',
      () =>
        `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${signer.keys.privateKey
          .export({ type: 'sec1', format: 'pem' })
          .toString()}`,
    ],
  ])('an EC key as %s', (_name, key) => {
    expect(parseUpstreamCA(secret({ 'tls.key': key() }), NOW).signerId).toBe(keyIdOf(signer));
  });

  it('an RSA signer with a PKCS#1 (RSA PRIVATE KEY) key', async () => {
    const rsa = await makeCert('RSA Signer', {
      issuer: root,
      keys: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    });
    const key = rsa.keys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    const upstream = parseUpstreamCA({ 'tls.crt': rsa.pem, 'tls.key': key, 'ca.crt': root.pem }, NOW);
    expect(upstream.privateKey.algorithm).toEqual({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' });
    expect(await signsUnder(upstream, rsa)).toBe(true);
  });

  it('an Ed25519 signer, as cert-manager can issue', async () => {
    const ed = await makeCert('Ed25519 Signer', { issuer: root, keys: generateKeyPairSync('ed25519') });
    const upstream = parseUpstreamCA(
      { 'tls.crt': ed.pem, 'tls.key': pkcs8(ed.keys.privateKey), 'ca.crt': root.pem },
      NOW,
    );
    expect(upstream.privateKey.algorithm).toEqual({ name: 'Ed25519' });
    expect(await signsUnder(upstream, ed)).toBe(true);
  });

  it('a signer without a subject key identifier, given its RFC 5280 method 1 id', async () => {
    const bare = await makeCert('Bare Signer', { issuer: root, ski: false });
    const upstream = parseUpstreamCA(
      { 'tls.crt': bare.pem, 'tls.key': pkcs8(bare.keys.privateKey), 'ca.crt': root.pem },
      NOW,
    );
    const jwk = bare.keys.publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([
      Buffer.of(4),
      Buffer.from(jwk.x ?? '', 'base64url'),
      Buffer.from(jwk.y ?? '', 'base64url'),
    ]);
    expect(upstream.signerId).toBe(createHash('sha1').update(point).digest('hex'));
  });
});

describe('parseUpstreamCA rejects, saying why', () => {
  it.each([
    [
      'tls.key',
      { 'tls.key': undefined },
      /^missing tls\.key: the Secret needs tls\.crt \(the signing certificate, then its chain\), tls\.key \(its private key\) and ca\.crt \(the root certificates\)$/,
    ],
    ['tls.crt and ca.crt', { 'tls.crt': undefined, 'ca.crt': undefined }, /^missing tls\.crt and ca\.crt: /],
  ])('a Secret without %s', (_name, overrides, message) => {
    const error = rejection(secret(overrides));
    expect(error.code).toBe('MissingData');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['tls.crt', '', /^tls\.crt holds no certificate/],
    ['tls.crt', 'not PEM at all', /^tls\.crt holds no certificate/],
    [
      'tls.crt',
      '-----BEGIN CERTIFICATE-----\nnot*base64\n-----END CERTIFICATE-----\n',
      /^tls\.crt is not readable PEM: PEM block 1 \(CERTIFICATE\) is not plain base64/,
    ],
    [
      'tls.crt',
      '-----BEGIN CERTIFICATE-----\nAAAA\n',
      /^tls\.crt is not readable PEM: PEM block 1 has no matching END line/,
    ],
    [
      'tls.crt',
      '-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n',
      /^tls\.crt: PEM block 1 is not a valid X\.509 certificate/,
    ],
    [
      'ca.crt',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n',
      /^ca\.crt is not readable PEM: PEM block 1 begins as CERTIFICATE but ends as X509 CRL/,
    ],
  ])('an unreadable %s: %j', (key, text, message) => {
    const error = rejection(secret({ [key]: text }));
    expect(error.code).toBe('CertificateUnreadable');
    expect(error.message).toMatch(message);
  });

  it('a private key in tls.crt, without repeating it', () => {
    const key = pkcs8(signer.keys.privateKey);
    const error = rejection(secret({ 'tls.crt': signer.pem + key }));
    expect(error.code).toBe('CertificateUnreadable');
    expect(error.message).toBe(
      'tls.crt is not readable PEM: PEM block 2 is a PRIVATE KEY, where only CERTIFICATE blocks belong',
    );
  });

  it.each([
    ['garbage', () => 'garbage', /no PRIVATE KEY PEM block/],
    ['a certificate', () => signer.pem, /no PRIVATE KEY PEM block/],
    [
      'an encrypted key',
      () =>
        signer.keys.privateKey
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
          .toString(),
      /the key is encrypted; store it unencrypted/,
    ],
    [
      'a corrupt key',
      () => '-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n',
      /the PRIVATE KEY block is not a valid private key/,
    ],
    [
      'two keys',
      () => pkcs8(signer.keys.privateKey) + pkcs8(root.keys.privateKey),
      /2 private keys where one belongs/,
    ],
    [
      'an X25519 key',
      () => pkcs8(generateKeyPairSync('x25519').privateKey),
      /x25519 keys are not supported; use EC, RSA or Ed25519/,
    ],
  ])('tls.key holding %s, without quoting it', (_name, key, message) => {
    const text = key();
    const error = rejection(secret({ 'tls.key': text }));
    expect(error.code).toBe('KeyUnreadable');
    expect(error.message).toMatch(/^tls\.key is not a usable private key: /);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/-----|MII/);
  });

  it('a signer that is not a CA', async () => {
    const leaf = await makeCert('Leaf', { issuer: intermediate, ca: false });
    const error = rejection(
      secret({ 'tls.crt': leaf.pem + intermediate.pem, 'tls.key': pkcs8(leaf.keys.privateKey) }),
    );
    expect(error.code).toBe('SignerNotCA');
    expect(error.message).toBe(
      "tls.crt's first certificate (CN=Leaf, O=Upstream) is not a CA: it lacks basicConstraints cA=true",
    );
  });

  it('a CA signer whose keyUsage lacks keyCertSign', async () => {
    const crlOnly = await makeCert('CRL Signer', {
      issuer: intermediate,
      keyUsage: x509.KeyUsageFlags.cRLSign,
    });
    const error = rejection(
      secret({ 'tls.crt': crlOnly.pem + intermediate.pem, 'tls.key': pkcs8(crlOnly.keys.privateKey) }),
    );
    expect(error.code).toBe('SignerNotCA');
    expect(error.message).toBe(
      "tls.crt's first certificate (CN=CRL Signer, O=Upstream) may not sign certificates: its keyUsage lacks keyCertSign",
    );
  });

  it.each([
    ['another EC key', () => ecKeys().privateKey],
    ['a key of another type', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
  ])('a key that is not the signer’s: %s', (_name, key) => {
    const error = rejection(secret({ 'tls.key': pkcs8(key()) }));
    expect(error.code).toBe('KeyMismatch');
    expect(error.message).toBe(
      "tls.key is not the private key of tls.crt's first certificate (CN=Signer, O=Upstream)",
    );
    // A failed comparison must leave nothing behind that breaks the next key read.
    expect(parseUpstreamCA(secret(), NOW).signerId).toBe(keyIdOf(signer));
  });

  it.each(['', ' \n'])('an empty ca.crt (%j)', (text) => {
    const error = rejection(secret({ 'ca.crt': text }));
    expect(error.code).toBe('NoRoots');
    expect(error.message).toBe(
      'ca.crt holds no certificate; put the root certificate(s) of the upstream CA there',
    );
  });

  it('a signer that expired', () => {
    const error = rejection(secret(), new Date(signer.certificate.notAfter.getTime() + 1000));
    expect(error.code).toBe('SignerExpired');
    expect(error.message).toBe(
      `tls.crt's first certificate (CN=Signer, O=Upstream) expired at ${signer.certificate.notAfter.toISOString()}`,
    );
  });

  it('a signer not valid yet', () => {
    const error = rejection(secret(), new Date(signer.certificate.notBefore.getTime() - 1000));
    expect(error.code).toBe('SignerNotYetValid');
    expect(error.message).toBe(
      `tls.crt's first certificate (CN=Signer, O=Upstream) is not valid until ${signer.certificate.notBefore.toISOString()}`,
    );
  });

  it('a signer whose chain does not reach ca.crt', () => {
    const error = rejection(secret({ 'ca.crt': otherRoot.pem }));
    expect(error.code).toBe('NotChained');
    expect(error.message).toBe(
      "tls.crt's first certificate (CN=Signer, O=Upstream) does not chain to a root in ca.crt: its chain stops at CN=Intermediate, O=Upstream, which no certificate in tls.crt or ca.crt signed",
    );
  });

  it('a signer whose intermediate is missing', () => {
    const error = rejection(secret({ 'tls.crt': signer.pem }));
    expect(error.code).toBe('NotChained');
    expect(error.message).toMatch(/no certificate in tls\.crt or ca\.crt signed it$/);
  });

  it('a root with the right name but another key: signatures are checked, not names', async () => {
    const impostor = await makeCert('Root', { keys: ecKeys('P-384'), ski: false });
    expect(impostor.certificate.subject).toBe(root.certificate.subject);
    const error = rejection(secret({ 'ca.crt': impostor.pem }));
    expect(error.code).toBe('NotChained');
  });
});
