import {
  isSecretMode,
  type RegistrationEntry,
  registrationEntryKind,
  registrationEntrySchema,
  type SecretModeEntry,
} from '../../api/registrationentry.ts';
import { trustDomainSchema } from '../../api/trustdomain.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import type { Journal } from '../../core/authorities/model.ts';
import { type DesiredCondition, readyCondition as ready } from '../../core/conditions.ts';
import { EntryReason, REFUSALS_KEEPING_SVID } from '../../core/svid/reasons.ts';
import { isWithdrawnAs, notReadyReason, withdrawnSecretContent } from '../../core/svid/withdrawal.ts';
import { type KubeObject, objectKey } from '../../kube/informer.ts';
import { trustlineResource } from '../../kube/resources.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import { writeStatus } from '../status-writer.ts';
import type { EntryControllerOptions } from './options.ts';
import { type EntryRef, isUnwritable, type SvidSecrets } from './svid-secrets.ts';

const resource = trustlineResource(registrationEntryKind);
/** How soon a refused entry looks again when no watch event would tell it something changed. */
export const RECHECK_MS = 60_000;

export const entryRef = (entry: RegistrationEntry): EntryRef => ({
  namespace: entry.metadata.namespace ?? '',
  name: entry.metadata.name,
  uid: entry.metadata.uid ?? '',
});

export const involvedObject = (entry: RegistrationEntry) => ({
  apiVersion: entry.apiVersion,
  kind: entry.kind,
  metadata: entry.metadata,
});

/**
 * What an entry's reconcile tells: its status (written once per reconcile), its events, and its
 * refusals, which withdraw the SVID of a Secret-mode entry whose identity is no longer allowed.
 */
export class EntryReporter {
  readonly #options: EntryControllerOptions;
  readonly #secrets: SvidSecrets;

  constructor(options: EntryControllerOptions, secrets: SvidSecrets) {
    this.#options = options;
    this.#secrets = secrets;
  }

  report(
    object: KubeObject,
    condition: DesiredCondition,
    fields: Record<string, unknown> = {},
  ): Promise<boolean> {
    const { client, now, echoes } = this.#options;
    return writeStatus(client, resource, object, fields, [condition], now(), (written) => {
      // The pass decided from this generation; a spec edit or a deletion that landed under the patch
      // shows in the returned object, and then its echo must bring the entry back.
      const { generation, deletionTimestamp, resourceVersion = '' } = written.metadata;
      if (
        generation === object.metadata.generation &&
        deletionTimestamp === object.metadata.deletionTimestamp
      )
        echoes?.expect(
          registrationEntryKind.kind,
          'registrationEntries',
          objectKey(written),
          resourceVersion,
        );
    });
  }

  event(
    entry: RegistrationEntry,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    return this.#options.events.record(involvedObject(entry), type, reason, message);
  }

  /**
   * Reports a refusal: status, and an event when the reason is new. The identity is no longer allowed
   * for every reason but a few transient ones, so a Secret-mode entry's SVID is withdrawn with it.
   */
  async refuse(object: KubeObject, reason: string, message: string): Promise<void> {
    const entry = registrationEntrySchema.safeParse(object);
    const withdrawal =
      entry.success && isSecretMode(entry.data) && !REFUSALS_KEEPING_SVID.has(reason)
        ? await this.#withdraw(entry.data, reason)
        : undefined;
    const said = withdrawal === undefined ? message : `${message}; ${withdrawal}`;
    const changed = await this.report(object, ready(reason, said));
    if (changed && entry.success) await this.event(entry.data, 'Warning', reason, said);
  }

  async conflict(object: KubeObject, entry: SecretModeEntry): Promise<ReconcileResult> {
    await this.refuse(
      object,
      EntryReason.SecretConflict,
      `Secret ${entry.metadata.namespace}/${entry.spec.secret.name} exists and does not belong to this RegistrationEntry; Trustline leaves it alone: delete it or choose another spec.secret.name`,
    );
    return { requeueAfterMs: RECHECK_MS };
  }

  /** The reason to give an entry whose trust domain cannot issue now (see notReadyReason). */
  notReadyReason(entry: SecretModeEntry, journal: Journal | undefined): string {
    const state = this.#secrets.state(entryRef(entry), entry.spec.secret.name);
    return notReadyReason(
      state.kind === 'owned' ? state.observed : undefined,
      (entry.spec.jwtSVIDs ?? []).map((jwt) => jwt.key),
      journal,
      this.#options.now(),
    );
  }

  /**
   * Takes the SVID out of the entry's Secret, keeping its bundle current, and says what happened;
   * undefined when the Secret holds nothing of this entry's.
   */
  async #withdraw(entry: SecretModeEntry, reason: string): Promise<string | undefined> {
    const ref = entryRef(entry);
    const name = entry.spec.secret.name;
    const state = this.#secrets.state(ref, name);
    if (state.kind !== 'owned') return undefined;
    const content = withdrawnSecretContent({
      secret: state.observed,
      jwtKeys: (entry.spec.jwtSVIDs ?? []).map((jwt) => jwt.key),
      reason,
      bundlePem: this.#bundleOf(entry),
    });
    const done = `the SVID was withdrawn from Secret ${ref.namespace}/${name}`;
    if (isWithdrawnAs(state.observed, content)) return done;
    try {
      const written = await this.#secrets.write(ref, state, {
        name,
        data: content.data,
        labels: entry.spec.secret.labels ?? {},
        annotations: content.annotations,
      });
      if (written === 'foreign') return undefined;
    } catch (error) {
      if (!isUnwritable(error)) throw error;
      return `Secret ${ref.namespace}/${name} cannot be written (${error.message}), so it still holds the SVID: delete the Secret`;
    }
    this.#options.metrics.setSvidExpiry(`${ref.namespace}/${entry.metadata.name}`, undefined);
    await this.event(entry, 'Warning', 'SVIDWithdrawn', `${done} (${reason})`);
    return done;
  }

  /** The current roots of the entry's trust domain; undefined when it has no journal to take them from. */
  #bundleOf(entry: SecretModeEntry): string | undefined {
    const trustDomain = trustDomainSchema.safeParse(
      this.#options.trustDomains.get(entry.spec.trustDomainRef.name),
    );
    if (!trustDomain.success) return undefined;
    const journal = this.#options.journals.get(trustDomain.data.spec.trustDomain);
    return journal === undefined || journal instanceof JournalError ? undefined : journal.bundle.pem;
  }
}
