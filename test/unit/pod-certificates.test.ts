import { generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../src/api/meta.ts';
import { USER_ANNOTATION_ENTRY } from '../../src/api/well-known.ts';
import { mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { X509Authority } from '../../src/core/authorities/model.ts';
import { x509 } from '../../src/core/authorities/x509.ts';
import {
  clusterTrustBundleName,
  type PublishedTrustBundle,
  planTrustBundle,
} from '../../src/core/bundle/cluster-trust-bundle.ts';
import {
  type PodKeyType,
  RequestKeyError,
  requestKey,
  SIGNABLE_KEY_TYPES,
} from '../../src/core/podcert/public-key.ts';
import {
  chooseEntry,
  fillPath,
  type PodEntry,
  type PodFacts,
  podEntryView,
  type SelectablePod,
  selectsPod,
} from '../../src/core/podcert/selection.ts';
import { podCertificateValidity, type ValidityInput } from '../../src/core/podcert/validity.ts';
import { prepareX509Signer, signX509Svid, type X509SvidSigner } from '../../src/core/svid/x509-svid.ts';
import { failure } from './expectations.ts';

const NOW = new Date('2030-06-01T12:00:00.750Z');
/** NOW backdated ten seconds, down to the whole second. */
const NOT_BEFORE = new Date('2030-06-01T11:59:50.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------------------------------

const pod = (overrides: Partial<PodFacts> = {}): PodFacts => ({
  namespace: 'payments',
  name: 'api-7f9c',
  uid: 'uid-api-7f9c',
  serviceAccountName: 'api',
  labels: { app: 'api', tier: 'backend' },
  ...overrides,
});

const entry = (
  name: string,
  creationTimestamp: string,
  workloadSelector: PodEntry['workloadSelector'],
): PodEntry => ({ name, creationTimestamp, workloadSelector });

const names = (entries: readonly PodEntry[]) => entries.map((e) => e.name);

/** The entry a choice settled on, or a failure naming the denial. */
function chosen(choice: ReturnType<typeof chooseEntry>): { entry: string; alsoSelecting: string[] } {
  if ('denied' in choice) throw new Error(`expected an entry, got ${choice.denied}: ${choice.message}`);
  return { entry: choice.entry.name, alsoSelecting: names(choice.alsoSelecting) };
}

/** The denial of a choice, or a failure naming the entry chosen. */
function denial(choice: ReturnType<typeof chooseEntry>): { denied: string; message: string } {
  if ('entry' in choice) throw new Error(`expected a denial, got entry ${choice.entry.name}`);
  return choice;
}

describe('chooseEntry', () => {
  const oldest = entry('zz-oldest-by-age', '2030-05-01T00:00:00Z', { serviceAccountName: 'api' });
  const middle = entry('aa-middle', '2030-05-02T00:00:00Z', { podSelector: { matchLabels: { app: 'api' } } });
  const youngest = entry('mm-youngest', '2030-05-03T00:00:00Z', { serviceAccountName: 'api' });
  const olderButElsewhere = entry('a-other-sa', '2030-04-01T00:00:00Z', { serviceAccountName: 'billing' });

  it('gives the pod the oldest selecting entry, whatever order the entries come in', () => {
    for (const entries of [
      [oldest, middle, youngest, olderButElsewhere],
      [youngest, olderButElsewhere, middle, oldest],
      [middle, youngest, oldest, olderButElsewhere],
    ]) {
      expect(chosen(chooseEntry(pod(), entries))).toEqual({
        entry: 'zz-oldest-by-age',
        alsoSelecting: ['aa-middle', 'mm-youngest'],
      });
    }
  });

  it('never picks or lists an older entry that does not select the pod', () => {
    const choice = chosen(chooseEntry(pod(), [olderButElsewhere, youngest]));
    expect(choice).toEqual({ entry: 'mm-youngest', alsoSelecting: [] });
  });

  it('decides between entries created in the same second by name', () => {
    const sameTime = '2030-05-01T00:00:00Z';
    const beta = entry('beta', sameTime, { serviceAccountName: 'api' });
    const alpha = entry('alpha', sameTime, { serviceAccountName: 'api' });
    expect(chosen(chooseEntry(pod(), [beta, alpha]))).toEqual({ entry: 'alpha', alsoSelecting: ['beta'] });
    expect(chosen(chooseEntry(pod(), [alpha, beta]))).toEqual({ entry: 'alpha', alsoSelecting: ['beta'] });
  });

  it('lets age win over name', () => {
    const zed = entry('zed', '2030-05-01T00:00:00Z', { serviceAccountName: 'api' });
    const able = entry('able', '2030-05-01T00:00:01Z', { serviceAccountName: 'api' });
    expect(chosen(chooseEntry(pod(), [able, zed])).entry).toBe('zed');
  });

  it('gives the pod the entry its user annotation names, when that entry selects it', () => {
    const choice = chooseEntry(pod(), [oldest, middle, youngest], { [USER_ANNOTATION_ENTRY]: 'mm-youngest' });
    expect(chosen(choice)).toEqual({
      entry: 'mm-youngest',
      alsoSelecting: ['zz-oldest-by-age', 'aa-middle'],
    });
  });

  it('denies EntryDoesNotSelectPod when the named entry exists but does not select the pod', () => {
    const choice = chooseEntry(pod(), [oldest, olderButElsewhere], { [USER_ANNOTATION_ENTRY]: 'a-other-sa' });
    const { denied, message } = denial(choice);
    expect(denied).toBe('EntryDoesNotSelectPod');
    expect(message).toContain('pod payments/api-7f9c');
    expect(message).toContain('RegistrationEntry a-other-sa');
    expect(message).toContain('does not select it');
  });

  it('denies EntryDoesNotSelectPod when the named entry does not exist, rather than falling back', () => {
    const choice = chooseEntry(pod(), [oldest], { [USER_ANNOTATION_ENTRY]: 'missing' });
    const { denied, message } = denial(choice);
    expect(denied).toBe('EntryDoesNotSelectPod');
    expect(message).toContain('RegistrationEntry missing');
    expect(message).toContain('does not exist in namespace payments');
  });

  it('refuses unknown user annotation keys even when an entry would serve the pod', () => {
    const choice = chooseEntry(pod(), [oldest], {
      [USER_ANNOTATION_ENTRY]: 'zz-oldest-by-age',
      'example.com/colour': 'blue',
    });
    const { denied, message } = denial(choice);
    expect(denied).toBe('InvalidUnverifiedUserAnnotations');
    expect(message).toContain('example.com/colour');
    expect(message).not.toContain(`${USER_ANNOTATION_ENTRY},`);
  });

  it('denies NoMatchingEntry, naming the pod and its service account, when no entry selects it', () => {
    for (const entries of [[], [olderButElsewhere]]) {
      const { denied, message } = denial(chooseEntry(pod(), entries));
      expect(denied).toBe('NoMatchingEntry');
      expect(message).toContain('pod payments/api-7f9c');
      expect(message).toContain('service account api');
      expect(message).toContain('namespace payments');
    }
  });
});

describe('selectsPod', () => {
  const selector = (workloadSelector: PodEntry['workloadSelector']) =>
    entry('e', '2030-05-01T00:00:00Z', workloadSelector);

  it('selects by service account alone', () => {
    expect(selectsPod(selector({ serviceAccountName: 'api' }), pod())).toBe(true);
    expect(selectsPod(selector({ serviceAccountName: 'api' }), pod({ serviceAccountName: 'default' }))).toBe(
      false,
    );
  });

  it('selects by labels alone', () => {
    const byLabels = selector({ podSelector: { matchLabels: { app: 'api', tier: 'backend' } } });
    expect(selectsPod(byLabels, pod())).toBe(true);
    expect(selectsPod(byLabels, pod({ labels: { app: 'api' } }))).toBe(false);
    expect(selectsPod(byLabels, pod({ labels: { app: 'api', tier: 'frontend' } }))).toBe(false);
  });

  it('needs both the service account and the labels to match when both are set', () => {
    const both = selector({ serviceAccountName: 'api', podSelector: { matchLabels: { app: 'api' } } });
    expect(selectsPod(both, pod())).toBe(true);
    expect(selectsPod(both, pod({ labels: { app: 'web' } }))).toBe(false);
    expect(selectsPod(both, pod({ serviceAccountName: 'web' }))).toBe(false);
    expect(selectsPod(both, pod({ serviceAccountName: 'web', labels: {} }))).toBe(false);
  });

  it('treats an empty podSelector as every pod, as a LabelSelector does', () => {
    expect(selectsPod(selector({ podSelector: {} }), pod({ labels: {} }))).toBe(true);
    expect(selectsPod(selector({ serviceAccountName: 'api', podSelector: {} }), pod({ labels: {} }))).toBe(
      true,
    );
  });

  it.each<[string, LabelSelector, Record<string, string>, boolean]>([
    [
      'In holds for a listed value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'batch'] }] },
      { tier: 'backend' },
      true,
    ],
    [
      'In fails for an unlisted value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['batch'] }] },
      { tier: 'backend' },
      false,
    ],
    [
      'In fails for a missing label',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
      {},
      false,
    ],
    [
      'NotIn fails for a listed value',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] },
      { tier: 'backend' },
      false,
    ],
    [
      'NotIn holds for a missing label',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] },
      {},
      true,
    ],
    [
      'Exists holds for any value',
      { matchExpressions: [{ key: 'canary', operator: 'Exists' }] },
      { canary: '' },
      true,
    ],
    [
      'Exists fails for a missing label',
      { matchExpressions: [{ key: 'canary', operator: 'Exists' }] },
      {},
      false,
    ],
    [
      'DoesNotExist fails for a present label',
      { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] },
      { canary: 'yes' },
      false,
    ],
    [
      'DoesNotExist holds for a missing label',
      { matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] },
      {},
      true,
    ],
    [
      'every expression and label must hold',
      {
        matchLabels: { app: 'api' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['backend'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      },
      { app: 'api', tier: 'backend', canary: 'yes' },
      false,
    ],
  ])('applies matchExpressions: %s', (_, podSelector, labels, expected) => {
    expect(selectsPod(selector({ podSelector }), pod({ labels }))).toBe(expected);
  });
});

describe('fillPath', () => {
  it('fills in the namespace, service account and pod name wherever they appear', () => {
    expect(fillPath('/ns/{namespace}/sa/{serviceAccount}/pod/{podName}', pod())).toBe(
      '/ns/payments/sa/api/pod/api-7f9c',
    );
    expect(fillPath('/{namespace}/{namespace}-{podName}/{podName}', pod())).toBe(
      '/payments/payments-api-7f9c/api-7f9c',
    );
  });

  it('leaves a path without placeholders, or with unknown ones, as it is', () => {
    expect(fillPath('/ns/payments/sa/api', pod())).toBe('/ns/payments/sa/api');
    expect(fillPath('/{node}/{uid}', pod())).toBe('/{node}/{uid}');
  });
});

describe('podEntryView', () => {
  const bySa = entry('by-sa', '2030-05-01T00:00:00Z', { serviceAccountName: 'api' });
  const byLabel = entry('by-label', '2030-05-02T00:00:00Z', { podSelector: { matchLabels: { app: 'api' } } });
  const entries = [byLabel, bySa];
  const selectable = (
    name: string,
    serviceAccountName: string,
    app: string,
    userAnnotations: Record<string, string> = {},
  ): SelectablePod => ({
    ...pod({ name, uid: `uid-${name}`, serviceAccountName, labels: { app } }),
    userAnnotations,
    mountsSigner: true,
  });
  const pods = [
    // Both select it; by-sa is older.
    selectable('p4-both', 'api', 'api'),
    // Both select it; the volume asks for by-label.
    selectable('p2-asks-label', 'api', 'api', { [USER_ANNOTATION_ENTRY]: 'by-label' }),
    // Only by-label selects it.
    selectable('p3-label-only', 'worker', 'api'),
    // Only by-sa selects it.
    selectable('p1-sa-only', 'api', 'web'),
    // Neither selects it.
    selectable('p5-neither', 'worker', 'web'),
    // Both select it, but its volume is denied for an unknown annotation: no one serves it.
    selectable('p6-denied', 'api', 'api', { 'example.com/other': 'x' }),
  ];

  it('counts the pods an entry selects and serves, and names the other entry serving the rest', () => {
    expect(podEntryView(bySa, pods, entries)).toEqual({
      selected: 4,
      served: 2,
      servedByOthers: [{ pod: 'p2-asks-label', entry: 'by-label' }],
    });
    expect(podEntryView(byLabel, pods, entries)).toEqual({
      selected: 4,
      served: 2,
      servedByOthers: [{ pod: 'p4-both', entry: 'by-sa' }],
    });
  });

  it('leaves out selected pods that mount no podCertificate volume for the signer: they never ask', () => {
    const unmounted = { ...selectable('p7-no-volume', 'api', 'api'), mountsSigner: false };
    expect(podEntryView(bySa, [...pods, unmounted], entries)).toEqual(podEntryView(bySa, pods, entries));
  });

  it('lists the pods served by others in order of pod name', () => {
    const young = entry('young', '2030-05-09T00:00:00Z', { serviceAccountName: 'api' });
    const view = podEntryView(
      young,
      [selectable('zeta', 'api', 'x'), selectable('alpha', 'api', 'x'), selectable('mu', 'api', 'x')],
      [young, bySa],
    );
    expect(view).toEqual({
      selected: 3,
      served: 0,
      servedByOthers: [
        { pod: 'alpha', entry: 'by-sa' },
        { pod: 'mu', entry: 'by-sa' },
        { pod: 'zeta', entry: 'by-sa' },
      ],
    });
  });

  it('reports nothing for an entry that selects no pod', () => {
    const nobody = entry('nobody', '2030-05-01T00:00:00Z', { serviceAccountName: 'ghost' });
    expect(podEntryView(nobody, pods, [...entries, nobody])).toEqual({
      selected: 0,
      served: 0,
      servedByOthers: [],
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Validity
// ---------------------------------------------------------------------------------------------------

const FAR_AUTHORITY_END = new Date(NOW.getTime() + 30 * DAY);

const validityInput = (overrides: Partial<ValidityInput> = {}): ValidityInput => ({
  now: NOW,
  entryTtlMs: 24 * HOUR,
  maxExpirationSeconds: 86_400,
  authorityNotAfter: FAR_AUTHORITY_END,
  random: () => 0.5,
  ...overrides,
});

function issued(input: ValidityInput) {
  const validity = podCertificateValidity(input);
  if ('tooShort' in validity) throw new Error(`expected a validity, got tooShort: ${validity.tooShort}`);
  return validity;
}

const lifetimeOf = (validity: { notBefore: Date; notAfter: Date }) =>
  validity.notAfter.getTime() - validity.notBefore.getTime();

describe('podCertificateValidity', () => {
  it('backdates notBefore by ten seconds, down to a whole second', () => {
    for (const [now, expected] of [
      ['2030-06-01T12:00:00.000Z', '2030-06-01T11:59:50.000Z'],
      ['2030-06-01T12:00:00.750Z', '2030-06-01T11:59:50.000Z'],
      ['2030-06-01T12:00:09.999Z', '2030-06-01T11:59:59.000Z'],
    ] as const) {
      expect(issued(validityInput({ now: new Date(now) })).notBefore.toISOString()).toBe(expected);
    }
  });

  it('lasts exactly the entry TTL when that is the shortest limit, unadjusted', () => {
    const validity = issued(validityInput({ entryTtlMs: 2 * HOUR }));
    expect(validity.notBefore).toEqual(NOT_BEFORE);
    expect(validity.notAfter).toEqual(new Date(NOT_BEFORE.getTime() + 2 * HOUR));
    expect(lifetimeOf(validity)).toBe(2 * HOUR);
    expect(validity.adjusted).toBeUndefined();
  });

  it('keeps notAfter on a whole second when the entry TTL has a fraction of a second', () => {
    const validity = issued(
      validityInput({ now: new Date('2030-06-01T12:00:00.750Z'), entryTtlMs: 90 * 60_000 + 500 }),
    );
    expect(validity.notAfter.getTime() % 1000).toBe(0);
    expect(validity.notAfter.toISOString()).toBe('2030-06-01T13:29:50.000Z');
  });

  it("lasts exactly maxExpirationSeconds when the request's limit is below the entry TTL", () => {
    const validity = issued(validityInput({ entryTtlMs: 48 * HOUR, maxExpirationSeconds: 5 * 3600 }));
    expect(lifetimeOf(validity)).toBe(5 * HOUR);
    expect(validity.adjusted).toContain('maxExpirationSeconds (5h)');
    expect(validity.adjusted).toContain('48h');
  });

  it("ends at the authority's notAfter, on a whole second, when the authority ends first", () => {
    const authorityNotAfter = new Date(NOW.getTime() + 5 * HOUR + 500);
    const validity = issued(validityInput({ entryTtlMs: 24 * HOUR, authorityNotAfter }));
    expect(validity.notAfter.toISOString()).toBe('2030-06-01T17:00:01.000Z');
    expect(validity.notAfter.getTime()).toBeLessThanOrEqual(authorityNotAfter.getTime());
    expect(validity.adjusted).toContain("by the authority's expiry");
  });

  it('raises an entry TTL under an hour to exactly one hour, and says so', () => {
    for (const maxExpirationSeconds of [3600, 86_400]) {
      const validity = issued(validityInput({ entryTtlMs: 10 * MINUTE, maxExpirationSeconds }));
      expect(lifetimeOf(validity)).toBe(HOUR);
      expect(validity.notAfter.toISOString()).toBe('2030-06-01T12:59:50.000Z');
      expect(validity.adjusted).toMatch(/^raised from the entry's 0\.17h to the API's minimum of one hour$/);
    }
  });

  it('gives an authority that ends exactly an hour after notBefore a one-hour certificate', () => {
    const authorityNotAfter = new Date(NOT_BEFORE.getTime() + HOUR);
    const validity = issued(validityInput({ entryTtlMs: 2 * HOUR, authorityNotAfter }));
    expect(lifetimeOf(validity)).toBe(HOUR);
    expect(validity.notAfter).toEqual(authorityNotAfter);
    expect(validity.adjusted).toBe("capped at 1h by the authority's expiry");
  });

  it('refuses, as tooShort, an authority that leaves less than an hour', () => {
    for (const authorityNotAfter of [
      new Date(NOT_BEFORE.getTime() + HOUR - SECOND),
      new Date(NOT_BEFORE.getTime() + HOUR - 1),
      new Date(NOW.getTime() + 30 * MINUTE),
      new Date(NOW.getTime() - MINUTE),
    ]) {
      const validity = podCertificateValidity(validityInput({ entryTtlMs: 10 * MINUTE, authorityNotAfter }));
      expect(validity).toEqual({ tooShort: expect.stringContaining(authorityNotAfter.toISOString()) });
    }
  });

  it.each([
    { label: 'one hour', ttl: HOUR },
    { label: 'two hours', ttl: 2 * HOUR },
    { label: 'a day', ttl: DAY },
  ])(
    'puts beginRefreshAt 45 to 55 percent into a lifetime of $label, on a whole second, 10 minutes from either end',
    ({ ttl }) => {
      for (const random of [0, 0.5, 0.999]) {
        const validity = issued(validityInput({ entryTtlMs: ttl, random: () => random }));
        const { notBefore, notAfter, beginRefreshAt } = validity;
        const lifetime = lifetimeOf(validity);
        expect(lifetime).toBe(ttl);
        const sinceStart = beginRefreshAt.getTime() - notBefore.getTime();
        expect(sinceStart).toBeGreaterThanOrEqual(0.45 * lifetime);
        expect(sinceStart).toBeLessThanOrEqual(0.55 * lifetime);
        expect(sinceStart).toBeGreaterThanOrEqual(10 * MINUTE);
        expect(notAfter.getTime() - beginRefreshAt.getTime()).toBeGreaterThanOrEqual(10 * MINUTE);
        expect(beginRefreshAt.getTime() % SECOND).toBe(0);
      }
    },
  );

  it('spreads beginRefreshAt by the random draw: 45% at 0, half at 0.5, just under 55% at 0.999', () => {
    const at = (random: number) =>
      issued(validityInput({ entryTtlMs: DAY, random: () => random })).beginRefreshAt.getTime() -
      NOT_BEFORE.getTime();
    expect(at(0)).toBe(0.45 * DAY);
    expect(at(0.5)).toBe(0.5 * DAY);
    expect(at(0.999)).toBe(Math.floor((0.5 * DAY * (1 + 0.1 * (2 * 0.999 - 1))) / SECOND) * SECOND);
    expect(at(0.999)).toBeGreaterThan(0.54 * DAY);
  });

  it('keeps whole-second times even when the authority ends mid-second', () => {
    const authorityNotAfter = new Date(NOW.getTime() + 3 * HOUR + 123);
    const validity = issued(validityInput({ authorityNotAfter, random: () => 0.123 }));
    for (const time of [validity.notBefore, validity.notAfter, validity.beginRefreshAt]) {
      expect(time.getTime() % SECOND).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Request public keys
// ---------------------------------------------------------------------------------------------------

interface CsrCase {
  label: string;
  generate: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams;
  sign: webcrypto.Algorithm | webcrypto.EcdsaParams;
  keyType: PodKeyType;
}

const rsa = (modulusLength: number): webcrypto.RsaHashedKeyGenParams => ({
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
});

const CSR_CASES: CsrCase[] = [
  {
    label: 'ECDSA P-256',
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
    keyType: 'ECDSAP256',
  },
  {
    label: 'ECDSA P-384',
    generate: { name: 'ECDSA', namedCurve: 'P-384' },
    sign: { name: 'ECDSA', hash: 'SHA-384' },
    keyType: 'ECDSAP384',
  },
  {
    label: 'ECDSA P-521',
    generate: { name: 'ECDSA', namedCurve: 'P-521' },
    sign: { name: 'ECDSA', hash: 'SHA-512' },
    keyType: 'ECDSAP521',
  },
  { label: 'RSA 3072', generate: rsa(3072), sign: rsa(3072), keyType: 'RSA3072' },
];

/** A stub PKCS#10 request as a kubelet makes one, base64 DER, and the SPKI of its key. */
async function makeCsr(generate: CsrCase['generate'], sign: CsrCase['sign']) {
  const keys = (await webcrypto.subtle.generateKey(generate, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: sign });
  const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
  return { stubPKCS10Request: Buffer.from(csr.rawData).toString('base64'), spki };
}

/** The RequestKeyError a call throws. */
function keyFailure(run: () => unknown): RequestKeyError {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestKeyError) return error;
    throw error;
  }
  throw new Error('expected a RequestKeyError, and nothing was thrown');
}

const pkix = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) =>
  key.export({ type: 'spki', format: 'der' });

describe('requestKey', () => {
  it.each(CSR_CASES)(
    'reads the SPKI and key type $keyType from a stub PKCS#10 request of an $label key',
    async ({ generate, sign, keyType }) => {
      const { stubPKCS10Request, spki } = await makeCsr(generate, sign);
      const key = requestKey({ stubPKCS10Request });
      expect(key.keyType).toBe(keyType);
      expect(key.spki.equals(spki)).toBe(true);
    },
    30_000,
  );

  it('refuses an RSA 2048 key in a PKCS#10 request as UnknownKeyType', async () => {
    const { stubPKCS10Request } = await makeCsr(rsa(2048), rsa(2048));
    const error = keyFailure(() => requestKey({ stubPKCS10Request }));
    expect(error.code).toBe('UnknownKeyType');
    expect(error.message).toContain('2048 bits');
  });

  it.each<[string, Buffer, PodKeyType]>([
    ['ECDSA P-256', pkix(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), 'ECDSAP256'],
    ['ECDSA P-384', pkix(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey), 'ECDSAP384'],
    ['RSA 4096', pkix(generateKeyPairSync('rsa', { modulusLength: 4096 }).publicKey), 'RSA4096'],
    ['Ed25519', pkix(generateKeyPairSync('ed25519').publicKey), 'ED25519'],
  ])('reads the SPKI and key type from a base64 pkixPublicKey of an %s key', (_, spki, keyType) => {
    const key = requestKey({ pkixPublicKey: spki.toString('base64') });
    expect(key.keyType).toBe(keyType);
    expect(key.spki.equals(spki)).toBe(true);
  });

  it('passes on only the key itself when bytes follow it in pkixPublicKey', () => {
    const spki = pkix(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const padded = Buffer.concat([spki, Buffer.of(0x05, 0x00)]);
    expect(requestKey({ pkixPublicKey: padded.toString('base64') }).spki.equals(spki)).toBe(true);
  });

  it('refuses an RSA 2048 pkixPublicKey as UnknownKeyType', () => {
    const spki = pkix(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(keyFailure(() => requestKey({ pkixPublicKey: spki.toString('base64') })).code).toBe(
      'UnknownKeyType',
    );
  });

  it('reports an EC key on a curve outside the podCertificate key types as UnknownKeyType', () => {
    const spki = pkix(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey);
    const error = keyFailure(() => requestKey({ pkixPublicKey: spki.toString('base64') }));
    expect(error.code).toBe('UnknownKeyType');
    expect(error.message).toContain('secp256k1');
  });

  it('reports garbage in either field as MalformedRequest', () => {
    const garbage = Buffer.from('this is not DER at all').toString('base64');
    const spki = pkix(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    for (const form of [
      { stubPKCS10Request: garbage },
      { pkixPublicKey: garbage },
      // A SubjectPublicKeyInfo is a SEQUENCE, but not a CertificationRequest.
      { stubPKCS10Request: spki.toString('base64') },
      { stubPKCS10Request: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]).toString('base64') },
    ]) {
      const error = keyFailure(() => requestKey(form));
      expect(error.code).toBe('MalformedRequest');
    }
  });

  it('reports a truncated PKCS#10 request as MalformedRequest', async () => {
    const { stubPKCS10Request } = await makeCsr(
      { name: 'ECDSA', namedCurve: 'P-256' },
      {
        name: 'ECDSA',
        hash: 'SHA-256',
      },
    );
    const der = Buffer.from(stubPKCS10Request, 'base64');
    const truncated = der.subarray(0, 40).toString('base64');
    expect(keyFailure(() => requestKey({ stubPKCS10Request: truncated })).code).toBe('MalformedRequest');
  });

  it('reports a request with neither field as MalformedRequest', () => {
    for (const form of [{}, { stubPKCS10Request: '', pkixPublicKey: '' }]) {
      const error = keyFailure(() => requestKey(form));
      expect(error.code).toBe('MalformedRequest');
      expect(error.message).toContain('neither stubPKCS10Request nor pkixPublicKey');
    }
  });
});

describe('SIGNABLE_KEY_TYPES', () => {
  it('maps only ECDSAP256, ECDSAP384, RSA3072 and RSA4096 to SVID key types', () => {
    expect(SIGNABLE_KEY_TYPES).toEqual({
      ECDSAP256: 'EC-P256',
      ECDSAP384: 'EC-P384',
      RSA3072: 'RSA-3072',
      RSA4096: 'RSA-4096',
    });
    expect(SIGNABLE_KEY_TYPES.ECDSAP521).toBeUndefined();
    expect(SIGNABLE_KEY_TYPES.ED25519).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------
// ClusterTrustBundles
// ---------------------------------------------------------------------------------------------------

const SIGNER = 'trustline.dev/prod';
const BUNDLE_NAME = 'trustline.dev:prod:spiffe-bundle';
const OWNER_UID = 'uid-trustdomain-prod';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBroot1\n-----END CERTIFICATE-----\n';
const OTHER_PEM = '-----BEGIN CERTIFICATE-----\nMIIBroot2\n-----END CERTIFICATE-----\n';

const published = (overrides: Partial<PublishedTrustBundle> = {}): PublishedTrustBundle => ({
  name: BUNDLE_NAME,
  resourceVersion: '41',
  signerName: SIGNER,
  trustBundle: PEM,
  ownerUid: OWNER_UID,
  ...overrides,
});

const plan = (existing: PublishedTrustBundle[], pem = PEM) =>
  planTrustBundle({ signerName: SIGNER, pem, ownerUid: OWNER_UID, existing });

describe('clusterTrustBundleName', () => {
  it('writes the signer name with colons for slashes, then the spiffe-bundle suffix', () => {
    expect(clusterTrustBundleName('trustline.dev/prod')).toBe('trustline.dev:prod:spiffe-bundle');
    expect(clusterTrustBundleName('trustline.dev/team/prod')).toBe('trustline.dev:team:prod:spiffe-bundle');
  });
});

describe('planTrustBundle', () => {
  it('creates the bundle when none exists', () => {
    expect(plan([])).toEqual({ create: true, update: undefined, remove: [] });
  });

  it('writes nothing when the content and owner match', () => {
    expect(plan([published()])).toEqual({ create: false, update: undefined, remove: [] });
  });

  it('updates at the seen resourceVersion when the content differs', () => {
    expect(plan([published({ trustBundle: OTHER_PEM, resourceVersion: '77' })])).toEqual({
      create: false,
      update: { resourceVersion: '77' },
      remove: [],
    });
  });

  it('updates when the owner uid differs, as after the TrustDomain was recreated', () => {
    for (const ownerUid of ['uid-old-trustdomain', undefined]) {
      expect(plan([published({ ownerUid })]).update).toEqual({ resourceVersion: '41' });
    }
  });

  it('removes copies under another name and keeps the current one', () => {
    const renamed = published({
      name: 'trustline.dev:old:spiffe-bundle',
      signerName: 'trustline.dev/old',
      resourceVersion: '5',
    });
    const oldNaming = published({ name: 'trustline.dev:prod:bundle', resourceVersion: '6' });
    expect(plan([renamed, published(), oldNaming])).toEqual({
      create: false,
      update: undefined,
      remove: [
        { name: 'trustline.dev:old:spiffe-bundle', resourceVersion: '5' },
        { name: 'trustline.dev:prod:bundle', resourceVersion: '6' },
      ],
    });
  });

  it('creates the bundle under its name while removing a copy under another', () => {
    const stale = published({ name: 'trustline.dev:prod:bundle', resourceVersion: '6' });
    expect(plan([stale])).toEqual({
      create: true,
      update: undefined,
      remove: [{ name: 'trustline.dev:prod:bundle', resourceVersion: '6' }],
    });
  });

  it('removes every copy and creates none when the PEM holds no certificate', () => {
    const stale = published({ name: 'trustline.dev:prod:bundle', resourceVersion: '6' });
    for (const pem of ['', '\n', '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n']) {
      expect(plan([published(), stale], pem)).toEqual({
        create: false,
        update: undefined,
        remove: [
          { name: BUNDLE_NAME, resourceVersion: '41' },
          { name: 'trustline.dev:prod:bundle', resourceVersion: '6' },
        ],
      });
      expect(plan([], pem)).toEqual({ create: false, update: undefined, remove: [] });
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Signing a kubelet's key
// ---------------------------------------------------------------------------------------------------

describe('signX509Svid', () => {
  const TRUST_DOMAIN = 'example.org';
  const SPIFFE_ID = 'spiffe://example.org/ns/payments/sa/api/pod/api-7f9c';
  let authority: X509Authority;
  let signer: X509SvidSigner;

  beforeAll(async () => {
    authority = await mintX509Authority({
      trustDomain: TRUST_DOMAIN,
      keyType: 'EC-P256',
      now: NOW,
      ttlMs: 30 * DAY,
    });
    signer = prepareX509Signer(authority);
  }, 30_000);

  const kubeletKey = () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return { publicKey, spki: pkix(publicKey) };
  };

  it('certifies exactly the given public key, under the SPIFFE ID as the only URI SAN, for the exact validity', () => {
    const { publicKey, spki } = kubeletKey();
    const notBefore = NOT_BEFORE;
    const notAfter = new Date(NOT_BEFORE.getTime() + 2 * HOUR);
    const svid = signX509Svid(signer, { spiffeId: SPIFFE_ID, spki, keyType: 'EC-P256', notBefore, notAfter });

    const node = new X509Certificate(svid.certificate);
    const parsed = new x509.X509Certificate(svid.certificate);
    expect(node.publicKey.equals(publicKey)).toBe(true);
    expect(Buffer.from(parsed.publicKey.rawData).equals(spki)).toBe(true);

    const san = parsed.getExtension(x509.SubjectAlternativeNameExtension);
    expect(san?.names.items.map(({ type, value }) => ({ type, value }))).toEqual([
      { type: 'url', value: SPIFFE_ID },
    ]);
    expect(node.subjectAltName).toBe(`URI:${SPIFFE_ID}`);

    expect(parsed.notBefore.getTime()).toBe(notBefore.getTime());
    expect(parsed.notAfter.getTime()).toBe(notAfter.getTime());
    expect(svid.notBefore.getTime()).toBe(notBefore.getTime());
    expect(svid.notAfter.getTime()).toBe(notAfter.getTime());

    expect(node.verify(new X509Certificate(authority.certificate).publicKey)).toBe(true);
    expect(svid.authorityId).toBe(authority.id);
    expect(svid.keyType).toBe('EC-P256');
  });

  it('certifies the key and validity that a stub PKCS#10 request and podCertificateValidity yield', async () => {
    const { stubPKCS10Request } = await makeCsr(
      { name: 'ECDSA', namedCurve: 'P-384' },
      {
        name: 'ECDSA',
        hash: 'SHA-384',
      },
    );
    const key = requestKey({ stubPKCS10Request });
    const keyType = SIGNABLE_KEY_TYPES[key.keyType];
    if (keyType === undefined) throw new Error(`${key.keyType} is not signable`);
    const validity = issued(
      validityInput({ entryTtlMs: 10 * MINUTE, authorityNotAfter: new Date(authority.notAfter) }),
    );
    const svid = signX509Svid(signer, {
      spiffeId: SPIFFE_ID,
      spki: key.spki,
      keyType,
      notBefore: validity.notBefore,
      notAfter: validity.notAfter,
    });
    const parsed = new x509.X509Certificate(svid.certificate);
    expect(Buffer.from(parsed.publicKey.rawData).equals(key.spki)).toBe(true);
    expect(parsed.notBefore.toISOString()).toBe(validity.notBefore.toISOString());
    expect(parsed.notAfter.toISOString()).toBe(validity.notAfter.toISOString());
    expect(parsed.notAfter.getTime() - parsed.notBefore.getTime()).toBe(HOUR);
  });

  it("accepts a notAfter equal to the authority's and throws InvalidTtl for one beyond it", async () => {
    const { spki } = kubeletKey();
    const request = (notAfter: Date) => ({
      spiffeId: SPIFFE_ID,
      spki,
      keyType: 'EC-P256' as const,
      notBefore: NOT_BEFORE,
      notAfter,
    });
    const authorityEnd = new Date(authority.notAfter);
    expect(signX509Svid(signer, request(authorityEnd)).notAfter).toEqual(authorityEnd);

    const error = await failure(() =>
      signX509Svid(signer, request(new Date(authorityEnd.getTime() + SECOND))),
    );
    expect(error.code).toBe('InvalidTtl');
    expect(error.message).toContain(authorityEnd.toISOString());
  });

  it('throws InvalidTtl for a notAfter that is not after notBefore', async () => {
    const { spki } = kubeletKey();
    const error = await failure(() =>
      signX509Svid(signer, {
        spiffeId: SPIFFE_ID,
        spki,
        keyType: 'EC-P256',
        notBefore: NOT_BEFORE,
        notAfter: NOT_BEFORE,
      }),
    );
    expect(error.code).toBe('InvalidTtl');
  });
});
