import { describe, expect, it } from 'vitest';
import {
  type ClaimGrant,
  type ClaimInput,
  checkClaim,
  dnsNameMatches,
  pathUnderPrefix,
} from '../../src/core/claims.ts';

const base: ClaimInput = {
  namespace: 'shop',
  namespaceLabels: { team: 'payments' },
  trustDomain: 'example.org',
  spiffeIDPath: '/ns/shop/sa/cart',
};

const claim = (overrides: Partial<ClaimInput>) => checkClaim({ ...base, ...overrides });

describe('checkClaim: SPIFFE ID path syntax', () => {
  const cases: [string, string, string][] = [
    ['ns/shop', 'PathNotAbsolute', 'SPIFFE ID path "ns/shop" must start with /'],
    ['', 'PathNotAbsolute', 'SPIFFE ID path "" must start with /'],
    ['/', 'PathTrailingSlash', 'SPIFFE ID path "/" must not end with /'],
    ['/ns/shop/', 'PathTrailingSlash', 'SPIFFE ID path "/ns/shop/" must not end with /'],
    ['/ns//shop', 'PathEmptySegment', 'SPIFFE ID path "/ns//shop" must not contain an empty path segment'],
    ['/ns/shop/./x', 'PathDotSegment', `SPIFFE ID path "/ns/shop/./x" must not contain a '.' path segment`],
    [
      '/ns/shop/../x',
      'PathDotSegment',
      `SPIFFE ID path "/ns/shop/../x" must not contain a '..' path segment`,
    ],
    [
      '/ns/shop/a b',
      'PathInvalidCharacter',
      `SPIFFE ID path "/ns/shop/a b": segment "a b" may only contain letters, digits, '.', '-' and '_'`,
    ],
    [
      '/ns/shop/caf\u00e9',
      'PathInvalidCharacter',
      `SPIFFE ID path "/ns/shop/caf\u00e9": segment "caf\u00e9" may only contain letters, digits, '.', '-' and '_'`,
    ],
  ];
  it.each(cases)('%j fails with %s', (spiffeIDPath, rule, message) => {
    expect(claim({ spiffeIDPath })).toEqual({ allowed: false, rule, message });
  });

  it('accepts dots, dashes, underscores and capitals inside segments', () => {
    expect(claim({ spiffeIDPath: '/ns/shop/Cart_v1.2-beta/..x/.hidden' })).toEqual({ allowed: true });
  });

  it('counts the whole SPIFFE ID, trust domain included, against 2048 bytes', () => {
    const prefix = 'spiffe://example.org/ns/shop/';
    const fits = `/ns/shop/${'a'.repeat(2048 - prefix.length)}`;
    expect(Buffer.byteLength(`spiffe://example.org${fits}`)).toBe(2048);
    expect(claim({ spiffeIDPath: fits })).toEqual({ allowed: true });
    const tooLong = `${fits}b`;
    expect(claim({ spiffeIDPath: tooLong })).toEqual({
      allowed: false,
      rule: 'SPIFFEIDTooLong',
      message: `SPIFFE ID spiffe://example.org${tooLong} is 2049 bytes long; at most 2048 are allowed`,
    });
    // A longer trust domain leaves less room for the same path.
    expect(claim({ spiffeIDPath: fits, trustDomain: 'example.org.uk' })).toMatchObject({
      allowed: false,
      rule: 'SPIFFEIDTooLong',
    });
  });

  it('checks syntax before ownership', () => {
    expect(claim({ spiffeIDPath: '/ns/other/' })).toMatchObject({ rule: 'PathTrailingSlash' });
  });
});

describe('checkClaim: SPIFFE ID paths a namespace owns', () => {
  it('allows /ns/<namespace> itself and anything below it', () => {
    for (const spiffeIDPath of ['/ns/shop', '/ns/shop/x', '/ns/shop/sa/cart/deep/er']) {
      expect(claim({ spiffeIDPath })).toEqual({ allowed: true });
    }
  });

  it('matches whole segments only', () => {
    expect(claim({ spiffeIDPath: '/ns/shopping/x' })).toEqual({
      allowed: false,
      rule: 'PathNotAllowed',
      message:
        'namespace shop may not claim SPIFFE ID path /ns/shopping/x: it may claim /ns/shop and paths below it',
    });
    expect(claim({ namespace: 'foo', spiffeIDPath: '/ns/foobar/x' })).toMatchObject({
      rule: 'PathNotAllowed',
    });
    expect(claim({ namespace: 'foobar', spiffeIDPath: '/ns/foo/x' })).toMatchObject({
      rule: 'PathNotAllowed',
    });
  });

  it('refuses other namespaces and paths outside /ns', () => {
    for (const spiffeIDPath of ['/ns/other/x', '/ns', '/shop', '/team/a', '/x/ns/shop']) {
      expect(claim({ spiffeIDPath })).toMatchObject({ allowed: false, rule: 'PathNotAllowed' });
    }
  });
});

describe('checkClaim: path grants', () => {
  const grant = (overrides: Partial<ClaimGrant> = {}): ClaimGrant => ({
    namespaceSelector: { matchLabels: { team: 'payments' } },
    spiffeIDPathPrefixes: ['/team/a'],
    ...overrides,
  });

  it('adds the prefix itself and paths below it, by whole segments', () => {
    const grants = [grant()];
    expect(claim({ grants, spiffeIDPath: '/team/a' })).toEqual({ allowed: true });
    expect(claim({ grants, spiffeIDPath: '/team/a/x/y' })).toEqual({ allowed: true });
    expect(claim({ grants, spiffeIDPath: '/team/ab' })).toEqual({
      allowed: false,
      rule: 'PathNotAllowed',
      message:
        'namespace shop may not claim SPIFFE ID path /team/ab: it may claim /ns/shop and paths below it, or paths under the granted /team/a',
    });
    expect(claim({ grants, spiffeIDPath: '/team' })).toMatchObject({ rule: 'PathNotAllowed' });
  });

  it('keeps the namespace default next to grants', () => {
    expect(claim({ grants: [grant()], spiffeIDPath: '/ns/shop/x' })).toEqual({ allowed: true });
  });

  it('applies only grants whose selector matches the namespace labels', () => {
    const grants = [
      grant({ namespaceSelector: { matchLabels: { team: 'search' } }, spiffeIDPathPrefixes: ['/search'] }),
      grant({
        namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['payments'] }] },
        spiffeIDPathPrefixes: ['/payments'],
      }),
    ];
    expect(claim({ grants, spiffeIDPath: '/payments/x' })).toEqual({ allowed: true });
    const refused = claim({ grants, spiffeIDPath: '/search/x' });
    expect(refused).toMatchObject({ allowed: false, rule: 'PathNotAllowed' });
    // The message lists what this namespace may claim, not what other namespaces were granted.
    expect(refused).toMatchObject({
      message:
        'namespace shop may not claim SPIFFE ID path /search/x: it may claim /ns/shop and paths below it, or paths under the granted /payments',
    });
    expect(claim({ grants, namespaceLabels: undefined, spiffeIDPath: '/payments/x' })).toMatchObject({
      rule: 'PathNotAllowed',
    });
  });

  it('lets an empty selector grant every namespace', () => {
    const grants = [grant({ namespaceSelector: {} })];
    expect(claim({ grants, namespaceLabels: undefined, spiffeIDPath: '/team/a/x' })).toEqual({
      allowed: true,
    });
  });

  it('joins the prefixes of several matching grants', () => {
    const grants = [
      grant(),
      grant({ spiffeIDPathPrefixes: ['/team/b', '/shared'] }),
      grant({ dnsNames: ['x.io'] }),
    ];
    expect(claim({ grants, spiffeIDPath: '/shared/x' })).toEqual({ allowed: true });
    expect(claim({ grants, spiffeIDPath: '/other' })).toMatchObject({
      message:
        'namespace shop may not claim SPIFFE ID path /other: it may claim /ns/shop and paths below it, or paths under the granted /team/a, /team/b, /shared',
    });
  });
});

describe('pathUnderPrefix', () => {
  it('matches by whole segments', () => {
    expect(pathUnderPrefix('/team/a', '/team/a')).toBe(true);
    expect(pathUnderPrefix('/team/a/x', '/team/a')).toBe(true);
    expect(pathUnderPrefix('/team/ab', '/team/a')).toBe(false);
    expect(pathUnderPrefix('/team', '/team/a')).toBe(false);
  });

  it('ignores trailing slashes of the prefix; "/" grants every path', () => {
    expect(pathUnderPrefix('/team/a/x', '/team/a/')).toBe(true);
    expect(pathUnderPrefix('/team/ab', '/team/a/')).toBe(false);
    expect(pathUnderPrefix('/anything/at/all', '/')).toBe(true);
  });

  it('matches nothing with a relative or empty prefix', () => {
    expect(pathUnderPrefix('/team/a', 'team/a')).toBe(false);
    expect(pathUnderPrefix('/team/a', '')).toBe(false);
  });
});

describe('checkClaim: DNS names a namespace owns', () => {
  it('allows the two Service name forms with the default cluster domain', () => {
    const dnsNames = ['cart.shop.svc', 'cart.shop.svc.cluster.local'];
    expect(claim({ dnsNames })).toEqual({ allowed: true });
  });

  it('refuses the short form <svc>.<namespace>, which a namespace named like a public domain could abuse', () => {
    expect(claim({ dnsNames: ['cart.shop'] })).toMatchObject({ allowed: false, rule: 'DNSNameNotAllowed' });
    expect(claim({ namespace: 'com', spiffeIDPath: '/ns/com/web', dnsNames: ['google.com'] })).toMatchObject({
      allowed: false,
      rule: 'DNSNameNotAllowed',
    });
  });

  it('follows the cluster domain it is given, with or without a trailing dot', () => {
    expect(claim({ dnsNames: ['cart.shop.svc.corp.internal'], clusterDomain: 'corp.internal' })).toEqual({
      allowed: true,
    });
    expect(claim({ dnsNames: ['cart.shop.svc.corp.internal'], clusterDomain: 'corp.internal.' })).toEqual({
      allowed: true,
    });
    expect(claim({ dnsNames: ['cart.shop.svc.cluster.local'], clusterDomain: 'corp.internal' })).toEqual({
      allowed: false,
      rule: 'DNSNameNotAllowed',
      message:
        'namespace shop may not claim DNS name cart.shop.svc.cluster.local: it may claim its Service names <svc>.shop.svc, <svc>.shop.svc.corp.internal',
    });
  });

  it('refuses names of other namespaces, bare names and more than one label before the namespace', () => {
    for (const name of [
      'cart.other.svc',
      'cart.shopping.svc',
      'cart',
      'shop',
      'shop.svc',
      'web-0.web.shop.svc.cluster.local',
      'cart.shop.svc.cluster',
      'example.com',
    ]) {
      expect(claim({ dnsNames: [name] }), name).toMatchObject({ allowed: false, rule: 'DNSNameNotAllowed' });
    }
  });

  it('names the offending name and what the namespace may claim', () => {
    expect(claim({ dnsNames: ['cart.shop.svc', 'api.example.com'] })).toEqual({
      allowed: false,
      rule: 'DNSNameNotAllowed',
      message:
        'namespace shop may not claim DNS name api.example.com: it may claim its Service names <svc>.shop.svc, <svc>.shop.svc.cluster.local',
    });
  });

  it('refuses names that are not lower case DNS names', () => {
    for (const name of ['Cart.shop', '*.shop.svc', 'cart..shop', '-cart.shop', 'cart.shop.']) {
      expect(claim({ dnsNames: [name] }), name).toEqual({
        allowed: false,
        rule: 'InvalidDNSName',
        message: `DNS name ${JSON.stringify(name)} must be a lower case DNS name`,
      });
    }
  });

  it('checks the path before the DNS names', () => {
    expect(claim({ spiffeIDPath: '/ns/other', dnsNames: ['api.example.com'] })).toMatchObject({
      rule: 'PathNotAllowed',
    });
  });
});

describe('checkClaim: DNS name grants', () => {
  const grants: ClaimGrant[] = [
    {
      namespaceSelector: { matchLabels: { team: 'payments' } },
      dnsNames: ['api.example.com', '*.shop.example.com'],
    },
    { namespaceSelector: { matchLabels: { team: 'search' } }, dnsNames: ['search.example.com'] },
  ];

  it('adds exact names', () => {
    expect(claim({ grants, dnsNames: ['api.example.com', 'cart.shop.svc'] })).toEqual({ allowed: true });
  });

  it('matches a leading "*." against exactly one label', () => {
    expect(claim({ grants, dnsNames: ['eu.shop.example.com'] })).toEqual({ allowed: true });
    expect(claim({ grants, dnsNames: ['a.eu.shop.example.com'] })).toMatchObject({
      rule: 'DNSNameNotAllowed',
    });
    expect(claim({ grants, dnsNames: ['shop.example.com'] })).toMatchObject({ rule: 'DNSNameNotAllowed' });
  });

  it('ignores grants for other namespaces and lists the granted names in the message', () => {
    expect(claim({ grants, dnsNames: ['search.example.com'] })).toEqual({
      allowed: false,
      rule: 'DNSNameNotAllowed',
      message:
        'namespace shop may not claim DNS name search.example.com: it may claim its Service names <svc>.shop.svc, <svc>.shop.svc.cluster.local, or the granted api.example.com, *.shop.example.com',
    });
  });

  it('grants DNS names and paths independently', () => {
    expect(claim({ grants, spiffeIDPath: '/api', dnsNames: ['api.example.com'] })).toMatchObject({
      rule: 'PathNotAllowed',
    });
  });
});

describe('dnsNameMatches', () => {
  it('compares exact names, ignoring the case and a trailing dot of the pattern', () => {
    expect(dnsNameMatches('api.example.com', 'api.example.com')).toBe(true);
    expect(dnsNameMatches('api.example.com', 'API.Example.com.')).toBe(true);
    expect(dnsNameMatches('api.example.com', 'example.com')).toBe(false);
  });

  it('lets "*." stand for one label only, and only in front', () => {
    expect(dnsNameMatches('a.example.com', '*.example.com')).toBe(true);
    expect(dnsNameMatches('a.b.example.com', '*.example.com')).toBe(false);
    expect(dnsNameMatches('example.com', '*.example.com')).toBe(false);
    expect(dnsNameMatches('.example.com', '*.example.com')).toBe(false);
    expect(dnsNameMatches('aexample.com', '*.example.com')).toBe(false);
    expect(dnsNameMatches('a.example.com', 'a.*.com')).toBe(false);
    expect(dnsNameMatches('a.example.com', '*')).toBe(false);
  });
});
