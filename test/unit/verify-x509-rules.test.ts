import type { Extension } from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { importX509SigningKey } from '../../src/core/authorities/keys.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { X509Authority } from '../../src/core/authorities/model.ts';
import { emptyJournal } from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import { buildTrustBundle } from '../../src/core/bundle/trust-bundle.ts';
import { OIDS } from '../../src/core/svid/profile.ts';
import { mintX509Svid, prepareX509Signer, type X509Svid } from '../../src/core/svid/x509-svid.ts';
import { parseSpiffeBundle, type SpiffeBundle } from '../../src/core/verify/bundle.ts';
import { type Certificate, readCertificatesPem } from '../../src/core/verify/certificate.ts';
import { verifyX509Svid, x509SvidRules } from '../../src/core/verify/x509-rules.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TRUST_DOMAIN = 'example.org';
const SPIFFE_ID = 'spiffe://example.org/ns/payments/sa/api';

let authority: X509Authority;
/** Same trust domain, never published: what it signs must not chain to the bundle. */
let stranger: X509Authority;
let bundle: SpiffeBundle;

/** The bundle Trustline would publish for these authorities, read back as relying parties read it. */
function bundleOf(...authorities: X509Authority[]): SpiffeBundle {
  const journal = { ...emptyJournal(TRUST_DOMAIN), authorities };
  return parseSpiffeBundle(
    buildTrustBundle({ journal, now: NOW, refreshHintSeconds: 300 }).files['bundle.spiffe.json'],
  );
}

beforeAll(async () => {
  const mint = () =>
    mintX509Authority({ trustDomain: TRUST_DOMAIN, keyType: 'EC-P256', now: NOW, ttlMs: 30 * DAY });
  authority = { ...(await mint()), state: 'Active' };
  stranger = { ...(await mint()), state: 'Active' };
  bundle = bundleOf(authority);
}, 60_000);

const mint = (from: X509Authority = authority): Promise<X509Svid> =>
  mintX509Svid(prepareX509Signer(from), { spiffeId: SPIFFE_ID, ttlMs: HOUR, now: NOW });

const chainOf = (...pems: string[]) => readCertificatesPem(pems.join(''));

/** The extensions of a leaf the project would mint; each case replaces or drops one. */
interface LeafParts {
  basicConstraints: Extension | null;
  keyUsage: Extension | null;
  extendedKeyUsage: Extension | null;
  subjectAltName: Extension | null;
  notBefore: Date;
  notAfter: Date;
}

/**
 * A leaf signed by the bundle's authority whose profile is broken on purpose: the project's minting
 * refuses to write such certificates, so this writes them with @peculiar/x509's generic builder.
 */
async function leaf(overrides: Partial<LeafParts>): Promise<[Certificate, ...Certificate[]]> {
  const parts: LeafParts = {
    basicConstraints: new x509.BasicConstraintsExtension(false, undefined, true),
    keyUsage: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    extendedKeyUsage: new x509.ExtendedKeyUsageExtension([OIDS.serverAuth, OIDS.clientAuth]),
    subjectAltName: new x509.SubjectAlternativeNameExtension([{ type: 'url', value: SPIFFE_ID }]),
    notBefore: new Date(NOW.getTime() - 10_000),
    notAfter: new Date(NOW.getTime() + HOUR),
    ...overrides,
  };
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const signer = importX509SigningKey(authority.privateKey);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '0badcafe',
    subject: 'O=Trustline',
    issuer: new x509.X509Certificate(authority.certificate).subjectName,
    notBefore: parts.notBefore,
    notAfter: parts.notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      parts.basicConstraints,
      parts.keyUsage,
      parts.extendedKeyUsage,
      parts.subjectAltName,
      new x509.AuthorityKeyIdentifierExtension(authority.id),
    ].filter((extension) => extension !== null),
  });
  return chainOf(certificate.toString('pem'));
}

const failedRules = (
  chain: [Certificate, ...Certificate[]],
  options: { now?: Date; trustDomain?: string } = {},
) =>
  verifyX509Svid(chain, bundle, { now: options.now ?? NOW, trustDomain: options.trustDomain }).failures.map(
    (failure) => failure.rule,
  );

const san = (...names: { type: 'url' | 'dns'; value: string }[]) =>
  new x509.SubjectAlternativeNameExtension(names);
const usages = (flags: number, critical = true) => new x509.KeyUsagesExtension(flags, critical);
const { digitalSignature, keyCertSign, cRLSign, keyEncipherment } = x509.KeyUsageFlags;

describe('verifyX509Svid', () => {
  it('accepts an X.509-SVID the project mints, and names its SPIFFE ID', async () => {
    const svid = await mint();
    const verdict = verifyX509Svid(chainOf(svid.certificate), bundle, { now: NOW });
    expect(verdict).toEqual({ kind: 'x509-svid', spiffeId: SPIFFE_ID, failures: [] });
  });

  it('accepts the unbroken hand-built leaf, so each case below breaks exactly one thing', async () => {
    expect(failedRules(await leaf({}))).toEqual([]);
  });

  /** Each rule, broken on its own: only that rule fails. */
  const cases: [
    rule: string,
    how: string,
    chain: () => Promise<[Certificate, ...Certificate[]]>,
    extra?: string[],
  ][] = [
    [
      'uri-san',
      'two URI SANs',
      () =>
        leaf({
          subjectAltName: san(
            { type: 'url', value: SPIFFE_ID },
            { type: 'url', value: 'spiffe://example.org/b' },
          ),
        }),
    ],
    [
      'uri-san',
      'a DNS SAN only',
      () => leaf({ subjectAltName: san({ type: 'dns', value: 'api.example.org' }) }),
    ],
    ['uri-san', 'no SAN extension', () => leaf({ subjectAltName: null })],
    [
      'spiffe-id',
      'a trust domain ID without a path',
      () => leaf({ subjectAltName: san({ type: 'url', value: 'spiffe://example.org' }) }),
    ],
    [
      'spiffe-id',
      'an https URI',
      () => leaf({ subjectAltName: san({ type: 'url', value: 'https://example.org/x' }) }),
    ],
    [
      'spiffe-id',
      "a '..' path segment",
      () => leaf({ subjectAltName: san({ type: 'url', value: 'spiffe://example.org/a/../b' }) }),
    ],
    [
      'trust-domain',
      'an ID in another trust domain',
      () => leaf({ subjectAltName: san({ type: 'url', value: 'spiffe://other.org/x' }) }),
    ],
    [
      'leaf-not-ca',
      'cA=true',
      () => leaf({ basicConstraints: new x509.BasicConstraintsExtension(true, undefined, true) }),
    ],
    [
      'key-usage-critical',
      'a key usage that is not critical',
      () => leaf({ keyUsage: usages(digitalSignature, false) }),
    ],
    ['key-usage-critical', 'no key usage', () => leaf({ keyUsage: null }), ['digital-signature']],
    [
      'digital-signature',
      'keyEncipherment without digitalSignature',
      () => leaf({ keyUsage: usages(keyEncipherment) }),
    ],
    ['no-cert-sign', 'keyCertSign', () => leaf({ keyUsage: usages(digitalSignature | keyCertSign) })],
    ['no-cert-sign', 'cRLSign', () => leaf({ keyUsage: usages(digitalSignature | cRLSign) })],
    [
      'extended-key-usage',
      'serverAuth without clientAuth',
      () => leaf({ extendedKeyUsage: new x509.ExtendedKeyUsageExtension([OIDS.serverAuth]) }),
    ],
    [
      'chains-to-bundle',
      'a leaf of an authority not in the bundle',
      async () => chainOf((await mint(stranger)).certificate),
    ],
    [
      'validity',
      'a leaf not yet valid',
      () => leaf({ notBefore: new Date(NOW.getTime() + HOUR), notAfter: new Date(NOW.getTime() + 2 * HOUR) }),
    ],
    [
      'validity',
      'an expired leaf',
      () => leaf({ notBefore: new Date(NOW.getTime() - 2 * HOUR), notAfter: new Date(NOW.getTime() - HOUR) }),
    ],
  ];

  it.each(cases)('fails %s alone for %s', async (rule, _how, chain, extra = []) => {
    expect(failedRules(await chain())).toEqual(
      x509SvidRules.map((r) => r.name).filter((name) => name === rule || extra.includes(name)),
    );
  });

  it('has a case for every rule, and every rule a distinct name', () => {
    const names = x509SvidRules.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(cases.map(([rule]) => rule))).toEqual(new Set(names));
  });

  it('accepts a leaf without extended key usage: the rule applies only when it is present', async () => {
    expect(failedRules(await leaf({ extendedKeyUsage: null }))).toEqual([]);
  });

  it('checks validity at the injected now', async () => {
    const svid = await mint();
    const chain = chainOf(svid.certificate);
    expect(failedRules(chain, { now: new Date(svid.notAfter.getTime() + 1000) })).toEqual(['validity']);
    expect(failedRules(chain, { now: new Date(svid.notBefore.getTime() - 1000) })).toEqual(['validity']);
    expect(failedRules(chain, { now: svid.notAfter })).toEqual([]);
  });

  it('fails trust-domain when another trust domain is asked for', async () => {
    const verdict = verifyX509Svid(chainOf((await mint()).certificate), bundle, {
      now: NOW,
      trustDomain: 'other.org',
    });
    expect(verdict.failures).toEqual([
      {
        rule: 'trust-domain',
        message: `${SPIFFE_ID} is in trust domain example.org, the bundle is for other.org`,
      },
    ]);
  });

  it('reports every failing rule at once', async () => {
    const chain = await leaf({
      basicConstraints: new x509.BasicConstraintsExtension(true, undefined, true),
      keyUsage: usages(keyCertSign, false),
      notAfter: new Date(NOW.getTime() - 1000),
      notBefore: new Date(NOW.getTime() - HOUR),
    });
    expect(failedRules(chain)).toEqual([
      'leaf-not-ca',
      'key-usage-critical',
      'digital-signature',
      'no-cert-sign',
      'validity',
    ]);
  });

  it('chains through intermediates given after the leaf, in any order, and says which link is missing', async () => {
    // The bundle holds only `stranger`; `authority` becomes an intermediate that `stranger` signs.
    const intermediateKeys = importX509SigningKey(stranger.privateKey);
    const authorityCertificate = new x509.X509Certificate(authority.certificate);
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: '01',
      subject: authorityCertificate.subjectName,
      issuer: new x509.X509Certificate(stranger.certificate).subjectName,
      notBefore: authorityCertificate.notBefore,
      notAfter: authorityCertificate.notAfter,
      publicKey: authorityCertificate.publicKey,
      signingKey: intermediateKeys.key,
      signingAlgorithm: intermediateKeys.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        usages(keyCertSign | cRLSign | digitalSignature),
        new x509.SubjectKeyIdentifierExtension(authority.id),
        new x509.AuthorityKeyIdentifierExtension(stranger.id),
        san({ type: 'url', value: `spiffe://${TRUST_DOMAIN}` }),
      ],
    });
    const upstreamBundle = bundleOf(stranger);
    const svid = await mint();
    const withChain = chainOf(svid.certificate, intermediate.toString('pem'));
    expect(verifyX509Svid(withChain, upstreamBundle, { now: NOW }).failures).toEqual([]);
    const alone = verifyX509Svid(chainOf(svid.certificate), upstreamBundle, { now: NOW }).failures;
    expect(alone).toEqual([
      {
        rule: 'chains-to-bundle',
        message: `no authority in the bundle signed the leaf (issuer ${authorityCertificate.subject})`,
      },
    ]);
  });

  it('reads the trust domain from the bundle, and fails when the bundle names none', async () => {
    const none: SpiffeBundle = { ...bundle, x509Authorities: [] };
    const verdict = verifyX509Svid(chainOf((await mint()).certificate), none, { now: NOW });
    expect(verdict.failures.map((failure) => failure.rule)).toEqual(['trust-domain', 'chains-to-bundle']);
    expect(verdict.failures[0]?.message).toContain('pass --trust-domain');
  });
});
