import type { AuthorityKind } from '../../api/trustdomain.ts';

/** How messages name each kind of authority a KeyRevocation can target. */
const KIND_NOUNS: Record<AuthorityKind, { one: string; many: string; article: string }> = {
  X509: { one: 'X.509 authority', many: 'X.509 authorities', article: 'an' },
  UpstreamX509: { one: 'upstream root', many: 'upstream roots', article: 'an' },
  JWT: { one: 'JWT key', many: 'JWT keys', article: 'a' },
};

/** "an X.509 authority", "a JWT key". */
export const kindWithArticle = (kind: AuthorityKind): string =>
  `${KIND_NOUNS[kind].article} ${KIND_NOUNS[kind].one}`;

/** "X.509 authorities", "JWT keys". */
export const kindPlural = (kind: AuthorityKind): string => KIND_NOUNS[kind].many;

/** "X.509 authority ab12…", as messages name a revocation's target. */
export const describeTarget = (target: { kind: AuthorityKind; id: string }): string =>
  `${KIND_NOUNS[target.kind].one} ${target.id}`;

/**
 * An id as the journal spells it for a kind: subject key ids are lower-case hex, and tools print them
 * in either case; a JWT kid is compared exactly.
 */
export const canonicalId = (kind: AuthorityKind, id: string): string =>
  kind === 'JWT' ? id : id.toLowerCase();
