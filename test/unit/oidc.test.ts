import { describe, expect, it } from 'vitest';
import { oidcDiscoveryFiles } from '../../src/core/bundle/oidc.ts';
import { canonicalJson, type Jwks } from '../../src/core/bundle/trust-bundle.ts';

const jwks: Jwks = {
  keys: [
    { kty: 'RSA', n: 'modulus', e: 'AQAB', kid: 'k2', alg: 'RS256', use: 'sig' },
    { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', kid: 'k1', alg: 'ES256', use: 'sig' },
    { kty: 'EC', crv: 'P-256', x: 'x2', y: 'y2', kid: 'k3', alg: 'ES256', use: 'sig' },
  ],
};

describe('oidcDiscoveryFiles', () => {
  it('writes the discovery document with the algorithms of the published keys, sorted and unique', () => {
    const files = oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks });
    expect(JSON.parse(files['openid-configuration'])).toEqual({
      issuer: 'https://oidc.example.org',
      jwks_uri: 'https://oidc.example.org/keys',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    });
  });

  it('keeps the issuer exact and drops its trailing slash only from jwks_uri', () => {
    const files = oidcDiscoveryFiles({ issuer: 'https://example.org/td/', jwks });
    expect(JSON.parse(files['openid-configuration'])).toMatchObject({
      issuer: 'https://example.org/td/',
      jwks_uri: 'https://example.org/td/keys',
    });
  });

  it('serves the JWKS as keys, the same text as jwks.json, from the object or its text', () => {
    const fromObject = oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks });
    const fromText = oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks: canonicalJson(jwks) });
    expect(fromObject.keys).toBe(canonicalJson(jwks));
    expect(fromText).toEqual(fromObject);
    expect(JSON.parse(fromObject.keys)).toEqual(jwks);
  });

  it('is deterministic text', () => {
    const a = oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks });
    const b = oidcDiscoveryFiles({
      issuer: 'https://oidc.example.org',
      jwks: JSON.stringify({ keys: jwks.keys.map((k) => Object.fromEntries(Object.entries(k).reverse())) }),
    });
    expect(b).toEqual(a);
    expect(a['openid-configuration']).toBe(
      '{\n  "id_token_signing_alg_values_supported": [\n    "ES256",\n    "RS256"\n  ],\n' +
        '  "issuer": "https://oidc.example.org",\n  "jwks_uri": "https://oidc.example.org/keys",\n' +
        '  "response_types_supported": [\n    "id_token"\n  ],\n  "subject_types_supported": [\n    "public"\n  ]\n}\n',
    );
  });

  it('handles an empty JWKS', () => {
    const files = oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks: { keys: [] } });
    expect(JSON.parse(files['openid-configuration'])).toMatchObject({
      id_token_signing_alg_values_supported: [],
    });
    expect(JSON.parse(files.keys)).toEqual({ keys: [] });
  });

  it('refuses JWKS text that is not a JWKS of signing keys', () => {
    expect(() => oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks: 'not json' })).toThrow(
      /not JSON/,
    );
    expect(() =>
      oidcDiscoveryFiles({ issuer: 'https://oidc.example.org', jwks: '{"keys":[{"kty":"EC","kid":"k"}]}' }),
    ).toThrow(/not valid at keys.0.alg/);
  });
});
