import { beforeAll, describe, expect, it } from 'vitest';
import type { SecretModeEntry } from '../../src/api/registrationentry.ts';
import { mintJwtAuthority, mintX509Authority } from '../../src/core/authorities/mint.ts';
import type { X509Authority } from '../../src/core/authorities/model.ts';
import {
  type IssuanceObservation,
  type IssuancePlan,
  planIssuance,
} from '../../src/core/entry/issuance-plan.ts';
import { authoritySigner, type EntrySigner } from '../../src/core/entry/signer.ts';
import type { IssuanceInput, ObservedSecret } from '../../src/core/svid/identity.ts';
import { prepareJwtSigner } from '../../src/core/svid/jwt-svid.ts';
import { prepareX509Signer } from '../../src/core/svid/x509-signer.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = new Date('2030-06-01T12:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms);

const entry: SecretModeEntry = {
  apiVersion: 'trustline.dev/v1alpha1',
  kind: 'RegistrationEntry',
  metadata: { name: 'cart', namespace: 'shop', uid: 'entry-1' },
  spec: {
    trustDomainRef: { name: 'example' },
    spiffeIDPath: '/ns/shop/sa/cart',
    x509: {},
    secret: { name: 'cart-svid', labels: { team: 'shop' } },
  },
};

let authority: X509Authority;
let jwtKid: string;
let signer: EntrySigner;
let calls: string[];

beforeAll(async () => {
  authority = await mintX509Authority({
    trustDomain: 'example.org',
    keyType: 'EC-P256',
    now: at(-HOUR),
    ttlMs: 48 * HOUR,
  });
  const jwt = await mintJwtAuthority({ algorithm: 'ES256', now: at(-HOUR), ttlMs: 48 * HOUR });
  jwtKid = jwt.id;
  const inner = authoritySigner(prepareX509Signer(authority), prepareJwtSigner(jwt, 'example.org'));
  // Asynchronous on purpose, as a signer off the event loop or in an HSM is.
  signer = {
    x509: async (params) => {
      calls.push('x509');
      await new Promise((resolve) => setImmediate(resolve));
      return inner.x509(params);
    },
    jwt: async (params) => {
      calls.push('jwt');
      return inner.jwt(params);
    },
  };
});

function observation(
  now: Date,
  secret: ObservedSecret | undefined,
  bundlePem = authority.certificate,
): IssuanceObservation {
  const input: IssuanceInput = {
    now,
    spec: {
      spiffeId: 'spiffe://example.org/ns/shop/sa/cart',
      dnsNames: [],
      keyType: 'EC-P256',
      x509TtlMs: HOUR,
      jwtSvids: [{ key: 'token', audiences: ['vault'], ttlMs: 30 * MINUTE }],
    },
    secret,
    activeAuthorityIds: { x509: authority.id, jwt: jwtKid },
    publishableAuthorityIds: { x509: [authority.id], jwt: [jwtKid] },
    renewalFraction: 0.5,
  };
  return {
    entry,
    input,
    capped: [],
    bundlePem,
    trustDomain: 'example.org',
    jwtIssuer: undefined,
    jwtAlgorithm: 'ES256',
    random: () => 0,
  };
}

/** The entry once its status records an SVID: what is signed then is a renewal. */
const issued: SecretModeEntry = {
  ...entry,
  status: {
    svid: {
      serial: '01',
      authorityID: 'a',
      notAfter: '2030-06-01T13:00:00Z',
      renewAt: '2030-06-01T12:30:00Z',
    },
  },
};

const observed = (plan: IssuancePlan): ObservedSecret => ({
  data: plan.write?.data ?? {},
  annotations: plan.write?.annotations ?? {},
  ownedByEntry: true,
});

describe('planIssuance', () => {
  it('signs a first SVID through the signer and plans the Secret, its audit, its event and its status', async () => {
    calls = [];
    const plan = await planIssuance(observation(NOW, undefined), signer);
    expect(calls).toEqual(['x509', 'jwt']);
    expect(plan.write?.name).toBe('cart-svid');
    expect(plan.write?.labels).toEqual({ team: 'shop' });
    expect(plan.audit.map((record) => [record.operation, record.reason])).toEqual([
      ['x509-svid', 'Initial: SecretMissing'],
      ['jwt-svid', 'Initial: SecretMissing'],
    ]);
    expect(plan.events.map((event) => event.reason)).toEqual(['Issued']);
    expect(plan.condition).toMatchObject({ status: 'True', reason: 'Issued' });
    // random 0: the X.509-SVID is due at half its life, the JWT-SVID (30 min) at half of its own.
    expect(plan.wakeAt).toEqual(at(15 * MINUTE));
  });

  it('signs nothing and writes nothing for the Secret it planned, and wakes at the first renewal', async () => {
    const first = await planIssuance(observation(NOW, undefined), signer);
    calls = [];
    const again = await planIssuance(observation(at(MINUTE), observed(first)), signer);
    expect(calls).toEqual([]);
    expect(again.write).toBeUndefined();
    expect(again.audit).toEqual([]);
    expect(again.events).toEqual([]);
    expect(again.wakeAt).toEqual(first.wakeAt);
  });

  it('rewrites a stale bundle without signing', async () => {
    const first = await planIssuance(observation(NOW, undefined), signer);
    calls = [];
    const plan = await planIssuance(observation(at(MINUTE), observed(first), 'another bundle'), signer);
    expect(calls).toEqual([]);
    expect(plan.write?.data['ca.crt']).toBe('another bundle');
    expect(plan.audit).toEqual([]);
  });

  it('renews only the JWT-SVID when it alone is due', async () => {
    const first = await planIssuance(observation(NOW, undefined), signer);
    calls = [];
    const plan = await planIssuance(
      { ...observation(at(16 * MINUTE), observed(first)), entry: issued },
      signer,
    );
    expect(calls).toEqual(['jwt']);
    expect(plan.events.map((event) => [event.reason, event.routine])).toEqual([['Renewed', true]]);
    expect(plan.wakeAt.getTime()).toBeGreaterThan(at(16 * MINUTE).getTime());
  });
});
