import {
  isPodMode,
  isSecretMode,
  type RegistrationEntry,
  registrationEntryKind,
  registrationEntrySchema,
} from '../../api/registrationentry.ts';
import { trustDomainSchema } from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import { readyCondition as ready } from '../../core/conditions.ts';
import { EntryReason } from '../../core/svid/reasons.ts';
import { type KubeObject, objectKey } from '../../kube/informer.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { EntryControllerOptions } from './options.ts';
import { reconcilePodEntry } from './pod-entry.ts';
import { EntryReporter } from './refusals.ts';
import { type CachedTrustDomain, SecretEntryIssuer } from './secret-entry.ts';
import { SvidSecrets } from './svid-secrets.ts';

export type { EntryControllerOptions } from './options.ts';

/**
 * Reconciles one RegistrationEntry: checks that its namespace may claim the identity, and keeps its
 * Secret holding a sound X.509-SVID, its JWT-SVIDs and the current trust bundle (Secret mode), or
 * reports the pods it serves (pod mode). The deciding is done by the planner in src/core/entry.
 */
export class RegistrationEntryReconciler {
  readonly #options: EntryControllerOptions;
  readonly #reporter: EntryReporter;
  readonly #issuer: SecretEntryIssuer;

  constructor(options: EntryControllerOptions) {
    this.#options = options;
    const { echoes, confirmedSvids } = options;
    const secrets = new SvidSecrets(options.client, options.secretCaches, (written) => {
      confirmedSvids?.confirm(written);
      echoes?.expect(
        registrationEntryKind.kind,
        'svidSecrets',
        objectKey(written),
        written.metadata.resourceVersion ?? '',
      );
    });
    this.#reporter = new EntryReporter(options, secrets);
    this.#issuer = new SecretEntryIssuer(options, secrets, this.#reporter);
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const { entries, metrics } = this.#options;
    const object = entries.get(key);
    if (!object) {
      metrics.setSvidExpiry(key, undefined);
      this.#issuer.forget(key);
      return undefined;
    }
    const parsed = registrationEntrySchema.safeParse(object);
    if (!parsed.success) {
      await this.#reporter.report(object, ready(EntryReason.InvalidSpec, describeIssues(parsed.error)));
      return undefined;
    }
    const entry = parsed.data;
    if (entry.metadata.deletionTimestamp) {
      // A finalizer can hold a deleted entry for ever: its SVID must not outlive the claim with it.
      if (isSecretMode(entry))
        await this.#reporter.refuse(
          object,
          EntryReason.EntryDeleting,
          'the RegistrationEntry is being deleted',
        );
      return undefined;
    }
    try {
      return await this.#reconcile(object, entry, key);
    } catch (error) {
      metrics.countRenewalFailure();
      const message = error instanceof Error ? error.message : String(error);
      await this.#reporter.event(entry, 'Warning', EntryReason.IssuanceFailed, message);
      throw error;
    }
  };

  async #reconcile(object: KubeObject, entry: RegistrationEntry, key: string): Promise<ReconcileResult> {
    const found = await this.#trustDomainOf(object, entry);
    if (!found) return undefined;
    if (isPodMode(entry))
      return reconcilePodEntry(this.#options, this.#reporter, object, entry, found.trustDomain);
    // The schema allows exactly one of secret and workloadSelector.
    if (!isSecretMode(entry)) return undefined;
    return this.#issuer.reconcile(object, entry, found, key);
  }

  /** The entry's TrustDomain, or undefined once the entry has been refused for it. */
  async #trustDomainOf(object: KubeObject, entry: RegistrationEntry): Promise<CachedTrustDomain | undefined> {
    const name = entry.spec.trustDomainRef.name;
    const trustDomainObject = this.#options.trustDomains.get(name);
    if (!trustDomainObject) {
      await this.#reporter.refuse(
        object,
        EntryReason.TrustDomainNotFound,
        `TrustDomain ${name} does not exist`,
      );
      return undefined;
    }
    const parsed = trustDomainSchema.safeParse(trustDomainObject);
    if (!parsed.success) {
      await this.#reporter.refuse(
        object,
        EntryReason.TrustDomainNotReady,
        `TrustDomain ${name} has an invalid spec`,
      );
      return undefined;
    }
    return { object: trustDomainObject, trustDomain: parsed.data };
  }
}
