import { x509 } from '../authorities/x509.ts';
import { OIDS } from '../svid/profile.ts';
import type { SpiffeBundle } from './bundle.ts';
import {
  type Certificate,
  extendedKeyUsagesOf,
  isCa,
  keyUsageOf,
  uriSans,
  validityProblem,
} from './certificate.ts';
import { buildPath, type CertificationPath } from './chain.ts';
import { type Rule, runRules, type SvidVerdict } from './rule.ts';
import { trustDomainOf, workloadIdProblem } from './spiffe-id.ts';
import { expectedTrustDomain, type TrustDomainExpectation } from './trust-domain.ts';

/** The SPIFFE X509-SVID spec's rules, checked over facts read once from the chain and the bundle. */

export interface X509SvidFacts {
  leaf: Certificate;
  intermediates: readonly Certificate[];
  path: CertificationPath;
  trustDomain: TrustDomainExpectation;
}

export function x509SvidFacts(
  [leaf, ...intermediates]: readonly [Certificate, ...Certificate[]],
  bundle: SpiffeBundle,
  trustDomain?: string,
): X509SvidFacts {
  return {
    leaf,
    intermediates,
    path: buildPath(leaf, intermediates, bundle.x509Authorities),
    trustDomain: expectedTrustDomain(bundle, trustDomain),
  };
}

/** The one URI SAN, when there is exactly one: the rules about it apply only then. */
const onlyUri = (facts: X509SvidFacts): string | undefined => {
  const uris = uriSans(facts.leaf);
  return uris.length === 1 ? uris[0] : undefined;
};

/** The named key usage flags the leaf sets, of those asked about; none when it has no key usage. */
const usagesSet = (leaf: Certificate, flags: readonly (keyof typeof x509.KeyUsageFlags)[]): string[] => {
  const usages = keyUsageOf(leaf)?.usages ?? 0;
  return flags.filter((flag) => (usages & x509.KeyUsageFlags[flag]) !== 0);
};

export const x509SvidRules: readonly Rule<X509SvidFacts>[] = [
  {
    name: 'uri-san',
    check: ({ leaf }) => {
      const count = uriSans(leaf).length;
      return count === 1 ? undefined : `the leaf has ${count} URI SANs; an X.509-SVID has exactly one`;
    },
  },
  {
    name: 'spiffe-id',
    check: (facts) => {
      const uri = onlyUri(facts);
      return uri === undefined ? undefined : workloadIdProblem(uri);
    },
  },
  {
    name: 'trust-domain',
    check: (facts) => {
      const uri = onlyUri(facts);
      if (uri === undefined || workloadIdProblem(uri) !== undefined) return undefined;
      if ('problem' in facts.trustDomain) return facts.trustDomain.problem;
      const domain = trustDomainOf(uri);
      return domain === facts.trustDomain.trustDomain
        ? undefined
        : `${uri} is in trust domain ${domain}, the bundle is for ${facts.trustDomain.trustDomain}`;
    },
  },
  {
    name: 'leaf-not-ca',
    check: ({ leaf }) => (isCa(leaf) ? 'the leaf is a CA certificate (basicConstraints cA=true)' : undefined),
  },
  {
    name: 'key-usage-critical',
    check: ({ leaf }) => {
      const keyUsage = keyUsageOf(leaf);
      if (keyUsage === undefined) return 'the leaf has no key usage extension';
      return keyUsage.critical ? undefined : 'the key usage extension is not marked critical';
    },
  },
  {
    name: 'digital-signature',
    check: ({ leaf }) =>
      usagesSet(leaf, ['digitalSignature']).length > 0 ? undefined : 'the key usage lacks digitalSignature',
  },
  {
    name: 'no-cert-sign',
    check: ({ leaf }) => {
      const found = usagesSet(leaf, ['keyCertSign', 'cRLSign']);
      return found.length === 0
        ? undefined
        : `the key usage has ${found.join(' and ')}: a leaf never signs certificates or CRLs`;
    },
  },
  {
    name: 'extended-key-usage',
    check: ({ leaf }) => {
      const usages = extendedKeyUsagesOf(leaf);
      if (usages === undefined) return undefined;
      const missing = [
        ...(usages.includes(OIDS.serverAuth) ? [] : ['serverAuth']),
        ...(usages.includes(OIDS.clientAuth) ? [] : ['clientAuth']),
      ];
      return missing.length === 0 ? undefined : `the extended key usage lacks ${missing.join(' and ')}`;
    },
  },
  {
    name: 'chains-to-bundle',
    check: ({ path }) => {
      if (path.anchor !== undefined) return undefined;
      const last = path.certificates[path.certificates.length - 1];
      const what = path.certificates.length === 1 ? 'the leaf' : `intermediate ${last?.parsed.subject}`;
      return `no authority in the bundle signed ${what} (issuer ${last?.parsed.issuer})`;
    },
  },
  {
    name: 'validity',
    check: ({ leaf, intermediates, path }, now) => {
      const problems = [
        validityProblem(leaf, now, 'the leaf'),
        ...intermediates.map((c, i) =>
          validityProblem(c, now, `intermediate ${i + 1} (${c.parsed.subject})`),
        ),
        path.anchor && validityProblem(path.anchor.certificate, now, `bundle authority ${path.anchor.id}`),
      ].filter((problem) => problem !== undefined);
      return problems.length === 0 ? undefined : problems.join('; ');
    },
  },
];

export interface VerifyOptions {
  now: Date;
  /** The trust domain the SVID must be in; the bundle's own when unset. */
  trustDomain?: string;
}

/** Checks every rule of an X.509-SVID chain, leaf first, against a bundle. */
export function verifyX509Svid(
  chain: readonly [Certificate, ...Certificate[]],
  bundle: SpiffeBundle,
  { now, trustDomain }: VerifyOptions,
): SvidVerdict {
  const facts = x509SvidFacts(chain, bundle, trustDomain);
  return { kind: 'x509-svid', spiffeId: onlyUri(facts), failures: runRules(x509SvidRules, facts, now) };
}
