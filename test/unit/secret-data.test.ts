import { beforeAll, describe, expect, it } from 'vitest';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_SPEC_HASH,
  ANNOTATION_SVID_SPIFFE_ID,
} from '../../src/api/well-known.ts';
import {
  exportPrivateKeyPem,
  generateX509KeyPair,
  importX509SigningKey,
} from '../../src/core/authorities/keys.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { X509Authority } from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import type { DesiredIdentity, IssuanceInput } from '../../src/core/svid/identity.ts';
import { BACKDATE_MS } from '../../src/core/svid/profile.ts';
import { reissueReasons } from '../../src/core/svid/reissue.ts';
import {
  buildSecretData,
  type IssuedX509Svid,
  isReservedDataKey,
  leafAndChain,
  SecretDataError,
  type SecretDataInput,
  withBundle,
  withJwtSvids,
} from '../../src/core/svid/secret-data.ts';
import { specHash } from '../../src/core/svid/spec-hash.ts';

const HOUR = 3_600_000;
const NOW = new Date('2030-06-01T12:00:00Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const SPIFFE_ID = 'spiffe://example.org/ns/shop/sa/cart';
/** Compact JWTs are opaque to the writer. */
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

const identity: DesiredIdentity = {
  spiffeId: SPIFFE_ID,
  dnsNames: ['cart.shop.svc'],
  keyType: 'EC-P256',
  x509TtlMs: HOUR,
  jwtSvids: [{ key: 'token', audiences: ['vault'], ttlMs: HOUR }],
};

let root: X509Authority;
let intermediate: X509Authority;
let svid: IssuedX509Svid;

/** A leaf signed by the intermediate, which the root signed: a chain of one. */
async function issue(): Promise<IssuedX509Svid> {
  const keys = await generateX509KeyPair('EC-P256');
  const signingKey = importX509SigningKey(intermediate.privateKey);
  const notAfter = at(HOUR);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '00ab12',
    subject: 'O=Trustline',
    issuer: new x509.X509Certificate(intermediate.certificate).subjectName,
    // Backdated as Trustline backdates its SVIDs: the lifetime renewal counts starts at NOW.
    notBefore: at(-BACKDATE_MS),
    notAfter,
    publicKey: keys.publicKey.export({ type: 'spki', format: 'der' }),
    signingKey: signingKey.key,
    signingAlgorithm: signingKey.algorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: SPIFFE_ID },
        { type: 'dns', value: 'cart.shop.svc' },
      ]),
      new x509.AuthorityKeyIdentifierExtension(intermediate.id),
    ],
  });
  return {
    // Without the final newline, as some encoders write PEM.
    certificate: certificate.toString('pem').trimEnd(),
    chain: [intermediate.certificate],
    privateKey: exportPrivateKeyPem(keys.privateKey),
    serial: 'AB12',
    notAfter,
    authorityId: intermediate.id.toUpperCase(),
  };
}

const build = (overrides: Partial<SecretDataInput> = {}) =>
  buildSecretData({
    identity,
    svid,
    bundlePem: root.certificate,
    jwtSvids: { token: TOKEN },
    renewal: { random: () => 0.5 },
    ...overrides,
  });

beforeAll(async () => {
  root = await mintX509Authority({
    trustDomain: 'example.org',
    keyType: 'EC-P256',
    now: at(-HOUR),
    ttlMs: 48 * HOUR,
  });
  intermediate = await mintX509Authority({
    trustDomain: 'example.org',
    keyType: 'EC-P256',
    now: at(-HOUR),
    ttlMs: 48 * HOUR,
    upstream: {
      signerCertificate: root.certificate,
      privateKey: importX509SigningKey(root.privateKey),
      signerId: root.id,
      rootId: root.id,
      chain: [root.certificate],
      notAfter: root.notAfter,
      roots: [],
    },
  });
  svid = await issue();
});

describe('buildSecretData', () => {
  it('writes the leaf and its chain, the key and the bundle under both naming conventions', () => {
    const { data } = build();
    const chain = `${svid.certificate}\n${intermediate.certificate}`;
    expect(data).toEqual({
      'tls.crt': chain,
      'tls.key': svid.privateKey,
      'ca.crt': root.certificate,
      'svid.pem': chain,
      'svid_key.pem': svid.privateKey,
      'svid_bundle.pem': root.certificate,
      token: TOKEN,
    });
  });

  it('records what was issued, read from the certificate', () => {
    const { annotations } = build();
    expect(annotations).toEqual({
      [ANNOTATION_SVID_SPIFFE_ID]: SPIFFE_ID,
      [ANNOTATION_SVID_SERIAL]: 'ab12',
      [ANNOTATION_SVID_AUTHORITY_ID]: intermediate.id,
      [ANNOTATION_SVID_NOT_AFTER]: '2030-06-01T13:00:00.000Z',
      // Half the hour, less half the 10% jitter: 27 minutes.
      [ANNOTATION_SVID_RENEW_AT]: '2030-06-01T12:27:00.000Z',
      [ANNOTATION_SVID_SPEC_HASH]: specHash(identity),
    });
  });

  it('takes the renewal settings it is given', () => {
    const { annotations } = build({ renewal: { fraction: 0.8, jitter: 0, random: () => 0.7 } });
    expect(annotations[ANNOTATION_SVID_RENEW_AT]).toBe('2030-06-01T12:48:00.000Z');
  });

  it('writes a Secret that no re-issue policy objects to', () => {
    const content = build();
    const issuance: IssuanceInput = {
      now: at(60_000),
      spec: identity,
      secret: { ...content, ownedByEntry: true },
      activeAuthorityIds: { x509: intermediate.id, jwt: 'kid' },
      publishableAuthorityIds: { x509: [intermediate.id], jwt: ['kid'] },
    };
    // The opaque token is unreadable; everything about the X.509-SVID holds.
    expect(reissueReasons(issuance).map((found) => found.reason)).toEqual(['JwtUnreadable']);
  });

  it('refuses JWT-SVID keys that are X.509-SVID files, missing or unexpected', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        if (error instanceof SecretDataError) return error.code;
        throw error;
      }
      return undefined;
    };
    const tlsKey = { ...identity, jwtSvids: [{ key: 'tls.key', audiences: ['a'], ttlMs: HOUR }] };
    expect(code(() => build({ identity: tlsKey, jwtSvids: { 'tls.key': TOKEN } }))).toBe('ReservedKey');
    expect(code(() => build({ jwtSvids: {} }))).toBe('JwtSvidMissing');
    expect(code(() => build({ jwtSvids: { token: TOKEN, extra: TOKEN } }))).toBe('UnexpectedJwtSvid');
  });

  it('refuses a serial or notAfter that is not the certificate’s, and a certificate that is not PEM', () => {
    expect(() => build({ svid: { ...svid, serial: 'ab13' } })).toThrow(
      new SecretDataError('Inconsistent', "serial ab13 is not the certificate's ab12"),
    );
    expect(() => build({ svid: { ...svid, notAfter: at(2 * HOUR) } })).toThrow(SecretDataError);
    expect(() => build({ svid: { ...svid, certificate: 'nope' } })).toThrow(
      'the issued certificate is not a PEM certificate',
    );
  });
});

describe('specHash', () => {
  it('treats DNS names as a set', () => {
    const hash = specHash({ ...identity, dnsNames: ['b.shop', 'a.shop'] });
    expect(specHash({ ...identity, dnsNames: ['a.shop', 'b.shop', 'a.shop'] })).toBe(hash);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with the SPIFFE ID, DNS names, key type and X.509 lifetime', () => {
    const hash = specHash(identity);
    expect(specHash({ ...identity, spiffeId: `${SPIFFE_ID}x` })).not.toBe(hash);
    expect(specHash({ ...identity, dnsNames: [] })).not.toBe(hash);
    expect(specHash({ ...identity, keyType: 'RSA-2048' })).not.toBe(hash);
    expect(specHash({ ...identity, x509TtlMs: 2 * HOUR })).not.toBe(hash);
  });

  it('ignores JWT-SVIDs, which are checked token by token', () => {
    expect(specHash({ ...identity, jwtSvids: [] })).toBe(specHash(identity));
  });

  it('is stable across releases: a change would re-issue every SVID', () => {
    expect(
      specHash({
        spiffeId: SPIFFE_ID,
        dnsNames: ['b', 'a'],
        keyType: 'EC-P256',
        x509TtlMs: HOUR,
        jwtSvids: [],
      }),
    ).toMatchInlineSnapshot(`"c1f75cb803b5a76ba6d022b697e5b9174b897baab244c8af08a4895f8f33bbd2"`);
  });
});

describe('withBundle', () => {
  it('replaces both bundle copies and keeps everything else', () => {
    const { data } = build();
    const updated = withBundle({ ...data, token: Buffer.from(TOKEN) }, 'NEW');
    expect(updated).toEqual({ ...data, 'ca.crt': 'NEW', 'svid_bundle.pem': 'NEW' });
  });
});

describe('withJwtSvids', () => {
  it('keeps the X.509-SVID files and holds exactly the given tokens', () => {
    const { data } = build();
    const updated = withJwtSvids({ ...data, stale: 'old' }, identity, { token: 'new' });
    expect(updated).toEqual({ ...data, token: 'new' });
  });

  it('refuses tokens the spec does not name, or a missing one', () => {
    const { data } = build();
    expect(() => withJwtSvids(data, identity, {})).toThrow(SecretDataError);
    expect(() => withJwtSvids(data, identity, { token: 'a', other: 'b' })).toThrow(SecretDataError);
  });
});

describe('leafAndChain and reserved keys', () => {
  it('ends every certificate with a newline', () => {
    expect(leafAndChain({ certificate: 'A', chain: ['B\n', 'C'] })).toBe('A\nB\nC\n');
  });

  it('reserves the X.509-SVID file names', () => {
    for (const key of ['tls.crt', 'tls.key', 'ca.crt', 'svid.pem', 'svid_key.pem', 'svid_bundle.pem']) {
      expect(isReservedDataKey(key)).toBe(true);
    }
    expect(isReservedDataKey('token')).toBe(false);
  });
});
