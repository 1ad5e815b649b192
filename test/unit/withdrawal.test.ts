import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_SERIAL,
  ANNOTATION_SVID_SPIFFE_ID,
  ANNOTATION_SVID_WITHDRAWN,
  ANNOTATION_WITHDRAWN_SIGNERS,
} from '../../src/api/well-known.ts';
import { svidSigners } from '../../src/core/revocation/signers.ts';
import {
  isWithdrawn,
  isWithdrawnAs,
  withdrawnSecretContent,
  withdrawnSigners,
} from '../../src/core/svid/withdrawal.ts';

const OLD_BUNDLE = '-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n';
const NEW_BUNDLE = '-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n';

async function issuedSecret() {
  const { privateKey } = await promisify(generateKeyPair)('ec', { namedCurve: 'P-256' });
  const token = await new SignJWT({ sub: 'spiffe://example.org/a' })
    .setProtectedHeader({ alg: 'ES256', kid: 'kid-1' })
    .sign(privateKey);
  return {
    data: {
      'tls.crt': 'LEAF',
      'tls.key': 'KEY',
      'ca.crt': OLD_BUNDLE,
      'svid.pem': 'LEAF',
      'svid_key.pem': 'KEY',
      'svid_bundle.pem': OLD_BUNDLE,
      token,
    },
    annotations: {
      [ANNOTATION_SVID_SPIFFE_ID]: 'spiffe://example.org/a',
      [ANNOTATION_SVID_SERIAL]: '01',
      [ANNOTATION_SVID_AUTHORITY_ID]: 'AA01',
      [ANNOTATION_SVID_NOT_AFTER]: '2030-01-01T00:00:00.000Z',
      'team.example/owner': 'payments',
    },
    ownedByEntry: true,
  };
}

const withdrawIssued = async (reason: string, bundlePem: string | undefined) =>
  withdrawnSecretContent({ secret: await issuedSecret(), jwtKeys: ['token'], reason, bundlePem });

describe('withdrawnSecretContent', () => {
  it('empties the certificate and key, drops every other SVID file and token, and refreshes the bundle', async () => {
    const content = await withdrawIssued('NamespaceNotGranted', NEW_BUNDLE);
    expect(content.data).toEqual({
      'tls.crt': '',
      'tls.key': '',
      'ca.crt': NEW_BUNDLE,
      'svid_bundle.pem': NEW_BUNDLE,
    });
    expect(content.annotations).toEqual({
      'team.example/owner': 'payments',
      [ANNOTATION_SVID_WITHDRAWN]: 'NamespaceNotGranted',
      [ANNOTATION_WITHDRAWN_SIGNERS]: 'aa01,kid-1',
    });
  });

  it('no longer counts as an SVID of any authority, but remembers which signed what it held', async () => {
    const content = await withdrawIssued('TrustDomainNotFound', undefined);
    expect(svidSigners({ ...content, jwtKeys: ['token'] })).toEqual([]);
    expect(isWithdrawn(content.annotations)).toBe(true);
    expect(withdrawnSigners(content.annotations)).toEqual(['aa01', 'kid-1']);
    expect(withdrawnSigners({ [ANNOTATION_WITHDRAWN_SIGNERS]: 'aa01' })).toEqual([]);
  });

  it('keeps the last bundle when there is no journal to take a current one from', async () => {
    const content = await withdrawIssued('TrustDomainNotFound', undefined);
    expect(content.data['ca.crt']).toBe(OLD_BUNDLE);
    expect(content.data['svid_bundle.pem']).toBe(OLD_BUNDLE);
  });

  it('is written once: a withdrawn Secret with the current bundle needs nothing, a new bundle does', async () => {
    const input = { jwtKeys: ['token'], reason: 'EntryDeleting', bundlePem: NEW_BUNDLE };
    const first = withdrawnSecretContent({ ...input, secret: await issuedSecret() });
    const observed = { ...first, ownedByEntry: true };
    const again = withdrawnSecretContent({ ...input, secret: observed });
    expect(again).toEqual(first);
    expect(isWithdrawnAs(observed, again)).toBe(true);
    const rotated = withdrawnSecretContent({ ...input, secret: observed, bundlePem: OLD_BUNDLE });
    expect(isWithdrawnAs(observed, rotated)).toBe(false);
    expect(isWithdrawnAs(await issuedSecret(), first)).toBe(false);
  });
});
