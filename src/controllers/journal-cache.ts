import { JOURNAL_KEY } from '../api/well-known.ts';
import { decodeJournal, JournalError, journalSecretName } from '../core/authorities/journal-codec.ts';
import type { Journal } from '../core/authorities/model.ts';
import type { Informer } from '../kube/informer.ts';
import { dataObjectSchema, decodeSecretData } from '../kube/objects.ts';

/**
 * The journals as the Secrets cache last saw them, each decoded and checked once per resourceVersion:
 * what SVID issuance reads. A journal seen a moment late only holds older authorities, all of them
 * already published, so signing with it is safe; the TrustDomain controller alone writes journals.
 */
export class JournalCache {
  readonly #secrets: Informer;
  readonly #namespace: string;
  readonly #decoded = new Map<string, { resourceVersion: string; journal: Journal | JournalError }>();

  constructor(secrets: Informer, namespace: string) {
    this.#secrets = secrets;
    this.#namespace = namespace;
  }

  /** The resourceVersion of a trust domain's journal Secret as cached, or '' without one. */
  version(trustDomain: string): string {
    const object = this.#secrets.get(`${this.#namespace}/${journalSecretName(trustDomain)}`);
    return object?.metadata.resourceVersion ?? '';
  }

  /** The journal of a trust domain; undefined before its first keys, a JournalError if unreadable. */
  get(trustDomain: string): Journal | JournalError | undefined {
    const object = this.#secrets.get(`${this.#namespace}/${journalSecretName(trustDomain)}`);
    const secret = dataObjectSchema.safeParse(object);
    if (!secret.success) return undefined;
    const resourceVersion = secret.data.metadata.resourceVersion ?? '';
    const known = this.#decoded.get(trustDomain);
    if (known && known.resourceVersion === resourceVersion) return known.journal;
    const encoded = decodeSecretData(secret.data.data)[JOURNAL_KEY];
    let journal: Journal | JournalError;
    try {
      if (encoded === undefined) throw new JournalError(`the journal Secret has no ${JOURNAL_KEY}`);
      journal = decodeJournal(encoded, trustDomain);
    } catch (error) {
      if (!(error instanceof JournalError)) throw error;
      journal = error;
    }
    this.#decoded.set(trustDomain, { resourceVersion, journal });
    return journal;
  }
}
