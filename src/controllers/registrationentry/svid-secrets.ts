import { API_VERSION, GROUP } from '../../api/group.ts';
import { LABEL_MANAGED_BY, LABEL_REGISTRATION_ENTRY, MANAGED_BY_TRUSTLINE } from '../../api/well-known.ts';
import { labelValueFor } from '../../core/labels.ts';
import type { ObservedSecret } from '../../core/svid/identity.ts';
import { applyDerived } from '../../kube/apply.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import { type DataObject, dataObjectSchema, decodeSecretData } from '../../kube/objects.ts';
import { coreResources } from '../../kube/resources.ts';
import type { RestClient } from '../../kube/rest.ts';
import { shareValues } from '../cache-transforms.ts';

type Secret = DataObject;

const EXPECTATION_TTL_MS = 30_000;

/** The entry a Secret belongs to: its controller ownerReference. */
export interface EntryRef {
  namespace: string;
  name: string;
  uid: string;
}

const ownedBy = (secret: Secret, entry: EntryRef) =>
  secret.metadata.ownerReferences?.some(
    (reference) => reference.kind === 'RegistrationEntry' && reference.uid === entry.uid,
  ) ?? false;

/** What Trustline knows of an SVID Secret: absent, someone else's, or its own with its content. */
export type SecretState =
  | { kind: 'absent' }
  | { kind: 'foreign' }
  /** Trustline wrote it a moment ago and the cache has not caught up: acting now would sign twice. */
  | { kind: 'pending' }
  | { kind: 'owned'; observed: ObservedSecret; resourceVersion: string };

/**
 * The decoded view of each cached Secret, made once: the cache replaces an object on every change and
 * never alters one, so the view (and the leaf the re-issue policies parse from it) lasts as long as
 * the cached object. An entry goes through several reconciles per change; each decoded and parsed
 * everything again before.
 */
const observedSecrets = new WeakMap<KubeObject, ObservedSecret>();

function observe(cached: KubeObject, secret: Secret): ObservedSecret {
  const known = observedSecrets.get(cached);
  if (known) return known;
  const observed = {
    data: shareValues(decodeSecretData(secret.data)),
    annotations: secret.metadata.annotations ?? {},
    ownedByEntry: true,
  };
  observedSecrets.set(cached, observed);
  return observed;
}

function stateOf(cached: KubeObject, secret: Secret, entry: EntryRef): SecretState {
  if (!ownedBy(secret, entry)) return { kind: 'foreign' };
  return {
    kind: 'owned',
    observed: observe(cached, secret),
    resourceVersion: secret.metadata.resourceVersion ?? '',
  };
}

export interface SvidSecretWrite {
  name: string;
  data: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * SVID Secrets: read from caches of the Secrets Trustline labelled (never every Secret in the cluster),
 * written in one request each, owned by their entry so they go when it goes. A Secret of the name that
 * the entry does not own is never written.
 */
export class SvidSecrets {
  readonly #client: Pick<RestClient, 'request'>;
  readonly #caches: (namespace: string) => Pick<Informer, 'get'> | undefined;
  /**
   * For each Secret just written, the resourceVersion it replaced ('' for a create): while the cache
   * still shows that version, it has not seen the write (client-go's "expectations").
   */
  readonly #replaced = new Map<string, { resourceVersion: string; at: number }>();
  readonly #onWritten: ((written: KubeObject) => void) | undefined;

  constructor(
    client: Pick<RestClient, 'request'>,
    caches: (namespace: string) => Pick<Informer, 'get'> | undefined,
    /** Told each Secret as the apiserver confirmed writing it. */
    onWritten?: (written: KubeObject) => void,
  ) {
    this.#client = client;
    this.#caches = caches;
    this.#onWritten = onWritten;
  }

  /** Whether Secret mode may write in this namespace. */
  allowed(namespace: string): boolean {
    return this.#caches(namespace) !== undefined;
  }

  state(entry: EntryRef, name: string): SecretState {
    const key = `${entry.namespace}/${name}`;
    const cached = this.#caches(entry.namespace)?.get(key);
    const secret = dataObjectSchema.safeParse(cached);
    const cachedVersion = secret.success ? (secret.data.metadata.resourceVersion ?? '') : '';
    const replaced = this.#replaced.get(key);
    if (replaced !== undefined) {
      // An expectation expires, so an event the cache never saw cannot hold the entry forever.
      if (replaced.resourceVersion === cachedVersion && Date.now() - replaced.at < EXPECTATION_TTL_MS) {
        return { kind: 'pending' };
      }
      this.#replaced.delete(key);
    }
    return cached && secret.success ? stateOf(cached, secret.data, entry) : { kind: 'absent' };
  }

  /**
   * Writes the Secret through the one writer: a create when the cache has none, else an apply under
   * the cached Secret's uid, and nothing when it already holds this. Returns 'foreign' when a Secret
   * of that name turns out to belong to someone else.
   */
  async write(entry: EntryRef, state: SecretState, secret: SvidSecretWrite): Promise<'written' | 'foreign'> {
    const key = `${entry.namespace}/${secret.name}`;
    const cached = state.kind === 'owned' ? this.#caches(entry.namespace)?.get(key) : undefined;
    const outcome = await applyDerived(
      this.#client,
      {
        resource: coreResources.secrets,
        manifest: {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: {
            name: secret.name,
            namespace: entry.namespace,
            labels: {
              ...secret.labels,
              [LABEL_MANAGED_BY]: MANAGED_BY_TRUSTLINE,
              [LABEL_REGISTRATION_ENTRY]: labelValueFor(entry.name),
            },
            annotations: secret.annotations,
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: 'RegistrationEntry',
                name: entry.name,
                uid: entry.uid,
                controller: true,
              },
            ],
          },
          data: Object.fromEntries(
            Object.entries(secret.data).map(([name, value]) => [name, Buffer.from(value).toString('base64')]),
          ),
        },
        // Only the owner reference can tell Trustline's Secret from someone else's.
        owns: (object) => {
          const found = dataObjectSchema.safeParse(object);
          return found.success && ownedBy(found.data, entry);
        },
        // A withdrawal takes the SVID and what describes it away; a JWT no longer wanted goes too.
        removable: { data: true, annotations: (name) => name.startsWith(`${GROUP}/`) },
      },
      cached,
      { onWritten: this.#onWritten },
    );
    if (outcome.kind === 'foreign') return 'foreign';
    // Until the cache moves past the version written over, it has not seen this write.
    if (outcome.kind === 'written')
      this.#replaced.set(key, { resourceVersion: outcome.replaced, at: Date.now() });
    return 'written';
  }
}

/**
 * A write the apiserver refuses for what the Secret is, not for a race: 422 for an `immutable` Secret,
 * 403 for a quota or a policy. Retrying soon changes nothing; the entry names it instead.
 */
export const isUnwritable = (error: unknown): error is KubeApiError =>
  error instanceof KubeApiError && (error.status === 422 || error.status === 403);

/** The name of the RegistrationEntry that owns a Secret, if one does. */
export const owningEntryName = (object: KubeObject): string | undefined =>
  object.metadata.ownerReferences?.find((reference) => reference.kind === 'RegistrationEntry')?.name;
