import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { X509KeyType } from '../../src/api/trustdomain.ts';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_SPEC_HASH,
  ANNOTATION_SVID_SPIFFE_ID,
  SVID_BUNDLE_KEY,
  SVID_CERT_KEY,
  SVID_PRIVATE_KEY_KEY,
  TLS_CA_KEY,
  TLS_CERT_KEY,
  TLS_PRIVATE_KEY_KEY,
} from '../../src/api/well-known.ts';
import {
  exportPrivateKeyPem,
  generateX509KeyPair,
  importJwtSigningKey,
  importX509SigningKey,
} from '../../src/core/authorities/keys.ts';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { JwtAuthority, X509Authority } from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import type { DesiredIdentity, IssuanceInput, ReissuePolicy } from '../../src/core/svid/identity.ts';
import {
  jwtAudienceMismatch,
  jwtAuthorityGone,
  jwtMissing,
  jwtRenewalDue,
  jwtSubjectMismatch,
  jwtUnreadable,
} from '../../src/core/svid/jwt-policies.ts';
import { readLeaf } from '../../src/core/svid/observed-secret.ts';
import { BACKDATE_MS } from '../../src/core/svid/profile.ts';
import {
  JWT_REISSUE_POLICIES,
  jwtSvidsToReissue,
  REISSUE_POLICIES,
  reissueReason,
  reissueReasons,
  X509_REISSUE_POLICIES,
  x509ReissueReason,
} from '../../src/core/svid/reissue.ts';
import { ReissueReason } from '../../src/core/svid/reissue-reason.ts';
import { renewAt } from '../../src/core/svid/renewal.ts';
import { buildSecretData, type IssuedX509Svid } from '../../src/core/svid/secret-data.ts';
import { caBundleStale, extraDataKeys } from '../../src/core/svid/secret-drift.ts';
import { normalizeSerial } from '../../src/core/svid/serial.ts';
import {
  certificateUnreadable,
  dataMissing,
  dnsNamesMismatch,
  expired,
  identityMismatch,
  keyMismatch,
  renewalDue,
  secretMissing,
} from '../../src/core/svid/x509-policies.ts';
import {
  authorityGone,
  authorityTainted,
  handEdited,
  specChanged,
} from '../../src/core/svid/x509-record-policies.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Whole seconds, as certificates hold them. */
const NOW = new Date('2030-06-01T12:00:00Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const TRUST_DOMAIN = 'example.org';
const SPIFFE_ID = `spiffe://${TRUST_DOMAIN}/ns/shop/sa/cart`;

const spec: DesiredIdentity = {
  spiffeId: SPIFFE_ID,
  dnsNames: ['cart.shop.svc', 'cart.shop'],
  keyType: 'EC-P256',
  x509TtlMs: HOUR,
  jwtSvids: [
    { key: 'token-vault', audiences: ['vault'], ttlMs: 24 * HOUR },
    { key: 'token-aws', audiences: ['sts.amazonaws.com', 'other'], ttlMs: 24 * HOUR },
  ],
};

interface LeafOptions {
  authority?: X509Authority;
  uris?: string[];
  dnsNames?: readonly string[];
  keyType?: X509KeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** Whether the leaf carries an authority key identifier; it does unless told. */
  authorityKeyId?: boolean;
}

let authority: X509Authority;
let otherAuthority: X509Authority;
let jwtAuthority: JwtAuthority;
let bundlePem: string;

/** An X.509-SVID as a signer would return it, signed with @peculiar/x509 by a minted authority. */
async function signLeaf(options: LeafOptions = {}): Promise<IssuedX509Svid> {
  const signer = options.authority ?? authority;
  const keys = await generateX509KeyPair(options.keyType ?? 'EC-P256');
  const signingKey = importX509SigningKey(signer.privateKey);
  // Backdated as Trustline backdates its SVIDs: the lifetime renewal counts starts at NOW.
  const notBefore = options.notBefore ?? at(-BACKDATE_MS);
  const notAfter = options.notAfter ?? at(HOUR);
  const names = [
    ...(options.uris ?? [SPIFFE_ID]).map((value) => ({ type: 'url' as const, value })),
    ...(options.dnsNames ?? spec.dnsNames).map((value) => ({ type: 'dns' as const, value })),
  ];
  // A leading 0x00 octet is kept when the top bit is set, so the serial stays positive.
  const serial = `01${randomBytes(15).toString('hex')}`;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: 'O=Trustline',
    issuer: new x509.X509Certificate(signer.certificate).subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey.export({ type: 'spki', format: 'der' }),
    signingKey: signingKey.key,
    signingAlgorithm: signingKey.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...(names.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(names)]),
      ...(options.authorityKeyId === false ? [] : [new x509.AuthorityKeyIdentifierExtension(signer.id)]),
    ],
  });
  return {
    certificate: certificate.toString('pem'),
    chain: [],
    privateKey: exportPrivateKeyPem(keys.privateKey),
    serial,
    notAfter,
    authorityId: signer.id,
  };
}

async function signToken(
  claims: { sub?: string; aud?: string | string[] } = {},
  options: { iat?: Date; ttlMs?: number; kid?: string | null } = {},
): Promise<string> {
  const iat = options.iat ?? NOW;
  const key = importJwtSigningKey(jwtAuthority.privateKey, jwtAuthority.algorithm);
  const kid = options.kid === undefined ? jwtAuthority.id : options.kid;
  return new SignJWT({ sub: claims.sub ?? SPIFFE_ID, aud: claims.aud ?? 'vault' })
    .setProtectedHeader({ alg: jwtAuthority.algorithm, typ: 'JWT', ...(kid === null ? {} : { kid }) })
    .setIssuedAt(Math.floor(iat.getTime() / 1000))
    .setExpirationTime(Math.floor((iat.getTime() + (options.ttlMs ?? 24 * HOUR)) / 1000))
    .sign(key);
}

/** Everything a sound Secret holds, issued for `identity`. */
async function secretFor(identity: DesiredIdentity, svid: IssuedX509Svid) {
  const jwtSvids: Record<string, string> = {};
  for (const jwt of identity.jwtSvids) {
    jwtSvids[jwt.key] = await signToken({
      aud: jwt.audiences.length === 1 ? jwt.audiences[0] : [...jwt.audiences],
    });
  }
  return buildSecretData({ identity, svid, bundlePem, jwtSvids, renewal: { random: () => 0.5 } });
}

let healthyData: Record<string, string>;
let healthyAnnotations: Record<string, string>;

interface Overrides {
  now?: Date;
  spec?: Partial<DesiredIdentity>;
  /** undefined deletes the key. */
  data?: Record<string, string | undefined>;
  annotations?: Record<string, string | undefined>;
  publishable?: { x509?: string[]; jwt?: string[] };
  tainted?: string[];
  noSecret?: boolean;
}

const withoutUndefined = (record: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(record).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

function input(overrides: Overrides = {}): IssuanceInput {
  return {
    now: overrides.now ?? at(MINUTE),
    spec: { ...spec, ...overrides.spec },
    ...(overrides.noSecret === true
      ? {}
      : {
          secret: {
            data: withoutUndefined({ ...healthyData, ...overrides.data }),
            annotations: withoutUndefined({ ...healthyAnnotations, ...overrides.annotations }),
            ownedByEntry: true,
          },
        }),
    activeAuthorityIds: { x509: authority.id, jwt: jwtAuthority.id },
    publishableAuthorityIds: {
      x509: overrides.publishable?.x509 ?? [otherAuthority.id, authority.id],
      jwt: overrides.publishable?.jwt ?? [jwtAuthority.id],
    },
    taintedAuthorityIds: overrides.tainted ?? [],
  };
}

const reasonsOf = (issuance: IssuanceInput) => reissueReasons(issuance).map((found) => found.reason);

beforeAll(async () => {
  authority = await mintX509Authority({
    trustDomain: TRUST_DOMAIN,
    keyType: 'EC-P256',
    now: at(-HOUR),
    ttlMs: 48 * HOUR,
  });
  otherAuthority = await mintX509Authority({
    trustDomain: TRUST_DOMAIN,
    keyType: 'EC-P256',
    now: at(-HOUR),
    ttlMs: 48 * HOUR,
  });
  jwtAuthority = await mintJwtAuthority({ algorithm: 'ES256', now: at(-HOUR), ttlMs: 48 * HOUR });
  bundlePem = authority.certificate + otherAuthority.certificate;
  const content = await secretFor(spec, await signLeaf());
  healthyData = content.data;
  healthyAnnotations = content.annotations;
});

describe('the leaf certificate', () => {
  it('is parsed once per observed Secret, whichever policy reads it first', () => {
    const observed = input();
    const first = readLeaf(observed);
    expect(first.trigger).toBeUndefined();
    for (const policy of REISSUE_POLICIES) policy(observed);
    expect(readLeaf({ ...observed, now: at(2 * MINUTE) })).toBe(first);
    // Another snapshot of the Secret is parsed afresh.
    const other = readLeaf(input({ data: { [TLS_CERT_KEY]: 'not a certificate' } }));
    expect(other.trigger?.reason).toBe('CertificateUnreadable');
    expect(readLeaf(input())).not.toBe(first);
  });
});

describe('a sound Secret', () => {
  it('triggers no policy', () => {
    for (const policy of REISSUE_POLICIES) expect(policy(input())).toBeUndefined();
    expect(reissueReason(input())).toBeUndefined();
    expect(reissueReasons(input())).toEqual([]);
    expect(x509ReissueReason(input())).toBeUndefined();
    expect(jwtSvidsToReissue(input()).size).toBe(0);
  });

  it('triggers none in other sound shapes', async () => {
    const variants: { name: string; identity: DesiredIdentity; leaf: LeafOptions; now?: Date }[] = [
      {
        name: 'RSA key, no DNS names, no JWT-SVIDs',
        identity: { ...spec, keyType: 'RSA-2048', dnsNames: [], jwtSvids: [] },
        leaf: { keyType: 'RSA-2048', dnsNames: [] },
      },
      {
        name: 'DNS names in another order, with a repeat',
        identity: { ...spec, dnsNames: ['cart.shop', 'cart.shop.svc', 'cart.shop'] },
        leaf: { dnsNames: ['cart.shop.svc', 'cart.shop'] },
      },
      {
        name: 'no authority key identifier, the annotation names a published authority',
        identity: spec,
        leaf: { authorityKeyId: false },
      },
      { name: 'just before renewal', identity: spec, leaf: {}, now: at(27 * MINUTE - 1) },
    ];
    for (const variant of variants) {
      const content = await secretFor(variant.identity, await signLeaf(variant.leaf));
      const issuance: IssuanceInput = {
        ...input({ now: variant.now }),
        spec: variant.identity,
        secret: { ...content, ownedByEntry: true },
      };
      expect(reissueReasons(issuance), variant.name).toEqual([]);
    }
  });

  it('stays sound when svid.pem is wrapped differently from tls.crt', () => {
    const rewrapped = healthyData[TLS_CERT_KEY]?.replace(/\n(?!-)/g, '\r\n');
    expect(rewrapped).not.toBe(healthyData[TLS_CERT_KEY]);
    expect(reissueReasons(input({ data: { [SVID_CERT_KEY]: rewrapped } }))).toEqual([]);
  });

  it('reads data given as bytes as well as text', () => {
    const issuance = input();
    const bytes = Object.fromEntries(
      Object.entries(healthyData).map(([key, value]) => [key, Buffer.from(value)]),
    );
    expect(
      reissueReasons({
        ...issuance,
        secret: { data: bytes, annotations: healthyAnnotations, ownedByEntry: true },
      }),
    ).toEqual([]);
  });
});

/** One broken thing each: the policy it belongs to, and every reason the whole list then reports. */
interface Case {
  name: string;
  policy: ReissuePolicy;
  reasons: string[];
  build: () => IssuanceInput | Promise<IssuanceInput>;
}

async function leafCase(leaf: LeafOptions, overrides: Overrides = {}): Promise<IssuanceInput> {
  const svid = await signLeaf(leaf);
  const content = await secretFor(spec, svid);
  return input({
    ...overrides,
    data: { ...content.data, ...overrides.data },
    annotations: { ...content.annotations, ...overrides.annotations },
  });
}

const forJwt =
  (policy: (typeof JWT_REISSUE_POLICIES)[number]): ReissuePolicy =>
  (issuance) => {
    for (const jwt of issuance.spec.jwtSvids) {
      const found = policy(issuance, jwt);
      if (found !== undefined) return found;
    }
    return undefined;
  };

const R = ReissueReason;

const cases: Case[] = [
  {
    name: 'no Secret',
    policy: secretMissing,
    reasons: [R.SecretMissing],
    build: () => input({ noSecret: true }),
  },
  {
    name: 'ca.crt absent',
    policy: dataMissing,
    reasons: [R.DataMissing],
    build: () => input({ data: { [TLS_CA_KEY]: undefined } }),
  },
  {
    name: 'svid_bundle.pem empty',
    policy: dataMissing,
    reasons: [R.DataMissing],
    build: () => input({ data: { [SVID_BUNDLE_KEY]: '' } }),
  },
  {
    name: 'tls.crt absent',
    policy: dataMissing,
    reasons: [R.DataMissing],
    build: () => input({ data: { [TLS_CERT_KEY]: undefined } }),
  },
  {
    name: 'tls.crt not PEM',
    policy: certificateUnreadable,
    reasons: [R.CertificateUnreadable],
    build: () => input({ data: { [TLS_CERT_KEY]: 'garbage', [SVID_CERT_KEY]: 'garbage' } }),
  },
  {
    name: 'tls.crt a PEM block that is not a certificate',
    policy: certificateUnreadable,
    reasons: [R.CertificateUnreadable],
    build: () => {
      const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
      return input({ data: { [TLS_CERT_KEY]: pem, [SVID_CERT_KEY]: pem } });
    },
  },
  {
    name: 'an unreadable certificate in the chain after the leaf',
    policy: certificateUnreadable,
    reasons: [R.CertificateUnreadable],
    build: () => {
      const pem = `${healthyData[TLS_CERT_KEY]}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`;
      return input({ data: { [TLS_CERT_KEY]: pem, [SVID_CERT_KEY]: pem } });
    },
  },
  {
    name: 'tls.key another key',
    policy: keyMismatch,
    reasons: [R.KeyMismatch],
    build: async () => {
      const other = exportPrivateKeyPem((await generateX509KeyPair('EC-P256')).privateKey);
      return input({ data: { [TLS_PRIVATE_KEY_KEY]: other, [SVID_PRIVATE_KEY_KEY]: other } });
    },
  },
  {
    name: 'tls.key unreadable',
    policy: keyMismatch,
    reasons: [R.KeyMismatch],
    build: () => input({ data: { [TLS_PRIVATE_KEY_KEY]: 'nope', [SVID_PRIVATE_KEY_KEY]: 'nope' } }),
  },
  {
    name: 'the certificate in another trust domain',
    policy: identityMismatch,
    reasons: [R.IdentityMismatch],
    build: () =>
      leafCase(
        { uris: ['spiffe://other.org/ns/shop/sa/cart'] },
        { annotations: { [ANNOTATION_SVID_SPIFFE_ID]: 'spiffe://other.org/ns/shop/sa/cart' } },
      ),
  },
  {
    name: 'the certificate for another path',
    policy: identityMismatch,
    reasons: [R.IdentityMismatch],
    build: () =>
      leafCase(
        { uris: [`spiffe://${TRUST_DOMAIN}/ns/shop/sa/other`] },
        { annotations: { [ANNOTATION_SVID_SPIFFE_ID]: undefined } },
      ),
  },
  {
    name: 'the certificate without a URI SAN',
    policy: identityMismatch,
    reasons: [R.IdentityMismatch],
    build: () => leafCase({ uris: [] }),
  },
  {
    name: 'the certificate with two URI SANs',
    policy: identityMismatch,
    reasons: [R.IdentityMismatch],
    build: () => leafCase({ uris: [SPIFFE_ID, `spiffe://${TRUST_DOMAIN}/x`] }),
  },
  {
    name: 'the certificate with other DNS names',
    policy: dnsNamesMismatch,
    reasons: [R.DNSNamesMismatch],
    build: () => leafCase({ dnsNames: ['cart.shop'] }),
  },
  {
    name: 'the X.509 lifetime changed in the spec',
    policy: specChanged,
    reasons: [R.SpecChanged],
    build: () => input({ spec: { x509TtlMs: 2 * HOUR } }),
  },
  {
    name: 'the key type changed in the spec',
    policy: specChanged,
    reasons: [R.SpecChanged],
    build: () => input({ spec: { keyType: 'EC-P384' } }),
  },
  {
    name: 'no spec hash annotation',
    policy: specChanged,
    reasons: [R.SpecChanged],
    build: () => input({ annotations: { [ANNOTATION_SVID_SPEC_HASH]: undefined } }),
  },
  {
    name: 'a key of another type under the right spec hash',
    policy: specChanged,
    reasons: [R.SpecChanged],
    build: () => leafCase({ keyType: 'EC-P384' }),
  },
  {
    name: 'svid.pem another certificate',
    policy: handEdited,
    reasons: [R.HandEdited],
    build: () => input({ data: { [SVID_CERT_KEY]: otherAuthority.certificate } }),
  },
  {
    name: 'svid_key.pem another key',
    policy: handEdited,
    reasons: [R.HandEdited],
    build: async () =>
      input({
        data: {
          [SVID_PRIVATE_KEY_KEY]: exportPrivateKeyPem((await generateX509KeyPair('EC-P256')).privateKey),
        },
      }),
  },
  {
    name: 'the serial annotation edited',
    policy: handEdited,
    reasons: [R.HandEdited],
    build: () => input({ annotations: { [ANNOTATION_SVID_SERIAL]: '0badc0de' } }),
  },
  {
    name: 'the serial annotation removed',
    policy: handEdited,
    reasons: [R.HandEdited],
    build: () => input({ annotations: { [ANNOTATION_SVID_SERIAL]: undefined } }),
  },
  {
    name: "the authority annotation not the certificate's",
    policy: handEdited,
    reasons: [R.HandEdited],
    build: () => input({ annotations: { [ANNOTATION_SVID_AUTHORITY_ID]: otherAuthority.id } }),
  },
  {
    name: 'the notAfter annotation edited',
    policy: handEdited,
    reasons: [R.HandEdited],
    build: () => input({ annotations: { [ANNOTATION_SVID_NOT_AFTER]: at(2 * HOUR).toISOString() } }),
  },
  {
    name: 'the SPIFFE ID annotation edited',
    policy: handEdited,
    reasons: [R.HandEdited],
    build: () => input({ annotations: { [ANNOTATION_SVID_SPIFFE_ID]: `spiffe://${TRUST_DOMAIN}/x` } }),
  },
  {
    name: 'the signing authority no longer published',
    policy: authorityGone,
    reasons: [R.AuthorityGone],
    build: () => input({ publishable: { x509: [otherAuthority.id] } }),
  },
  {
    name: 'the signing authority unknown',
    policy: authorityGone,
    reasons: [R.AuthorityGone],
    build: () =>
      leafCase({ authorityKeyId: false }, { annotations: { [ANNOTATION_SVID_AUTHORITY_ID]: undefined } }),
  },
  {
    name: 'no authority key identifier, and the annotation names a revoked authority',
    policy: authorityGone,
    reasons: [R.AuthorityGone],
    build: () => leafCase({ authorityKeyId: false }, { publishable: { x509: [otherAuthority.id] } }),
  },
  {
    name: 'the signing authority tainted',
    policy: authorityTainted,
    reasons: [R.AuthorityTainted, R.JwtAuthorityGone],
    build: () => input({ tainted: [authority.id, jwtAuthority.id] }),
  },
  {
    name: 'the certificate expired',
    policy: expired,
    reasons: [R.Expired, R.RenewalDue],
    build: () => input({ now: at(HOUR) }),
  },
  {
    name: 'renewal due',
    policy: renewalDue,
    reasons: [R.RenewalDue],
    build: () => input({ now: new Date(healthyAnnotations[ANNOTATION_SVID_RENEW_AT] ?? '') }),
  },
  {
    name: 'renewal annotation absent, half the lifetime passed',
    policy: renewalDue,
    reasons: [R.RenewalDue],
    build: () => input({ now: at(30 * MINUTE), annotations: { [ANNOTATION_SVID_RENEW_AT]: undefined } }),
  },
  {
    name: 'renewal annotation past expiry, half the lifetime passed',
    policy: renewalDue,
    reasons: [R.RenewalDue],
    build: () =>
      input({
        now: at(30 * MINUTE),
        annotations: { [ANNOTATION_SVID_RENEW_AT]: at(2 * HOUR).toISOString() },
      }),
  },
  {
    name: 'a JWT-SVID absent',
    policy: forJwt(jwtMissing),
    reasons: [R.JwtMissing],
    build: () => input({ data: { 'token-aws': undefined } }),
  },
  {
    name: 'a JWT-SVID not a JWT',
    policy: forJwt(jwtUnreadable),
    reasons: [R.JwtUnreadable],
    build: () => input({ data: { 'token-aws': 'not.a.jwt' } }),
  },
  {
    name: 'a JWT-SVID without exp',
    policy: forJwt(jwtUnreadable),
    reasons: [R.JwtUnreadable],
    build: async () => {
      const key = importJwtSigningKey(jwtAuthority.privateKey, jwtAuthority.algorithm);
      const token = await new SignJWT({ sub: SPIFFE_ID, aud: 'vault' })
        .setProtectedHeader({ alg: 'ES256', kid: jwtAuthority.id })
        .setIssuedAt(NOW.getTime() / 1000)
        .sign(key);
      return input({ data: { 'token-vault': token } });
    },
  },
  {
    name: 'audiences changed in the spec',
    policy: forJwt(jwtAudienceMismatch),
    reasons: [R.JwtAudienceMismatch],
    build: () =>
      input({
        spec: {
          jwtSvids: [
            { key: 'token-vault', audiences: ['vault', 'extra'], ttlMs: 24 * HOUR },
            { key: 'token-aws', audiences: ['other', 'sts.amazonaws.com'], ttlMs: 24 * HOUR },
          ],
        },
      }),
  },
  {
    name: 'a JWT-SVID for another subject',
    policy: forJwt(jwtSubjectMismatch),
    reasons: [R.JwtSubjectMismatch],
    build: async () =>
      input({ data: { 'token-vault': await signToken({ sub: `spiffe://${TRUST_DOMAIN}/x` }) } }),
  },
  {
    name: 'the JWT signing key no longer published',
    policy: forJwt(jwtAuthorityGone),
    reasons: [R.JwtAuthorityGone],
    build: () => input({ publishable: { jwt: [] } }),
  },
  {
    name: 'a JWT-SVID without kid',
    policy: forJwt(jwtAuthorityGone),
    reasons: [R.JwtAuthorityGone],
    build: async () => input({ data: { 'token-vault': await signToken({}, { kid: null }) } }),
  },
  {
    name: 'a JWT-SVID half through its life',
    policy: forJwt(jwtRenewalDue),
    reasons: [R.JwtRenewalDue],
    build: async () =>
      input({ now: at(5 * MINUTE), data: { 'token-vault': await signToken({}, { ttlMs: 10 * MINUTE }) } }),
  },
];

describe('each policy', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const issuance = await c.build();
    expect(c.policy(issuance)?.reason).toBe(c.reasons[0]);
    expect(reissueReason(issuance)?.reason).toBe(c.reasons[0]);
    expect(reasonsOf(issuance)).toEqual(c.reasons);
  });

  it('gives messages that say what is wrong', async () => {
    const message = async (name: string) => {
      const c = cases.find((candidate) => candidate.name === name);
      if (c === undefined) throw new Error(name);
      return reissueReason(await c.build())?.message;
    };
    expect(await message('no Secret')).toBe('the Secret does not exist');
    expect(await message('ca.crt absent')).toBe('the Secret lacks ca.crt');
    expect(await message('tls.crt not PEM')).toBe('tls.crt holds no certificate');
    expect(await message('tls.key another key')).toBe(
      'the private key in tls.key is not the one of the certificate in tls.crt',
    );
    expect(await message('tls.key unreadable')).toBe('tls.key holds no readable private key');
    expect(await message('the certificate in another trust domain')).toBe(
      `the certificate's SPIFFE ID spiffe://other.org/ns/shop/sa/cart is not in trust domain example.org; ${SPIFFE_ID} is wanted`,
    );
    expect(await message('the certificate for another path')).toBe(
      `the certificate's SPIFFE ID is spiffe://example.org/ns/shop/sa/other, not ${SPIFFE_ID}`,
    );
    expect(await message('the certificate with other DNS names')).toBe(
      "the certificate's DNS names are cart.shop, not cart.shop, cart.shop.svc",
    );
    expect(await message('svid.pem another certificate')).toBe(
      'svid.pem is not the certificate chain in tls.crt',
    );
    expect(await message('the signing authority no longer published')).toBe(
      `authority ${authority.id}, which signed the certificate, is no longer published (revoked or expired); the active authority ${authority.id} signs anew`,
    );
    expect(await message('the certificate expired')).toBe(
      `the certificate expired at ${at(HOUR).toISOString()}`,
    );
    expect(await message('a JWT-SVID absent')).toBe('the Secret lacks token-aws');
    expect(await message('audiences changed in the spec')).toBe(
      'token-vault is for audiences vault, not extra, vault',
    );
  });

  it('names the JWT-SVID a JWT reason is about', async () => {
    const issuance = input({ data: { 'token-aws': 'not.a.jwt' } });
    expect(reissueReason(issuance)).toMatchObject({ reason: R.JwtUnreadable, jwtKey: 'token-aws' });
  });
});

describe('each policy on its own', () => {
  const x509Broken: [string, () => IssuanceInput, string][] = [
    ['no Secret', () => input({ noSecret: true }), R.SecretMissing],
    ['tls.crt absent', () => input({ data: { [TLS_CERT_KEY]: undefined } }), R.DataMissing],
    ['tls.crt unreadable', () => input({ data: { [TLS_CERT_KEY]: 'garbage' } }), R.CertificateUnreadable],
  ];

  it.each(x509Broken)('never passes an X.509-SVID it cannot read: %s', (_name, build, reason) => {
    for (const policy of X509_REISSUE_POLICIES.slice(1)) {
      // Whether the files are present is all dataMissing asks.
      const expected = policy === dataMissing && reason === R.CertificateUnreadable ? undefined : reason;
      expect(policy(build())?.reason, policy.name).toBe(expected);
    }
  });

  it('never passes a JWT-SVID it cannot read', () => {
    const jwt = spec.jwtSvids[0];
    if (jwt === undefined) throw new Error('no JWT-SVID in the spec');
    const broken: [IssuanceInput, string][] = [
      [input({ noSecret: true }), R.SecretMissing],
      [input({ data: { [jwt.key]: undefined } }), R.JwtMissing],
      [input({ data: { [jwt.key]: 'x.y.z' } }), R.JwtUnreadable],
    ];
    for (const [issuance, reason] of broken) {
      for (const policy of JWT_REISSUE_POLICIES) {
        const found = policy(issuance, jwt);
        // Whether a token is present is all jwtMissing asks.
        if (policy === jwtMissing && reason === R.JwtUnreadable) expect(found).toBeUndefined();
        else expect(found?.reason, policy.name).toBe(reason);
      }
    }
  });
});

describe('ordering', () => {
  it('runs the policies in a fixed order, X.509-SVID first', () => {
    expect(X509_REISSUE_POLICIES.map((policy) => policy.name)).toEqual([
      'secretMissing',
      'dataMissing',
      'certificateUnreadable',
      'keyMismatch',
      'identityMismatch',
      'dnsNamesMismatch',
      'specChanged',
      'handEdited',
      'authorityGone',
      'authorityTainted',
      'expired',
      'renewalDue',
    ]);
    expect(JWT_REISSUE_POLICIES.map((policy) => policy.name)).toEqual([
      'jwtMissing',
      'jwtUnreadable',
      'jwtAudienceMismatch',
      'jwtSubjectMismatch',
      'jwtAuthorityGone',
      'jwtRenewalDue',
    ]);
    expect(REISSUE_POLICIES).toHaveLength(X509_REISSUE_POLICIES.length + JWT_REISSUE_POLICIES.length);
  });

  it('reports the earliest of several problems first, and all of them in order', async () => {
    const issuance = await leafCase(
      { dnsNames: ['cart.shop'] },
      {
        now: at(HOUR),
        publishable: { x509: [otherAuthority.id], jwt: [] },
        data: { 'token-aws': undefined },
      },
    );
    expect(reissueReason(issuance)?.reason).toBe(R.DNSNamesMismatch);
    expect(reasonsOf(issuance)).toEqual([
      R.DNSNamesMismatch,
      R.AuthorityGone,
      R.Expired,
      R.RenewalDue,
      R.JwtMissing,
      R.JwtAuthorityGone,
    ]);
  });

  it('tells X.509 reasons apart from JWT-SVIDs to sign again, per token', async () => {
    const issuance = input({
      now: at(5 * MINUTE),
      data: { 'token-vault': await signToken({}, { ttlMs: 10 * MINUTE }), 'token-aws': undefined },
    });
    expect(x509ReissueReason(issuance)).toBeUndefined();
    const due = jwtSvidsToReissue(issuance);
    expect([...due.keys()]).toEqual(['token-vault', 'token-aws']);
    expect(due.get('token-vault')?.reason).toBe(R.JwtRenewalDue);
    expect(due.get('token-aws')?.reason).toBe(R.JwtMissing);
    expect(jwtSvidsToReissue(input({ noSecret: true })).size).toBe(2);
  });

  it('lists the same missing Secret once', () => {
    expect(reissueReasons(input({ noSecret: true }))).toEqual([
      { reason: R.SecretMissing, message: 'the Secret does not exist' },
    ]);
  });
});

describe('a short-lived SVID', () => {
  it('is not due for renewal the moment it is written: renewal counts from issue, not from the backdated notBefore', async () => {
    // A 10 s SVID is valid 20 s with its backdate; reckoned from notBefore, half of that had passed at issue.
    const issued = await leafCase({ notBefore: at(-BACKDATE_MS), notAfter: at(10 * SECOND) }, { now: NOW });
    expect(renewalDue(issued)).toBeUndefined();
    expect(renewalDue({ ...issued, now: at(4 * SECOND) })).toBeUndefined();
    expect(renewalDue({ ...issued, now: at(5 * SECOND) })?.reason).toBe(R.RenewalDue);
  });
});

describe('renewAt', () => {
  const notBefore = NOW;
  const notAfter = at(HOUR);

  it('renews at the fraction, pulled earlier by up to the jitter', () => {
    expect(renewAt({ notBefore, notAfter, random: () => 0 })).toEqual(at(30 * MINUTE));
    expect(renewAt({ notBefore, notAfter, random: () => 0.5 })).toEqual(at(27 * MINUTE));
    expect(renewAt({ notBefore, notAfter, random: () => 1 })).toEqual(at(24 * MINUTE));
    expect(renewAt({ notBefore, notAfter, fraction: 2 / 3, jitter: 0, random: () => 0.9 })).toEqual(
      at(40 * MINUTE),
    );
  });

  it('is deterministic for a given random, and spreads with it', () => {
    const draws = [0.1, 0.2, 0.3];
    const first = draws.map((draw) => renewAt({ notBefore, notAfter, random: () => draw }).getTime());
    const second = draws.map((draw) => renewAt({ notBefore, notAfter, random: () => draw }).getTime());
    expect(second).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });

  it('never renews before 30% of the lifetime', () => {
    expect(renewAt({ notBefore, notAfter, fraction: 0.3, jitter: 0.2, random: () => 0.99 })).toEqual(
      at(18 * MINUTE),
    );
    expect(renewAt({ notBefore, notAfter, fraction: 0, random: () => 0 })).toEqual(at(18 * MINUTE));
  });

  it('never renews later than one second before expiry', () => {
    expect(renewAt({ notBefore, notAfter, fraction: 1, jitter: 0, random: () => 0 })).toEqual(
      at(HOUR - SECOND),
    );
    const short = renewAt({ notBefore, notAfter: at(SECOND), random: () => 0 });
    expect(short.getTime()).toBeLessThanOrEqual(NOW.getTime());
  });

  it('clamps out-of-range random values', () => {
    expect(renewAt({ notBefore, notAfter, random: () => -5 })).toEqual(at(30 * MINUTE));
    expect(renewAt({ notBefore, notAfter, random: () => 5 })).toEqual(at(24 * MINUTE));
  });

  it('is what the Secret records', () => {
    expect(healthyAnnotations[ANNOTATION_SVID_RENEW_AT]).toBe(at(27 * MINUTE).toISOString());
  });
});

describe('caBundleStale', () => {
  it('holds only when a bundle copy differs from the bundle', () => {
    expect(caBundleStale(healthyData, bundlePem)).toBe(false);
    expect(caBundleStale(healthyData, authority.certificate)).toBe(true);
    expect(caBundleStale({ ...healthyData, [TLS_CA_KEY]: authority.certificate }, bundlePem)).toBe(true);
    expect(caBundleStale({ ...healthyData, [SVID_BUNDLE_KEY]: authority.certificate }, bundlePem)).toBe(true);
    expect(caBundleStale({ ...healthyData, [SVID_BUNDLE_KEY]: undefined }, bundlePem)).toBe(true);
    expect(
      caBundleStale(
        { [TLS_CA_KEY]: Buffer.from(bundlePem), [SVID_BUNDLE_KEY]: Buffer.from(bundlePem) },
        bundlePem,
      ),
    ).toBe(false);
  });

  it('is not a re-issue reason', () => {
    const stale = input({
      data: { [TLS_CA_KEY]: authority.certificate, [SVID_BUNDLE_KEY]: authority.certificate },
    });
    expect(reissueReasons(stale)).toEqual([]);
  });
});

describe('extraDataKeys', () => {
  it('lists keys neither the X.509-SVID nor a JWT-SVID of the spec uses', () => {
    expect(extraDataKeys(healthyData, spec)).toEqual([]);
    expect(
      extraDataKeys(healthyData, { jwtSvids: [spec.jwtSvids[0] ?? { key: '', audiences: [], ttlMs: 0 }] }),
    ).toEqual(['token-aws']);
    expect(extraDataKeys({ ...healthyData, 'notes.txt': 'x' }, spec)).toEqual(['notes.txt']);
  });
});

describe('normalizeSerial', () => {
  it('writes every spelling of a serial one way', () => {
    expect(normalizeSerial('0A1B')).toBe('0a1b');
    expect(normalizeSerial('a1b')).toBe('0a1b');
    expect(normalizeSerial('000a1b')).toBe('0a1b');
    expect(normalizeSerial('00FF')).toBe('ff');
  });
});
