import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningControlPlane } from '../hack/controlplane/cluster.ts';
import { API_VERSION } from '../src/api/group.ts';
import { registrationEntryKind } from '../src/api/registrationentry.ts';
import { trustDomainKind } from '../src/api/trustdomain.ts';
import {
  ANNOTATION_SVID_NOT_AFTER,
  ANNOTATION_SVID_SERIAL,
  LABEL_MANAGED_BY,
  MANAGED_BY_TRUSTLINE,
} from '../src/api/well-known.ts';
import { Informer } from '../src/kube/informer.ts';
import { collectionPath, coreResources, trustlineResource } from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { createLogger } from '../src/observability/logger.ts';
import type { EventLoopDelay } from '../test/fixtures/event-loop-delay.ts';
import { formatEventLoopDelay } from './event-loop.ts';
import { OperatorExited, startRun, until } from './operator.ts';

/** Entries that each re-key every ~5 s (renewal at half of a 10 s lifetime): a tenant at the TTL floor. */
const CHURN_ENTRIES = 5;
const CHURN_SECONDS = 60;

export interface ChurnBench {
  /** X.509-SVIDs re-issued during the window. */
  renewals?: number;
  /** Of those, how many came after the SVID they replaced had expired. */
  late?: number;
  eventLoop?: EventLoopDelay;
  aborted?: { phase: string; reason: string };
}

/**
 * A minute of RSA-4096 churn: entries with `keyType: RSA-4096` and a 10 s TTL, under a TrustDomain whose
 * CA lives an hour, each re-keyed about every five seconds. The operator's event-loop delay is read over
 * the minute after every entry's first SVID, and whether it kept its Lease.
 */
export async function measureChurn(
  client: RestClient,
  controlPlane: RunningControlPlane,
  log: (message: string) => void,
): Promise<ChurnBench> {
  const run = `churn-${Date.now().toString(36)}`;
  const post = (path: string, body: unknown) => client.request('POST', path, { body });
  const { operator, namespace } = await startRun(client, controlPlane, run, log);
  const serials = new Map<string, { serial: string; notAfter: number }>();
  let counting = false;
  const counts = { renewals: 0, late: 0 };
  const secrets = new Informer(client, {
    resource: { ...coreResources.secrets },
    namespace,
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}`,
    log: createLogger('warn'),
    onChange: (change, object) => {
      const serial = object.metadata.annotations?.[ANNOTATION_SVID_SERIAL];
      const notAfter = Date.parse(object.metadata.annotations?.[ANNOTATION_SVID_NOT_AFTER] ?? '');
      if (change === 'deleted' || serial === undefined) return;
      const previous = serials.get(object.metadata.name);
      if (previous?.serial === serial) return;
      if (counting && previous) {
        counts.renewals += 1;
        if (previous.notAfter < Date.now()) counts.late += 1;
      }
      serials.set(object.metadata.name, { serial, notAfter });
    },
  });
  const result: ChurnBench = {};
  let phase = () => `the first SVIDs of ${CHURN_ENTRIES} RSA-4096 entries`;
  try {
    await secrets.start();
    await post(collectionPath(trustlineResource(trustDomainKind)), {
      apiVersion: API_VERSION,
      kind: 'TrustDomain',
      metadata: { name: run },
      spec: {
        trustDomain: `${run}.example.org`,
        ca: { ttl: '1h' },
        // The default (1h) would be over a sixth of the CA's lifetime: LifetimeTooShort.
        svid: { x509TTL: '10m' },
        bundle: { namespaceSelector: { matchLabels: { bench: run } } },
      },
    });
    for (let i = 0; i < CHURN_ENTRIES; i += 1) {
      await post(collectionPath(trustlineResource(registrationEntryKind), namespace), {
        apiVersion: API_VERSION,
        kind: 'RegistrationEntry',
        metadata: { name: `churn-${i}` },
        spec: {
          trustDomainRef: { name: run },
          spiffeIDPath: `/ns/${namespace}/sa/churn-${i}`,
          secret: { name: `churn-${i}-svid` },
          x509: { keyType: 'RSA-4096', ttl: '10s' },
        },
      });
    }
    await until(`${CHURN_ENTRIES} RSA-4096 SVIDs`, async () => {
      operator.assertRunning();
      return serials.size === CHURN_ENTRIES;
    });
    log(`${CHURN_SECONDS} s of RSA-4096 churn (${CHURN_ENTRIES} entries, ttl 10s)`);
    await operator.eventLoopDelay();
    counting = true;
    const started = Date.now();
    const end = started + CHURN_SECONDS * 1000;
    phase = () => `${((Date.now() - started) / 1000).toFixed(1)} s into ${CHURN_SECONDS} s of RSA-4096 churn`;
    while (Date.now() < end) {
      operator.assertRunning();
      await sleep(500);
    }
    result.eventLoop = await operator.eventLoopDelay();
    return { ...result, ...counts };
  } catch (error) {
    if (!(error instanceof OperatorExited)) throw error;
    log(`${phase()}: ${error.message}`);
    return { ...result, ...counts, aborted: { phase: phase(), reason: error.message } };
  } finally {
    await secrets.stop();
    await operator.stop();
  }
}

export function reportChurn({ renewals, late, eventLoop, aborted }: ChurnBench): string[] {
  return [
    ...(eventLoop
      ? [
          `operator event-loop delay over ${CHURN_SECONDS} s of RSA-4096 churn (${CHURN_ENTRIES} entries, ttl 10s, CA ttl 1h): ${formatEventLoopDelay(eventLoop)}; ${renewals} SVIDs re-keyed, ${late} after their predecessor expired; the leader kept its Lease`,
        ]
      : []),
    ...(aborted
      ? [
          `ABORTED during ${aborted.phase}: ${aborted.reason} (${renewals ?? 0} SVIDs re-keyed before, ${late ?? 0} late)`,
        ]
      : []),
  ];
}
