import { createHash } from 'node:crypto';
import { journalProblems } from './journal-problems.ts';
import { checkAuthority } from './mint.ts';
import { type Journal, journalSchema } from './model.ts';

/**
 * The journal Secret's name: derived from the trust domain name alone, so deleting and re-creating a
 * TrustDomain object finds the same keys. The hash keeps names distinct where the readable part is cut.
 */
export function journalSecretName(trustDomain: string): string {
  const readable = trustDomain
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 40)
    // Each dot-separated label of a DNS-1123 subdomain starts and ends alphanumeric and is not empty.
    .split('.')
    .map((label) => label.replace(/^-+|-+$/g, ''))
    .filter((label) => label !== '')
    .join('.');
  const hash = createHash('sha256').update(trustDomain).digest('hex').slice(0, 10);
  return `trustline-journal-${readable ? `${readable}-` : ''}${hash}`;
}

/** Why a journal read back from the cluster cannot be trusted. */
export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

export const encodeJournal = (journal: Journal): string => JSON.stringify(journal);

/**
 * Reads a journal and checks it whole: its shape, that it belongs to `trustDomain`, that its states are
 * consistent, and that every private key matches its public half. A journal that fails is never
 * repaired or replaced, since that would fork the keys relying parties trust.
 */
export function decodeJournal(text: string, trustDomain: string): Journal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new JournalError('the journal is not JSON');
  }
  const parsed = journalSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new JournalError(
      `the journal does not match its schema at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  const journal = parsed.data;
  if (journal.trustDomain !== trustDomain) {
    throw new JournalError(`the journal belongs to trust domain ${journal.trustDomain}, not ${trustDomain}`);
  }
  const problems = journalProblems(journal);
  if (problems.length > 0) throw new JournalError(`the journal is inconsistent: ${problems.join('; ')}`);
  for (const authority of journal.authorities) {
    try {
      checkAuthority(authority);
    } catch (error) {
      throw new JournalError(
        `authority ${authority.id} in the journal fails its check: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return journal;
}
