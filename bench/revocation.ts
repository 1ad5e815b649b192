import { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { API_VERSION } from '../src/api/group.ts';
import { keyRevocationKind, keyRevocationSchema } from '../src/api/keyrevocation.ts';
import {
  ANNOTATION_SVID_AUTHORITY_ID,
  BUNDLE_PEM_KEY,
  JOURNAL_KEY,
  LABEL_MANAGED_BY,
  MANAGED_BY_TRUSTLINE,
} from '../src/api/well-known.ts';
import { decodeJournal, journalSecretName } from '../src/core/authorities/journal-codec.ts';
import { activeAuthority } from '../src/core/authorities/lifecycle.ts';
import { Informer } from '../src/kube/informer.ts';
import { collectionPath, coreResources, objectPath, trustlineResource } from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { createLogger } from '../src/observability/logger.ts';

export interface RevocationBench {
  /** SVID Secrets signed by the revoked authority when the KeyRevocation was created. */
  affected: number;
  /** From the KeyRevocation's creation until no Secret holds an SVID the key signed. */
  reissuedMs: number;
  /** Until the bundle ConfigMap no longer holds the key. */
  goneMs: number;
  /** Until the KeyRevocation reports Revoked. */
  revokedMs: number;
}

export interface RevocationTarget {
  trustDomainObject: string;
  trustDomain: string;
  operatorNamespace: string;
  /** Where the SVID Secrets and a bundle ConfigMap live. */
  namespace: string;
  /** The SVID Secrets are spread over many namespaces: watch them in all. */
  everyNamespace?: boolean;
  bundleConfigMap: string;
  /** How long to wait for Revoked; 300 s unless set. */
  timeoutMs?: number;
  /** Throws once the operator is gone, so a dead operator ends the wait at once. */
  assertRunning: () => void;
}

/** The revocation did not finish in time: what it reached, and how many SVIDs the key still signed. */
export class RevocationUnfinished extends Error {
  readonly affected: number;
  readonly remaining: number;
  readonly times: Partial<Record<'reissued' | 'gone' | 'revoked', number>>;

  constructor(seconds: number, progress: Pick<RevocationUnfinished, 'affected' | 'remaining' | 'times'>) {
    super(`the revocation did not finish in ${seconds} s: ${JSON.stringify(progress.times)}`);
    this.affected = progress.affected;
    this.remaining = progress.remaining;
    this.times = progress.times;
  }
}

const secretSchema = z.object({ data: z.record(z.string(), z.string()) });
const configMapSchema = z.object({ data: z.record(z.string(), z.string()).optional() });

const derOf = (pem: string) =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) =>
    new X509Certificate(block).raw.toString('base64'),
  );

/**
 * Revokes the active X.509 authority of a trust domain whose entries are all issued, with no grace
 * period, and times the steps a security engineer waits for: every SVID re-issued, the key out of the
 * bundle, the KeyRevocation Revoked.
 */
export async function measureRevocation(
  client: RestClient,
  target: RevocationTarget,
): Promise<RevocationBench> {
  const journalSecret = secretSchema.parse(
    await client.request(
      'GET',
      objectPath(coreResources.secrets, journalSecretName(target.trustDomain), target.operatorNamespace),
    ),
  );
  const journal = decodeJournal(
    Buffer.from(journalSecret.data[JOURNAL_KEY] ?? '', 'base64').toString('utf8'),
    target.trustDomain,
  );
  const authority = activeAuthority(journal, 'X509');
  if (!authority) throw new Error(`trust domain ${target.trustDomain} has no active X.509 authority`);
  const [targetDer] = derOf(authority.certificate);

  const signers = new Map<string, string | undefined>();
  const secrets = new Informer(client, {
    resource: { ...coreResources.secrets },
    namespace: target.everyNamespace ? undefined : target.namespace,
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}`,
    log: createLogger('warn'),
    onChange: (change, object) => {
      if (change === 'deleted') signers.delete(object.metadata.name);
      else signers.set(object.metadata.name, object.metadata.annotations?.[ANNOTATION_SVID_AUTHORITY_ID]);
    },
  });
  await secrets.start();
  try {
    const affected = [...signers.values()].filter((id) => id === authority.id).length;
    const name = `bench-revoke-${Date.now().toString(36)}`;
    const start = performance.now();
    await client.request('POST', collectionPath(trustlineResource(keyRevocationKind)), {
      body: {
        apiVersion: API_VERSION,
        kind: keyRevocationKind.kind,
        metadata: { name },
        spec: {
          trustDomainRef: { name: target.trustDomainObject },
          authority: { kind: 'X509', id: authority.id },
          reason: 'KeyCompromise',
          gracePeriod: '0s',
        },
      },
    });
    const times: Partial<Record<'reissued' | 'gone' | 'revoked', number>> = {};
    const timeoutMs = target.timeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    while (times.reissued === undefined || times.gone === undefined || times.revoked === undefined) {
      target.assertRunning();
      if (Date.now() > deadline) {
        const remaining = [...signers.values()].filter((id) => id === authority.id).length;
        throw new RevocationUnfinished(timeoutMs / 1000, { affected, remaining, times });
      }
      const elapsed = performance.now() - start;
      if (times.reissued === undefined && ![...signers.values()].includes(authority.id))
        times.reissued = elapsed;
      if (times.gone === undefined) {
        const bundle = configMapSchema.parse(
          await client.request(
            'GET',
            objectPath(coreResources.configMaps, target.bundleConfigMap, target.namespace),
          ),
        );
        if (!derOf(bundle.data?.[BUNDLE_PEM_KEY] ?? '').includes(targetDer ?? '')) times.gone = elapsed;
      }
      if (times.revoked === undefined) {
        const revocation = keyRevocationSchema.parse(
          await client.request('GET', objectPath(trustlineResource(keyRevocationKind), name)),
        );
        if (revocation.status?.phase === 'Revoked') times.revoked = elapsed;
      }
      await sleep(50);
    }
    return { affected, reissuedMs: times.reissued, goneMs: times.gone, revokedMs: times.revoked };
  } finally {
    await secrets.stop();
  }
}

export function reportRevocation({ affected, reissuedMs, goneMs, revokedMs }: RevocationBench): string[] {
  const s = (value: number) => `${(value / 1000).toFixed(1)} s`;
  return [
    `KeyRevocation of the active X.509 authority (grace 0) over ${affected} SVIDs: every SVID re-issued after ${s(reissuedMs)}, key gone from the bundle after ${s(goneMs)}, KeyRevocation Revoked after ${s(revokedMs)}`,
  ];
}
