import {
  ANNOTATION_TRUST_DOMAIN,
  JOURNAL_KEY,
  LABEL_JOURNAL,
  LABEL_MANAGED_BY,
  MANAGED_BY_TRUSTLINE,
} from '../../api/well-known.ts';
import {
  decodeJournal,
  encodeJournal,
  JournalError,
  journalSecretName,
} from '../../core/authorities/journal-codec.ts';
import { emptyJournal, type Journal } from '../../core/authorities/model.ts';
import { labelValueFor } from '../../core/labels.ts';
import { isNotFound } from '../../kube/errors.ts';
import { dataObjectSchema, decodeSecretData } from '../../kube/objects.ts';
import { collectionPath, coreResources, objectPath } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';

/** A journal with the resourceVersion it was read at; none when it has never been written. */
export interface StoredJournal {
  journal: Journal;
  resourceVersion: string | undefined;
}

/**
 * Reads and writes each trust domain's journal Secret in the operator's namespace. Reads go to the
 * apiserver, not a cache, and writes carry the resourceVersion read, so two writers can never fork the
 * keys: the second one gets a conflict and starts over from what the first wrote.
 */
export class JournalStore {
  readonly #client: RestClient;
  readonly #namespace: string;

  constructor(client: RestClient, namespace: string) {
    this.#client = client;
    this.#namespace = namespace;
  }

  async load(trustDomain: string): Promise<StoredJournal> {
    let response: unknown;
    try {
      response = await this.#client.request(
        'GET',
        objectPath(coreResources.secrets, journalSecretName(trustDomain), this.#namespace),
      );
    } catch (error) {
      if (isNotFound(error)) {
        return { journal: emptyJournal(trustDomain), resourceVersion: undefined };
      }
      throw error;
    }
    const secret = dataObjectSchema.parse(response);
    const encoded = decodeSecretData(secret.data)[JOURNAL_KEY];
    if (encoded === undefined) throw new JournalError(`the journal Secret has no ${JOURNAL_KEY}`);
    return {
      journal: decodeJournal(encoded, trustDomain),
      resourceVersion: secret.metadata.resourceVersion,
    };
  }

  async save(previous: StoredJournal, journal: Journal): Promise<StoredJournal> {
    const name = journalSecretName(journal.trustDomain);
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace: this.#namespace,
        labels: {
          [LABEL_MANAGED_BY]: MANAGED_BY_TRUSTLINE,
          [LABEL_JOURNAL]: labelValueFor(journal.trustDomain),
        },
        annotations: { [ANNOTATION_TRUST_DOMAIN]: journal.trustDomain },
        ...(previous.resourceVersion === undefined ? {} : { resourceVersion: previous.resourceVersion }),
      },
      data: { [JOURNAL_KEY]: Buffer.from(encodeJournal(journal)).toString('base64') },
    };
    const response =
      previous.resourceVersion === undefined
        ? await this.#client.request('POST', collectionPath(coreResources.secrets, this.#namespace), { body })
        : await this.#client.request('PUT', objectPath(coreResources.secrets, name, this.#namespace), {
            body,
          });
    return { journal, resourceVersion: dataObjectSchema.parse(response).metadata.resourceVersion };
  }
}
