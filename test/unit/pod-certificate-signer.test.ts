import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, SIGNER_DOMAIN } from '../../src/api/group.ts';
import { isPodMode, registrationEntrySchema } from '../../src/api/registrationentry.ts';
import { trustDomainSchema } from '../../src/api/trustdomain.ts';
import { asPodEntry } from '../../src/controllers/podcertificate/pods.ts';
import { PodCertificateSigner } from '../../src/controllers/podcertificate/signer.ts';
import { SignerCache } from '../../src/controllers/signer-cache.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import { emptyJournal, type Journal, type X509Authority } from '../../src/core/authorities/model.ts';
import {
  type AuthoritySigner,
  NOT_READY_RETRY_MS,
  type ObservedSigner,
  type PodCertificateObservation,
  planPodCertificate,
  type X509Template,
} from '../../src/core/podcert/plan.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import { type KubeObject, objectKey } from '../../src/kube/informer.ts';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const SIGNER = `${SIGNER_DOMAIN}/prod`;
const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
const pkixPublicKey = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

const trustDomainObject = {
  apiVersion: API_VERSION,
  kind: 'TrustDomain',
  metadata: { name: 'prod', uid: 'td-uid', creationTimestamp: '2030-01-01T00:00:00Z' },
  spec: { trustDomain: 'prod.example.org' },
};
const entryObject = {
  apiVersion: API_VERSION,
  kind: 'RegistrationEntry',
  metadata: {
    name: 'api',
    namespace: 'payments',
    uid: 'entry-uid',
    creationTimestamp: '2030-01-01T00:00:00Z',
  },
  spec: {
    trustDomainRef: { name: 'prod' },
    spiffeIDPath: '/ns/payments/sa/{serviceAccount}',
    workloadSelector: { serviceAccountName: 'api' },
  },
};
const podObject = {
  metadata: { name: 'api-1', namespace: 'payments', uid: 'pod-uid' },
  spec: {
    serviceAccountName: 'api',
    nodeName: 'node-1',
    volumes: [{ projected: { sources: [{ podCertificate: { signerName: SIGNER } }] } }],
  },
};
const requestObject = (spec: Record<string, unknown> = {}, status?: Record<string, unknown>) => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'PodCertificateRequest',
  metadata: { name: 'api-1-req', namespace: 'payments', creationTimestamp: '2030-06-01T11:59:58Z' },
  spec: {
    signerName: SIGNER,
    podName: 'api-1',
    podUID: 'pod-uid',
    serviceAccountName: 'api',
    serviceAccountUID: 'sa-uid',
    nodeName: 'node-1',
    maxExpirationSeconds: 86_400,
    pkixPublicKey,
    ...spec,
  },
  ...(status ? { status } : {}),
});

let authority: X509Authority;
let journal: Journal;
beforeAll(async () => {
  const minted = await mintX509Authority({
    trustDomain: 'prod.example.org',
    keyType: 'EC-P256',
    now: NOW,
    ttlMs: 24 * HOUR,
  });
  authority = { ...minted, state: 'Active' };
  journal = { ...emptyJournal('prod.example.org'), authorities: [authority] };
});

// ---------------------------------------------------------------------------------------------------
// The planner
// ---------------------------------------------------------------------------------------------------

/** A signer that signs nothing: it keeps what it was asked for. */
function recordingSigner(): AuthoritySigner & { asked: X509Template[] } {
  const asked: X509Template[] = [];
  return {
    asked,
    signX509: async (by, template) => {
      asked.push(template);
      return {
        certificate: 'LEAF\n',
        chain: ['ROOT\n'],
        serial: '0abc',
        notBefore: template.notBefore,
        notAfter: template.notAfter,
        authorityId: by.id,
        keyType: template.keyType,
      };
    },
  };
}

function observation(
  overrides: Partial<PodCertificateObservation> = {},
  signer: Partial<ObservedSigner> = {},
) {
  const request = requestObject();
  const entry = registrationEntrySchema.parse(entryObject);
  const base: PodCertificateObservation = {
    request: { namespace: 'payments', name: request.metadata.name, spec: request.spec },
    signer: {
      trustDomain: trustDomainSchema.parse(trustDomainObject),
      refusal: undefined,
      entries: () => (isPodMode(entry) ? [asPodEntry(entry)] : []),
      claim: () => ({ allowed: true }),
      journal,
      ...signer,
    },
    pod: async () => ({
      facts: {
        namespace: 'payments',
        name: 'api-1',
        uid: 'pod-uid',
        serviceAccountName: 'api',
        labels: {},
        userAnnotations: {},
        mountsSigner: true,
      },
      nodeName: 'node-1',
      deletionTimestamp: undefined,
    }),
    serviceAccountUid: async () => 'sa-uid',
    now: NOW,
    random: () => 0.5,
  };
  return { ...base, ...overrides };
}

describe('planPodCertificate', () => {
  it('plans the X.509-SVID of the selected entry for the kubelet key, with its audit record', async () => {
    const signer = recordingSigner();
    const plan = await planPodCertificate(observation(), signer);
    expect(signer.asked).toHaveLength(1);
    expect(signer.asked[0]).toMatchObject({
      spiffeId: 'spiffe://prod.example.org/ns/payments/sa/api',
      keyType: 'EC-P256',
    });
    expect(signer.asked[0]?.spki.toString('base64')).toBe(pkixPublicKey);
    if (!('outcome' in plan) || plan.outcome !== 'Issued')
      throw new Error(`expected Issued, got ${JSON.stringify(plan)}`);
    expect(plan.status.certificateChain).toBe('LEAF\nROOT\n');
    expect(plan.audit).toMatchObject({
      operation: 'x509-svid',
      entryUid: 'entry-uid',
      signer: authority.id,
      subject: '0abc',
      for: 'PodCertificateRequest/payments/api-1-req',
    });
  });

  it('denies UnknownSigner without reading the pod when no TrustDomain answers', async () => {
    let podRead = false;
    const plan = await planPodCertificate(
      observation({
        signer: undefined,
        pod: async () => {
          podRead = true;
          return undefined;
        },
      }),
      recordingSigner(),
    );
    expect(plan).toMatchObject({ outcome: 'Denied', reason: 'UnknownSigner' });
    expect(podRead).toBe(false);
  });

  it('passes an issuance refusal on as the denial', async () => {
    const refusal = { reason: 'NamespaceNotSelected' as const, message: 'not selected' };
    expect(await planPodCertificate(observation({}, { refusal }), recordingSigner())).toEqual({
      outcome: 'Denied',
      ...refusal,
    });
  });

  it('denies PodNotFound, and PodMismatch for a pod whose ServiceAccount UID differs', async () => {
    const missing = await planPodCertificate(observation({ pod: async () => undefined }), recordingSigner());
    expect(missing).toMatchObject({ outcome: 'Denied', reason: 'PodNotFound' });
    const other = await planPodCertificate(
      observation({ serviceAccountUid: async () => 'other' }),
      recordingSigner(),
    );
    expect(other).toMatchObject({ outcome: 'Denied', reason: 'PodMismatch' });
  });

  it('denies NoMatchingEntry when no entry selects the pod', async () => {
    const plan = await planPodCertificate(observation({}, { entries: () => [] }), recordingSigner());
    expect(plan).toMatchObject({ outcome: 'Denied', reason: 'NoMatchingEntry' });
  });

  it('fails MalformedRequest for a key that does not parse', async () => {
    const request = requestObject({ pkixPublicKey: Buffer.from('garbage').toString('base64') });
    const plan = await planPodCertificate(
      observation({ request: { namespace: 'payments', name: 'r', spec: request.spec } }),
      recordingSigner(),
    );
    expect(plan).toMatchObject({ outcome: 'Failed', reason: 'MalformedRequest' });
  });

  it('looks again, signing nothing, while the namespace is not cached or no authority is active', async () => {
    const notCached = { allowed: false as const, rule: 'NamespaceNotCached' as const, message: 'later' };
    const signer = recordingSigner();
    const retry = { retryAfterMs: NOT_READY_RETRY_MS };
    expect(await planPodCertificate(observation({}, { claim: () => notCached }), signer)).toEqual(retry);
    expect(await planPodCertificate(observation({}, { journal: undefined }), signer)).toEqual(retry);
    const prepared = { ...journal, authorities: [{ ...authority, state: 'Prepared' as const }] };
    expect(await planPodCertificate(observation({}, { journal: prepared }), signer)).toEqual(retry);
    expect(signer.asked).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The signer controller, over in-memory caches and a recording client
// ---------------------------------------------------------------------------------------------------

const cache = (objects: KubeObject[]) => ({
  get: (key: string) => objects.find((object) => objectKey(object) === key),
  list: () => objects,
  byNamespace: (namespace: string) => objects.filter((object) => object.metadata.namespace === namespace),
});

function signerWith(request: KubeObject, { rejectStatus = false } = {}) {
  const log: string[] = [];
  const writes: { path: string; status: Record<string, unknown> }[] = [];
  const client = {
    request: async (method: string, path: string, options: { body?: unknown } = {}) => {
      log.push(`${method} ${path}`);
      if (method === 'GET' && path.includes('/serviceaccounts/')) return { metadata: { uid: 'sa-uid' } };
      const body = options.body;
      if (method === 'PUT' && typeof body === 'object' && body !== null && 'status' in body) {
        const status = body.status;
        if (typeof status !== 'object' || status === null) throw new Error('a status write without a status');
        writes.push({ path, status: { ...status } });
        if (rejectStatus && 'certificateChain' in status) throw new KubeApiError(422, 'Invalid', 'rejected');
      }
      return {};
    },
  };
  const outcomes: string[] = [];
  const signer = new PodCertificateSigner({
    client,
    resource: {
      group: 'certificates.k8s.io',
      version: 'v1',
      plural: 'podcertificaterequests',
      namespaced: true,
    },
    requests: cache([request]),
    pods: cache([podObject]),
    entries: cache([entryObject]),
    trustDomains: cache([trustDomainObject]),
    namespaces: cache([{ metadata: { name: 'payments' } }]),
    journals: { get: () => journal },
    signers: new SignerCache(),
    clusterDomain: 'cluster.local',
    log: pino({ level: 'silent' }),
    now: () => NOW,
    random: () => 0.5,
    metrics: { countPodCertificate: (outcome) => outcomes.push(outcome) },
    audit: { signed: (record) => log.push(`audit ${record.spiffeId}`) },
    events: {
      record: async (_object, type, reason) => {
        log.push(`event ${type} ${reason}`);
      },
    },
  });
  return { signer, log, writes, outcomes };
}

describe('PodCertificateSigner', () => {
  const key = 'payments/api-1-req';
  const statusPath =
    '/apis/certificates.k8s.io/v1/namespaces/payments/podcertificaterequests/api-1-req/status';

  it('issues in one status write, audited before it, with a chain for the kubelet key', async () => {
    const { signer, log, writes, outcomes } = signerWith(requestObject());
    expect(await signer.reconcile(key)).toBeUndefined();
    expect(log).toEqual([
      'GET /api/v1/namespaces/payments/serviceaccounts/api',
      'audit spiffe://prod.example.org/ns/payments/sa/api',
      `PUT ${statusPath}`,
    ]);
    const chain = String(writes[0]?.status.certificateChain);
    const leaf = new X509Certificate(
      `${chain.split('-----END CERTIFICATE-----')[0]}-----END CERTIFICATE-----`,
    );
    expect(leaf.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(pkixPublicKey);
    expect(leaf.subjectAltName).toBe('URI:spiffe://prod.example.org/ns/payments/sa/api');
    expect(outcomes).toEqual(['Issued']);
  });

  it('denies a request for a signer no TrustDomain answers for, with a Warning event, reading nothing', async () => {
    const { signer, log, writes, outcomes } = signerWith(
      requestObject({ signerName: `${SIGNER_DOMAIN}/other` }),
    );
    await signer.reconcile(key);
    expect(log).toEqual([`PUT ${statusPath}`, 'event Warning UnknownSigner']);
    expect(writes[0]?.status.conditions).toMatchObject([
      { type: 'Denied', reason: 'UnknownSigner', status: 'True' },
    ]);
    expect(outcomes).toEqual(['Denied']);
  });

  it('marks the request Failed when the apiserver refuses the issued status', async () => {
    const { signer, writes, outcomes } = signerWith(requestObject(), { rejectStatus: true });
    await signer.reconcile(key);
    expect(writes.map((write) => write.status.conditions)).toMatchObject([
      [{ type: 'Issued' }],
      [{ type: 'Failed', reason: 'StatusRejected' }],
    ]);
    expect(outcomes).toEqual(['Failed']);
  });

  it('leaves a settled request and another signer alone', async () => {
    const settled = signerWith(requestObject({}, { conditions: [{ type: 'Denied', status: 'True' }] }));
    await settled.signer.reconcile(key);
    const foreign = signerWith(requestObject({ signerName: 'example.com/other' }));
    await foreign.signer.reconcile(key);
    expect([...settled.log, ...foreign.log]).toEqual([]);
  });
});
