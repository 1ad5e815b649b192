import type { AuthorityType, Journal } from './model.ts';

/**
 * What is inconsistent in a journal (read back from the cluster): an empty list when nothing is.
 * advanceAuthorities repairs some of these (several Active, revoked ids still live); the others
 * point at a bug or tampering.
 */
export const journalProblems = (journal: Journal): string[] => {
  const problems: string[] = [];
  const types: AuthorityType[] = ['X509', 'JWT'];
  for (const type of types) {
    const records = journal.authorities.filter((a) => a.type === type);
    const revokedIds = new Set(journal.revoked.filter((r) => r.type === type).map((r) => r.id));
    for (const state of ['Active', 'Prepared'] as const) {
      const ids = records.filter((a) => a.state === state).map((a) => a.id);
      if (ids.length > 1) problems.push(`${ids.length} ${type} authorities are ${state}: ${ids.join(', ')}`);
    }
    const seen = new Set<string>();
    for (const a of records) {
      if (seen.has(a.id)) problems.push(`${type} authority id ${a.id} appears more than once`);
      seen.add(a.id);
      if (revokedIds.has(a.id) && a.state !== 'Revoked') {
        problems.push(`${type} authority ${a.id} is revoked but in state ${a.state}`);
      }
      if (!(Date.parse(a.notBefore) < Date.parse(a.notAfter))) {
        problems.push(
          `${type} authority ${a.id} has notAfter ${a.notAfter} not after notBefore ${a.notBefore}`,
        );
      }
      if (a.type === 'X509' && !/^[0-9a-f]+$/.test(a.id)) {
        problems.push(`X509 authority id ${a.id} is not a lower-case hex subject key identifier`);
      }
    }
  }
  return problems;
};
