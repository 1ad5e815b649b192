import type { SpiffeBundle } from '../core/verify/bundle.ts';
import { expectedTrustDomain } from '../core/verify/trust-domain.ts';
import type { AuthorityStates } from './bundle-source.ts';
import { renderFields, renderTable } from './table.ts';
import { describeValidity, instant, parseInstant, type Validity, validityAt } from './time.ts';

/** What `inspect bundle` reports, as data (the JSON output) and as text. Pure: the clock is given. */

export interface X509AuthorityReport {
  use: 'x509-svid';
  /** The subject key identifier: what a KeyRevocation names. */
  id: string;
  subject: string;
  spiffeId: string | null;
  trustDomain: string | null;
  notBefore: string;
  notAfter: string;
  validity: Validity;
  /** Prepared, Active, Old or Tainted, when the owning TrustDomain reports it. */
  state: string | null;
}

export interface JwtAuthorityReport {
  use: 'jwt-svid';
  kid: string;
  kty: string;
  crv: string | null;
  alg: string | null;
  /** A SPIFFE bundle carries no validity for JWT keys; the TrustDomain's status does. */
  notBefore: string | null;
  notAfter: string | null;
  validity: Validity | null;
  state: string | null;
}

export interface BundleReport {
  source: string;
  trustDomain: string | null;
  sequence: number | null;
  refreshHintSeconds: number | null;
  /** The TrustDomain the states were read from; null when none could be. */
  statesFrom: string | null;
  authorities: (X509AuthorityReport | JwtAuthorityReport)[];
  ignoredKeys: number;
  notes: string[];
}

export interface BundleReportInput {
  source: string;
  bundle: SpiffeBundle;
  states: AuthorityStates | undefined;
  notes: readonly string[];
  now: Date;
}

export function bundleReport({ source, bundle, states, notes, now }: BundleReportInput): BundleReport {
  const statusOf = (kinds: readonly string[], id: string) =>
    states?.authorities.find((authority) => kinds.includes(authority.kind) && authority.id === id);
  const expectation = expectedTrustDomain(bundle);
  const x509 = bundle.x509Authorities.map((authority): X509AuthorityReport => {
    const [uri] = authority.uris;
    return {
      use: 'x509-svid',
      id: authority.id,
      subject: authority.subject,
      spiffeId: authority.uris.length === 1 && uri !== undefined ? uri : null,
      trustDomain: authority.trustDomain ?? null,
      notBefore: instant(authority.notBefore),
      notAfter: instant(authority.notAfter),
      validity: validityAt(authority.notBefore, authority.notAfter, now),
      state: statusOf(['X509', 'UpstreamX509'], authority.id)?.state ?? null,
    };
  });
  const jwt = bundle.jwtAuthorities.map((authority): JwtAuthorityReport => {
    const status = statusOf(['JWT'], authority.kid);
    const notBefore = parseInstant(status?.notBefore);
    const notAfter = parseInstant(status?.notAfter);
    return {
      use: 'jwt-svid',
      kid: authority.kid,
      kty: authority.jwk.kty,
      crv: authority.jwk.crv ?? null,
      alg: authority.alg ?? null,
      notBefore: notBefore === undefined ? null : instant(notBefore),
      notAfter: notAfter === undefined ? null : instant(notAfter),
      validity: notAfter === undefined ? null : validityAt(notBefore, notAfter, now),
      state: status?.state ?? null,
    };
  });
  return {
    source,
    trustDomain: 'trustDomain' in expectation ? expectation.trustDomain : null,
    sequence: bundle.sequence ?? null,
    refreshHintSeconds: bundle.refreshHintSeconds ?? null,
    statesFrom: states === undefined ? null : `TrustDomain ${states.trustDomainObject}`,
    authorities: [...x509, ...jwt],
    ignoredKeys: bundle.ignoredKeys,
    notes: [...notes],
  };
}

/** "ES256 (EC P-256)", or "EC P-256" when the bundle does not name the algorithm (SPIFFE bundles do not). */
const keyText = ({ alg, kty, crv }: JwtAuthorityReport): string => {
  const key = crv === null ? kty : `${kty} ${crv}`;
  return alg === null ? key : `${alg} (${key})`;
};

const orDash = (value: string | number | null): string => (value === null ? '-' : String(value));

export function renderBundleReport(report: BundleReport): string {
  const x509 = report.authorities.filter((a): a is X509AuthorityReport => a.use === 'x509-svid');
  const jwt = report.authorities.filter((a): a is JwtAuthorityReport => a.use === 'jwt-svid');
  const sections = [
    renderFields([
      ['Source', report.source],
      ['Trust domain', orDash(report.trustDomain)],
      ['Sequence', orDash(report.sequence)],
      ['Refresh hint', report.refreshHintSeconds === null ? '-' : `${report.refreshHintSeconds}s`],
      ['States from', report.statesFrom ?? 'the bundle alone (no lifecycle states)'],
    ]),
    x509.length === 0
      ? 'X.509 authorities: none\n'
      : `X.509 authorities (${x509.length})\n${renderTable(
          ['ID', 'SUBJECT', 'SPIFFE ID', 'NOT BEFORE', 'NOT AFTER', 'STATE', 'EXPIRY'],
          x509.map((a) => [
            a.id,
            a.subject,
            orDash(a.spiffeId),
            a.notBefore,
            a.notAfter,
            orDash(a.state),
            describeValidity(a.validity),
          ]),
        )}`,
    jwt.length === 0
      ? 'JWT authorities: none\n'
      : `JWT authorities (${jwt.length})\n${renderTable(
          ['KID', 'KEY', 'NOT AFTER', 'STATE', 'EXPIRY'],
          jwt.map((a) => [
            a.kid,
            keyText(a),
            orDash(a.notAfter),
            orDash(a.state),
            a.validity === null ? 'unknown (not in the bundle)' : describeValidity(a.validity),
          ]),
        )}`,
  ];
  if (report.authorities.length === 0) sections.push('The bundle is empty: every authority is revoked.\n');
  if (report.ignoredKeys > 0) sections.push(`Ignored ${report.ignoredKeys} key(s) of another use.\n`);
  for (const note of report.notes) sections.push(`Note: ${note}\n`);
  return sections.join('\n');
}
