import {
  hasPlaceholders,
  isPodMode,
  isSecretMode,
  type PodModeEntry,
  type RegistrationEntry,
  registrationEntryKind,
  registrationEntrySchema,
  type SecretModeEntry,
} from '../../api/registrationentry.ts';
import { signerNameOf, type TrustDomain, trustDomainSchema } from '../../api/trustdomain.ts';
import { describeIssues } from '../../api/validation.ts';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_RENEW_AT,
  ANNOTATION_SVID_SERIAL,
  USER_ANNOTATION_ENTRY,
} from '../../api/well-known.ts';
import { JournalError } from '../../core/authorities/journal-codec.ts';
import { activeAuthority, isExpired } from '../../core/authorities/lifecycle.ts';
import type { Journal, JwtAuthority, X509Authority } from '../../core/authorities/model.ts';
import type { DesiredCondition } from '../../core/conditions.ts';
import { podEntryView } from '../../core/podcert/selection.ts';
import { abandonedSigners } from '../../core/revocation/progress.ts';
import { svidSigners } from '../../core/revocation/signers.ts';
import {
  desiredIdentity,
  isRefusal,
  keyTypeRefusal,
  x509Lifetime,
} from '../../core/svid/desired-identity.ts';
import type { DesiredIdentity, IssuanceInput, ReissueTrigger } from '../../core/svid/identity.ts';
import { jwtRenewalDueAt } from '../../core/svid/jwt-policies.ts';
import { mintJwtSvid } from '../../core/svid/jwt-svid.ts';
import { EntryReason, issuanceCause, REFUSALS_KEEPING_SVID } from '../../core/svid/reasons.ts';
import { jwtSvidsToReissue, x509ReissueReason } from '../../core/svid/reissue.ts';
import {
  buildSecretData,
  type SvidSecretContent,
  withBundle,
  withJwtSvids,
} from '../../core/svid/secret-data.ts';
import { caBundleStale, extraDataKeys } from '../../core/svid/secret-drift.ts';
import { isWithdrawnAs, withdrawnSecretContent, withdrawnSigners } from '../../core/svid/withdrawal.ts';
import { mintX509Svid } from '../../core/svid/x509-svid.ts';
import type { Informer, KubeObject } from '../../kube/informer.ts';
import { trustlineResource } from '../../kube/resources.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import { asPodEntry, parsePod, podEntriesIn, selectablePod } from '../podcertificate/pods.ts';
import {
  checkNamespaceClaim,
  issuanceRefusal,
  NAMESPACE_NOT_CACHED_RETRY_MS,
  type SigningContext,
} from '../signing-context.ts';
import { writeStatus } from '../status-writer.ts';
import { type EntryRef, isUnwritable, type SecretState, SvidSecrets } from './svid-secrets.ts';

export interface EntryControllerOptions extends SigningContext {
  /** The cache of pods, when the cluster serves PodCertificateRequests. */
  pods?: Informer | undefined;
  /** The cache of Trustline's Secrets in a namespace; undefined where Secret mode may not write. */
  secretCaches: (namespace: string) => Informer | undefined;
  /** Set when the operator writes no SVID Secrets at all, so refusals say so. */
  secretModeOff?: boolean;
}

const resource = trustlineResource(registrationEntryKind);
const RENEWAL_JITTER = 0.1;
/** How soon a refused entry looks again when no watch event would tell it something changed. */
const RECHECK_MS = 60_000;
const PENDING_RECHECK_MS = 2_000;

const ready = (reason: string, message: string, status: 'True' | 'False' = 'False'): DesiredCondition => ({
  type: 'Ready',
  status,
  reason,
  message,
});

const publishable = (journal: Journal, type: 'X509' | 'JWT', now: Date) =>
  journal.authorities
    .filter(
      (authority) => authority.type === type && authority.state !== 'Revoked' && !isExpired(authority, now),
    )
    .map((authority) => authority.id);

/**
 * Reconciles one RegistrationEntry: checks that its namespace may claim the identity, and keeps its
 * Secret holding a sound X.509-SVID, its JWT-SVIDs and the current trust bundle. The re-issue policies
 * decide whether anything is signed; otherwise only drift in the bundle or the token set is rewritten.
 * Renewal is a timer per entry (the queue's delayed add), not a periodic pass over all entries.
 */
export class RegistrationEntryReconciler {
  readonly #options: EntryControllerOptions;
  readonly #secrets: SvidSecrets;
  readonly #random: () => number;
  /** Per entry: the inputs of its last sound reconcile, and when it must look again regardless. */
  readonly #settled = new Map<string, { fingerprint: string; wakeAt: number }>();

  constructor(options: EntryControllerOptions) {
    this.#options = options;
    this.#secrets = new SvidSecrets(options.client, options.secretCaches);
    this.#random = options.random ?? Math.random;
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const { entries, metrics } = this.#options;
    const object = entries.get(key);
    if (!object) {
      metrics.setSvidExpiry(key, undefined);
      this.#settled.delete(key);
      return undefined;
    }
    const parsed = registrationEntrySchema.safeParse(object);
    if (!parsed.success) {
      await this.#report(object, ready(EntryReason.InvalidSpec, describeIssues(parsed.error)));
      return undefined;
    }
    const entry = parsed.data;
    if (entry.metadata.deletionTimestamp) {
      // A finalizer can hold a deleted entry for ever: its SVID must not outlive the claim with it.
      if (isSecretMode(entry))
        await this.#refuse(object, EntryReason.EntryDeleting, 'the RegistrationEntry is being deleted');
      return undefined;
    }
    try {
      return await this.#reconcile(object, entry, key);
    } catch (error) {
      metrics.countRenewalFailure();
      await this.#event(
        entry,
        'Warning',
        EntryReason.IssuanceFailed,
        error instanceof Error ? error.message : String(error),
      );
      throw error;
    }
  };

  /**
   * A workloadSelector entry signs nothing itself: kubelets ask for each pod's certificate. Its status
   * tells which pods it selects, which of them it serves, and who serves the rest.
   */
  async #reconcilePodEntry(
    object: KubeObject,
    entry: PodModeEntry,
    trustDomain: TrustDomain,
  ): Promise<ReconcileResult> {
    const { pods, journals, entries } = this.#options;
    const namespace = entry.metadata.namespace ?? '';
    if (pods === undefined) {
      await this.#refuse(
        object,
        EntryReason.PodCertificatesUnavailable,
        'this cluster does not serve PodCertificateRequests (certificates.k8s.io v1, or v1beta1 with the PodCertificateRequest feature gate): use spec.secret instead of spec.workloadSelector',
      );
      return undefined;
    }
    if (await this.#refusedIssuance(object, namespace, trustDomain)) return undefined;
    const limits = podEntryLimits(entry, trustDomain);
    if (limits) {
      await this.#refuse(object, limits.refused, limits.message);
      return undefined;
    }
    if (!hasPlaceholders(entry.spec.spiffeIDPath)) {
      const verdict = checkNamespaceClaim(this.#options, namespace, trustDomain, {
        spiffeIDPath: entry.spec.spiffeIDPath,
        dnsNames: entry.spec.dnsNames ?? [],
      });
      if (!verdict.allowed && verdict.rule === 'NamespaceNotCached')
        return { requeueAfterMs: NAMESPACE_NOT_CACHED_RETRY_MS };
      if (!verdict.allowed) {
        await this.#refuse(object, verdict.rule, verdict.message);
        return undefined;
      }
    }
    const journal = journals.get(trustDomain.spec.trustDomain);
    if (journal instanceof JournalError || !journal || !activeAuthority(journal, 'X509')) {
      await this.#refuse(
        object,
        EntryReason.TrustDomainNotReady,
        `TrustDomain ${trustDomain.metadata.name} has no active X.509 authority yet`,
      );
      return { requeueAfterMs: RECHECK_MS };
    }
    const signerName = signerNameOf(trustDomain);
    const candidates = podEntriesIn(entries, namespace, trustDomain.metadata.name);
    const me = candidates.find((candidate) => candidate.name === entry.metadata.name) ?? asPodEntry(entry);
    const view = podEntryView(
      me,
      pods.byNamespace(namespace).flatMap((podObject) => {
        const pod = parsePod(podObject);
        return pod ? [selectablePod(pod, signerName)] : [];
      }),
      candidates,
    );
    const spiffeId = `spiffe://${trustDomain.spec.trustDomain}${entry.spec.spiffeIDPath}`;
    const others = view.servedByOthers.length;
    await this.#report(
      object,
      ready(
        EntryReason.ServingPods,
        `serves ${view.served} of the ${view.selected} pods it selects as ${spiffeId} through signer ${signerName}${others > 0 ? `; ${others} selected pods are served by another entry (the pod names one through the ${USER_ANNOTATION_ENTRY} user annotation, or else the oldest entry wins)` : ''}`,
        'True',
      ),
      {
        spiffeID: spiffeId,
        pods: {
          signerName,
          selected: view.selected,
          served: view.served,
          ...(others > 0 ? { servedByOthers: view.servedByOthers.slice(0, 10) } : {}),
        },
      },
    );
    return undefined;
  }

  async #reconcile(object: KubeObject, entry: RegistrationEntry, key: string): Promise<ReconcileResult> {
    const { now: clock, trustDomains, journals } = this.#options;
    const namespace = entry.metadata.namespace ?? '';
    const ref: EntryRef = { namespace, name: entry.metadata.name, uid: entry.metadata.uid ?? '' };
    const trustDomainObject = trustDomains.get(entry.spec.trustDomainRef.name);
    if (!trustDomainObject) {
      await this.#refuse(
        object,
        EntryReason.TrustDomainNotFound,
        `TrustDomain ${entry.spec.trustDomainRef.name} does not exist`,
      );
      return undefined;
    }
    const trustDomainParsed = trustDomainSchema.safeParse(trustDomainObject);
    if (!trustDomainParsed.success) {
      await this.#refuse(
        object,
        EntryReason.TrustDomainNotReady,
        `TrustDomain ${entry.spec.trustDomainRef.name} has an invalid spec`,
      );
      return undefined;
    }
    const trustDomain: TrustDomain = trustDomainParsed.data;
    if (isPodMode(entry)) return this.#reconcilePodEntry(object, entry, trustDomain);
    // The schema allows exactly one of secret and workloadSelector.
    if (!isSecretMode(entry)) return undefined;
    if (!this.#secrets.allowed(namespace)) {
      await this.#refuse(
        object,
        EntryReason.SecretNamespaceNotAllowed,
        this.#options.secretModeOff
          ? 'Secret mode is off (TRUSTLINE_SVID_SECRETS=false): use spec.workloadSelector, and podCertificate volumes in the pods'
          : `Trustline may not write Secrets in namespace ${namespace}; it writes them only in the namespaces listed in TRUSTLINE_SECRET_NAMESPACES`,
      );
      return undefined;
    }
    if (await this.#refusedIssuance(object, namespace, trustDomain)) return undefined;
    const verdict = checkNamespaceClaim(this.#options, namespace, trustDomain, {
      spiffeIDPath: entry.spec.spiffeIDPath,
      dnsNames: entry.spec.dnsNames ?? [],
    });
    if (!verdict.allowed && verdict.rule === 'NamespaceNotCached')
      return { requeueAfterMs: NAMESPACE_NOT_CACHED_RETRY_MS };
    if (!verdict.allowed) {
      await this.#refuse(object, verdict.rule, verdict.message);
      return undefined;
    }
    const loaded = journals.get(trustDomain.spec.trustDomain);
    const journal = loaded instanceof JournalError ? undefined : loaded;
    const activeX509 = journal && activeAuthority(journal, 'X509');
    const activeJwt = journal && activeAuthority(journal, 'JWT');
    if (!journal || !activeX509 || !activeJwt || !journal.bundle.pem) {
      // A revoked signer no successor replaced yet: issuance stopped on purpose, not still starting.
      const stopped = journal?.revocations.some((r) => r.rotated && r.replacedBy === undefined);
      const message = stopped
        ? `issuance is stopped: TrustDomain ${trustDomain.metadata.name} has no authority to sign with while a tainted one is revoked (see its status)`
        : `TrustDomain ${trustDomain.metadata.name} has no active authorities yet${loaded instanceof JournalError ? `: ${loaded.message}` : ''}`;
      await this.#refuse(object, this.#abandoned(ref, entry, journal), message);
      return { requeueAfterMs: RECHECK_MS };
    }

    const plan = desiredIdentity(entry.spec, trustDomain.spec);
    if (isRefusal(plan)) {
      await this.#refuse(object, plan.refused, plan.message);
      return undefined;
    }
    const { identity, capped } = plan;
    this.#options.signers.forgetUnfit(journal);
    const now = clock();
    const fraction = trustDomain.spec.svid.renewalPercentage / 100;
    const state = this.#secrets.state(ref, entry.spec.secret.name);
    if (state.kind === 'foreign') return this.#conflict(object, entry);
    // The watch event of the write will bring the entry back; the delay is a safety net.
    if (state.kind === 'pending') return { requeueAfterMs: PENDING_RECHECK_MS };
    // Nothing that decides issuance changed since the last look found the Secret sound: skip the
    // policies (they parse certificates and keys) until the renewal timer is due.
    const fingerprint = JSON.stringify([
      entry.metadata.generation,
      trustDomainObject.metadata.generation,
      this.#options.namespaces.get(namespace)?.metadata.resourceVersion,
      journals.version(trustDomain.spec.trustDomain),
      state.kind === 'owned' ? state.resourceVersion : '',
    ]);
    const settled = this.#settled.get(key);
    if (settled?.fingerprint === fingerprint && now.getTime() < settled.wakeAt) {
      return { requeueAfterMs: settled.wakeAt - now.getTime() };
    }
    const input: IssuanceInput = {
      now,
      spec: identity,
      secret: state.kind === 'owned' ? state.observed : undefined,
      activeAuthorityIds: { x509: activeX509.id, jwt: activeJwt.id },
      publishableAuthorityIds: {
        x509: publishable(journal, 'X509', now),
        jwt: publishable(journal, 'JWT', now),
      },
      taintedAuthorityIds: journal.authorities.filter((a) => a.state === 'Tainted').map((a) => a.id),
      renewalFraction: fraction,
    };
    const written = await this.#converge(entry, ref, state, input, {
      journal,
      activeX509,
      activeJwt,
      issuer: trustDomain.spec.jwt.issuer,
      trustDomain: trustDomain.spec.trustDomain,
      identity,
      fraction,
      started: process.hrtime.bigint(),
    }).catch((error: unknown) => {
      if (isUnwritable(error)) return error;
      throw error;
    });
    if (written === 'foreign') return this.#conflict(object, entry);
    if (written instanceof Error) {
      await this.#refuse(
        object,
        EntryReason.SecretUnwritable,
        `Secret ${namespace}/${entry.spec.secret.name} cannot be written (${written.message}); it keeps what it holds, which a revocation names and does not wait for: make it writable (an immutable Secret must be deleted)`,
      );
      return { requeueAfterMs: RECHECK_MS };
    }
    for (const warning of capped) await this.#event(entry, 'Warning', 'TTLCapped', warning);

    const { annotations } = written;
    const renewAt = annotations[ANNOTATION_SVID_RENEW_AT] ?? now.toISOString();
    const notAfter = annotations[ANNOTATION_SVID_NOT_AFTER] ?? now.toISOString();
    this.#options.metrics.setSvidExpiry(key, {
      trustDomain: trustDomain.spec.trustDomain,
      notAfter: new Date(notAfter),
    });
    const authorityId = annotations[ANNOTATION_SVID_AUTHORITY_ID] ?? '';
    await this.#report(
      object,
      ready(
        EntryReason.Issued,
        `${identity.spiffeId} signed by X.509 authority ${authorityId}${capped.length > 0 ? `; ${capped.join('; ')}` : ''}`,
        'True',
      ),
      {
        spiffeID: identity.spiffeId,
        svid: {
          serial: annotations[ANNOTATION_SVID_SERIAL] ?? '',
          authorityID: authorityId,
          notAfter,
          renewAt,
        },
      },
    );
    const writtenInput = { ...input, secret: { ...written, ownedByEntry: true } };
    const wakeAt = Math.min(
      Date.parse(renewAt),
      ...identity.jwtSvids.map((jwt) => jwtRenewalDueAt(writtenInput, jwt)?.getTime() ?? now.getTime()),
    );
    this.#settled.set(key, { fingerprint, wakeAt });
    return { requeueAfterMs: Math.max(0, wakeAt - clock().getTime()) };
  }

  /**
   * Brings the Secret to what the policies ask for, signing only what they say must be signed, and
   * returns its content as it now is. Nothing is written when nothing drifted.
   */
  async #converge(
    entry: SecretModeEntry,
    ref: EntryRef,
    state: SecretState,
    input: IssuanceInput,
    context: IssuanceContext,
  ): Promise<SvidSecretContent | 'foreign'> {
    const { journal, identity, fraction } = context;
    const bundlePem = journal.bundle.pem ?? '';
    const current = state.kind === 'owned' ? state.observed : undefined;
    const currentData = current?.data ?? {};
    const x509Trigger = x509ReissueReason(input);
    const jwtDue = x509Trigger ? new Map<string, ReissueTrigger>() : jwtSvidsToReissue(input);
    const firstIssue = entry.status?.svid === undefined;
    const renewal = { fraction, jitter: RENEWAL_JITTER, random: this.#random };

    let content: SvidSecretContent;
    const signed: { type: 'x509' | 'jwt'; trigger: ReissueTrigger; detail: Record<string, string> }[] = [];
    if (x509Trigger) {
      const svid = await mintX509Svid(this.#options.signers.x509(context.activeX509), {
        spiffeId: identity.spiffeId,
        dnsNames: identity.dnsNames,
        keyType: identity.keyType,
        ttlMs: identity.x509TtlMs,
        now: input.now,
      });
      signed.push({
        type: 'x509',
        trigger: x509Trigger,
        detail: {
          serial: svid.serial,
          signer: svid.authorityId,
          notBefore: svid.notBefore.toISOString(),
          notAfter: svid.notAfter.toISOString(),
        },
      });
      const tokens: Record<string, string> = {};
      for (const jwt of identity.jwtSvids) {
        tokens[jwt.key] = await this.#signJwt(context, jwt, input.now, x509Trigger, signed);
      }
      content = buildSecretData({ identity, svid, bundlePem, jwtSvids: tokens, renewal });
    } else {
      const tokens: Record<string, string> = {};
      for (const jwt of identity.jwtSvids) {
        const trigger = jwtDue.get(jwt.key);
        const kept = currentData[jwt.key];
        tokens[jwt.key] =
          trigger || kept === undefined
            ? await this.#signJwt(
                context,
                jwt,
                input.now,
                trigger ?? { reason: 'JwtMissing', message: `no JWT-SVID ${jwt.key}` },
                signed,
              )
            : String(kept);
      }
      const stale =
        caBundleStale(currentData, bundlePem) ||
        extraDataKeys(currentData, identity).length > 0 ||
        jwtDue.size > 0;
      if (!stale) return { data: toText(currentData), annotations: stringAnnotations(current?.annotations) };
      content = {
        data: withBundle(withJwtSvids(currentData, identity, tokens), bundlePem),
        annotations: stringAnnotations(current?.annotations),
      };
    }

    // Audited as signed, before the write: a signature exists even if the Secret never does.
    for (const { type, trigger, detail } of signed) {
      const cause = issuanceCause(trigger.reason, firstIssue);
      this.#options.audit.signed({
        operation: type === 'x509' ? 'x509-svid' : 'jwt-svid',
        trustDomain: context.trustDomain,
        spiffeId: identity.spiffeId,
        entryUid: ref.uid,
        keyType: type === 'x509' ? identity.keyType : context.activeJwt.algorithm,
        reason: `${cause}: ${trigger.reason}`,
        signer: detail.signer ?? '',
        subject: detail.serial ?? detail.jti ?? '',
        notBefore: detail.notBefore ?? '',
        notAfter: detail.notAfter ?? '',
        for: `RegistrationEntry/${ref.namespace}/${ref.name}`,
      });
    }
    const result = await this.#secrets.write(ref, state, {
      name: entry.spec.secret.name,
      data: content.data,
      labels: entry.spec.secret.labels ?? {},
      annotations: { ...entry.spec.secret.annotations, ...content.annotations },
    });
    if (result === 'foreign') return 'foreign';
    const seconds = Number(process.hrtime.bigint() - context.started) / 1e9;
    for (const { type, trigger } of signed) {
      this.#options.metrics.countIssued(type, issuanceCause(trigger.reason, firstIssue), seconds);
    }
    if (signed.length > 0) {
      const what = signed.some((s) => s.type === 'x509') ? 'X.509-SVID' : 'JWT-SVID';
      const first = signed[0];
      const message = `${what} for ${identity.spiffeId} written to Secret ${entry.spec.secret.name} (${first ? `${issuanceCause(first.trigger.reason, firstIssue)}: ${first.trigger.message}` : ''})`;
      // Renewals recur every few minutes or seconds per entry: aggregated, while the first issue is told at once.
      if (firstIssue) await this.#event(entry, 'Normal', 'Issued', message);
      else await this.#options.events.recordRoutine(involvedObject(entry), 'Renewed', message);
    }
    return content;
  }

  async #signJwt(
    context: IssuanceContext,
    jwt: DesiredIdentity['jwtSvids'][number],
    now: Date,
    trigger: ReissueTrigger,
    signed: { type: 'x509' | 'jwt'; trigger: ReissueTrigger; detail: Record<string, string> }[],
  ): Promise<string> {
    const svid = await mintJwtSvid(this.#options.signers.jwt(context.activeJwt, context.trustDomain), {
      spiffeId: context.identity.spiffeId,
      audiences: jwt.audiences,
      ttlMs: jwt.ttlMs,
      now,
      ...(context.issuer === undefined ? {} : { issuer: context.issuer }),
    });
    signed.push({
      type: 'jwt',
      trigger,
      detail: {
        jti: svid.jti,
        signer: svid.authorityId,
        notBefore: svid.issuedAt.toISOString(),
        notAfter: svid.notAfter.toISOString(),
      },
    });
    return svid.token;
  }

  async #conflict(object: KubeObject, entry: SecretModeEntry): Promise<ReconcileResult> {
    await this.#refuse(
      object,
      EntryReason.SecretConflict,
      `Secret ${entry.metadata.namespace}/${entry.spec.secret.name} exists and does not belong to this RegistrationEntry; Trustline leaves it alone: delete it or choose another spec.secret.name`,
    );
    return { requeueAfterMs: RECHECK_MS };
  }

  /**
   * Refuses an entry whose TrustDomain may not issue to its namespace (a losing object, or a namespace
   * outside the issuance selector), and says whether it did.
   */
  async #refusedIssuance(object: KubeObject, namespace: string, trustDomain: TrustDomain): Promise<boolean> {
    const refusal = issuanceRefusal(this.#options, namespace, trustDomain);
    if (refusal) await this.#refuse(object, refusal.reason, refusal.message);
    return refusal !== undefined;
  }

  /**
   * The reason to give an entry whose trust domain cannot issue now: TrustDomainNotReady keeps the
   * SVID, unless a revocation that no longer waits is cutting off the authority that signed it.
   */
  #abandoned(ref: EntryRef, entry: SecretModeEntry, journal: Journal | undefined): string {
    const state = this.#secrets.state(ref, entry.spec.secret.name);
    if (journal === undefined || state.kind !== 'owned') return EntryReason.TrustDomainNotReady;
    // A Secret already withdrawn keeps its reason: the signers it held are remembered apart.
    const signers = [
      ...svidSigners({ ...state.observed, jwtKeys: (entry.spec.jwtSVIDs ?? []).map((jwt) => jwt.key) }),
      ...withdrawnSigners(state.observed.annotations),
    ];
    const cut = abandonedSigners(journal, this.#options.now());
    return signers.some((id) => cut.has(id)) ? EntryReason.AuthorityRevoked : EntryReason.TrustDomainNotReady;
  }

  /**
   * Reports a refusal: status, and an event when the reason is new. The identity is no longer allowed
   * for every reason but a few transient ones, so a Secret-mode entry's SVID is withdrawn with it.
   */
  async #refuse(object: KubeObject, reason: string, message: string): Promise<void> {
    const entry = registrationEntrySchema.safeParse(object);
    const withdrawal =
      entry.success && isSecretMode(entry.data) && !REFUSALS_KEEPING_SVID.has(reason)
        ? await this.#withdraw(entry.data, reason)
        : undefined;
    const said = withdrawal === undefined ? message : `${message}; ${withdrawal}`;
    const changed = await this.#report(object, ready(reason, said));
    if (changed && entry.success) await this.#event(entry.data, 'Warning', reason, said);
  }

  /**
   * Takes the SVID out of the entry's Secret, keeping its bundle current, and says what happened;
   * undefined when the Secret holds nothing of this entry's.
   */
  async #withdraw(entry: SecretModeEntry, reason: string): Promise<string | undefined> {
    const namespace = entry.metadata.namespace ?? '';
    const ref: EntryRef = { namespace, name: entry.metadata.name, uid: entry.metadata.uid ?? '' };
    const name = entry.spec.secret.name;
    const state = this.#secrets.state(ref, name);
    if (state.kind !== 'owned') return undefined;
    const content = withdrawnSecretContent({
      secret: state.observed,
      jwtKeys: (entry.spec.jwtSVIDs ?? []).map((jwt) => jwt.key),
      reason,
      bundlePem: this.#bundleOf(entry),
    });
    const done = `the SVID was withdrawn from Secret ${namespace}/${name}`;
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
      return `Secret ${namespace}/${name} cannot be written (${error.message}), so it still holds the SVID: delete the Secret`;
    }
    this.#options.metrics.setSvidExpiry(`${namespace}/${entry.metadata.name}`, undefined);
    await this.#event(entry, 'Warning', 'SVIDWithdrawn', `${done} (${reason})`);
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

  #event(
    entry: RegistrationEntry,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    return this.#options.events.record(involvedObject(entry), type, reason, message);
  }

  #report(
    object: KubeObject,
    condition: DesiredCondition,
    fields: Record<string, unknown> = {},
  ): Promise<boolean> {
    return writeStatus(this.#options.client, resource, object, fields, [condition], this.#options.now());
  }
}

const involvedObject = (entry: RegistrationEntry) => ({
  apiVersion: entry.apiVersion,
  kind: entry.kind,
  metadata: entry.metadata,
});

interface IssuanceContext {
  journal: Journal;
  activeX509: X509Authority;
  activeJwt: JwtAuthority;
  issuer: string | undefined;
  trustDomain: string;
  identity: DesiredIdentity;
  fraction: number;
  started: bigint;
}

const toText = (data: Readonly<Record<string, string | Buffer | undefined>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(data).flatMap(([key, value]) => (value === undefined ? [] : [[key, String(value)]])),
  );

const stringAnnotations = (annotations: Readonly<Record<string, string | undefined>> | undefined) =>
  Object.fromEntries(
    Object.entries(annotations ?? {}).flatMap(([key, value]) => (value === undefined ? [] : [[key, value]])),
  );

/** A pod entry's own limits breaches: the kubelet's key type is judged per request, by the signer. */
function podEntryLimits(entry: PodModeEntry, trustDomain: TrustDomain) {
  const { keyType } = entry.spec.x509;
  const keyRefusal =
    keyType === undefined ? undefined : keyTypeRefusal(keyType, trustDomain.spec, 'x509.keyType asks for');
  if (keyRefusal) return keyRefusal;
  const lifetime = x509Lifetime(entry.spec, trustDomain.spec);
  return isRefusal(lifetime) ? lifetime : undefined;
}
