import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { DesiredIdentity, IssuanceInput } from '../../src/core/svid/identity.ts';
import { jwtRenewalDue, jwtRenewalDueAt } from '../../src/core/svid/jwt-policies.ts';
import { jwtSvidsToReissue } from '../../src/core/svid/reissue.ts';
import { renewAt, renewalDueAt } from '../../src/core/svid/renewal.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const ISSUED = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(ISSUED.getTime() + ms);
const lifetime = { notBefore: ISSUED, notAfter: at(HOUR) };

const jwt = { key: 'token', audiences: ['aud'], ttlMs: HOUR };
const spec: DesiredIdentity = {
  spiffeId: 'spiffe://example.org/app',
  dnsNames: [],
  keyType: 'EC-P256',
  x509TtlMs: HOUR,
  jwtSvids: [jwt],
};

async function tokenInput(now: Date, renewalFraction: number): Promise<IssuanceInput> {
  const token = await new SignJWT({ aud: jwt.audiences, sub: spec.spiffeId })
    .setProtectedHeader({ alg: 'HS256', kid: 'jwt-1' })
    .setIssuedAt(ISSUED.getTime() / SECOND)
    .setExpirationTime((ISSUED.getTime() + HOUR) / SECOND)
    .sign(new TextEncoder().encode('a test key of sufficient length'));
  return {
    now,
    spec,
    secret: { data: { [jwt.key]: token }, annotations: {}, ownedByEntry: true },
    activeAuthorityIds: { x509: 'x509-1', jwt: 'jwt-1' },
    publishableAuthorityIds: { x509: ['x509-1'], jwt: ['jwt-1'] },
    renewalFraction,
  };
}

describe('renewal below 30%, which the schema admits from 10%', () => {
  it('renews a JWT-SVID at 15% of its life when renewalPercentage is 10', async () => {
    const input = await tokenInput(at(0.15 * HOUR), 0.1);
    expect(jwtRenewalDue(input, jwt)?.reason).toBe('JwtRenewalDue');
    expect(jwtSvidsToReissue(input).get(jwt.key)?.reason).toBe('JwtRenewalDue');
  });

  it('keeps a JWT-SVID before its renewal time, and names that time as when to look again', async () => {
    const input = await tokenInput(at(0.05 * HOUR), 0.1);
    expect(jwtRenewalDue(input, jwt)).toBeUndefined();
    expect(jwtRenewalDueAt(input, jwt)).toEqual(at(0.1 * HOUR));
  });

  it('is never "not due" at a time it names as due: the wake-up and the decision agree', async () => {
    for (const fraction of [0.1, 0.15, 0.29, 0.3, 0.5, 0.9]) {
      const due = jwtRenewalDueAt(await tokenInput(ISSUED, fraction), jwt);
      expect(due).toBeDefined();
      const input = await tokenInput(due ?? ISSUED, fraction);
      expect(jwtRenewalDue(input, jwt)?.reason, `fraction ${fraction}`).toBe('JwtRenewalDue');
    }
  });

  it('lets jitter pull an X.509-SVID no earlier than the fraction asked', () => {
    expect(renewAt({ ...lifetime, fraction: 0.15, random: () => 1 })).toEqual(at(0.15 * HOUR));
    expect(renewAt({ ...lifetime, fraction: 0.25, jitter: 0.1, random: () => 0.5 })).toEqual(at(0.25 * HOUR));
    expect(renewAt({ ...lifetime, fraction: 0.5, jitter: 0.1, random: () => 1 })).toEqual(at(0.4 * HOUR));
  });

  it('accepts a recorded X.509 renewal time within the bounds of the fraction, and no other', () => {
    const recorded = at(0.2 * HOUR).toISOString();
    expect(renewalDueAt(lifetime, 0.15, recorded)).toEqual(at(0.2 * HOUR));
    expect(renewalDueAt(lifetime, 0.15, at(0.05 * HOUR).toISOString())).toEqual(at(0.15 * HOUR));
    expect(renewalDueAt(lifetime, 0.5, recorded)).toEqual(at(0.5 * HOUR));
  });
});
