import { API_VERSION } from '../../api/group.ts';
import { keyRevocationKind } from '../../api/keyrevocation.ts';
import {
  type KeyRevocationPlan,
  type KeyRevocationSource,
  planKeyRevocation,
  type Reported,
  reportedIn,
} from '../../core/revocation/plan.ts';
import type { PodCertificateRecord } from '../../core/revocation/pod-certificates.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { KubeObject } from '../../kube/informer.ts';
import type { ReconcileResult } from '../../kube/workqueue.ts';
import type { AuditLog } from '../../observability/audit.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { StatusWriter } from '../status-writer.ts';
import { svidSignersOf } from '../svid-inventory.ts';
import { type CacheView, type JournalView, requestOf, trustDomainView } from './context.ts';

export interface KeyRevocationControllerOptions {
  /** Writes KeyRevocation status. */
  writeStatus: StatusWriter;
  keyRevocations: CacheView;
  trustDomains: CacheView;
  registrationEntries: CacheView;
  /** Secrets in the operator's namespace: upstream CAs. */
  secrets: CacheView;
  svidSecrets: (namespace: string) => Pick<CacheView, 'get'> | undefined;
  /** Certificates issued to PodCertificateRequests, where the cluster serves them. */
  podCertificates?: { of(signerName: string): Promise<PodCertificateRecord[]> } | undefined;
  journals: JournalView;
  operatorNamespace: string;
  now: () => Date;
  metrics: Pick<Metrics, 'observeRevocation'>;
  audit: Pick<AuditLog, 'revocation'>;
  events: Pick<EventRecorder, 'record'>;
}

/**
 * Reports a KeyRevocation: whether it is accepted or refused and why, and how far the TrustDomain
 * controller, which alone writes the journal, has carried it out. It changes no key itself.
 */
export class KeyRevocationReconciler {
  readonly #options: KeyRevocationControllerOptions;
  readonly #source: KeyRevocationSource;
  /**
   * By object key, for the uid it was written for. The cache may not show this controller's last status write yet; without this a quick
   * second reconcile would repeat the events, audit records and duration samples.
   */
  readonly #reported = new Map<string, Reported & { uid: string | undefined }>();

  constructor(options: KeyRevocationControllerOptions) {
    this.#options = options;
    const { registrationEntries, svidSecrets, podCertificates, operatorNamespace, now } = options;
    this.#source = {
      request: requestOf,
      trustDomain: (reference) => trustDomainView(options, reference, operatorNamespace, now()),
      svids: (reference) => svidSignersOf(registrationEntries, svidSecrets, reference),
      podCertificates: async (signerName) => (await podCertificates?.of(signerName)) ?? [],
    };
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult> => {
    const object = this.#options.keyRevocations.get(key);
    if (!object) {
      this.#reported.delete(key);
      return undefined;
    }
    const plan = await planKeyRevocation({
      object,
      previous: this.#previous(object),
      source: this.#source,
      now: this.#options.now(),
    });
    await this.#apply(object, plan);
    return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
  };

  #previous(object: KubeObject): Reported {
    const memo = this.#reported.get(object.metadata.name);
    return memo && memo.uid === object.metadata.uid ? memo : reportedIn(object.status);
  }

  /** Audit first, then the one status write; events and durations only when status changed. */
  async #apply(object: KubeObject, plan: KeyRevocationPlan): Promise<void> {
    const { view } = plan;
    if (view === undefined) return;
    const { writeStatus, now, events, audit, metrics } = this.#options;
    if (plan.audit) audit.revocation(plan.audit);
    const changed = await writeStatus(object, { phase: view.phase, ...view.fields }, [view.condition], now());
    this.#reported.set(object.metadata.name, { uid: object.metadata.uid, ...plan.reported });
    if (!changed) return;
    const involved = { apiVersion: API_VERSION, kind: keyRevocationKind.kind, metadata: object.metadata };
    for (const event of plan.events) await events.record(involved, event.type, event.reason, event.message);
    for (const { step, labels, seconds } of plan.durations) metrics.observeRevocation(step, labels, seconds);
  }
}
