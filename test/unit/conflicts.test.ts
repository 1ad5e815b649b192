import { describe, expect, it } from 'vitest';
import { conflictingOwner, type TrustDomainClaim } from '../../src/core/trustdomain/conflicts.ts';

const claim = (name: string, trustDomain: string, creationTimestamp: string): TrustDomainClaim => ({
  name,
  trustDomain,
  creationTimestamp,
});

describe('conflictingOwner', () => {
  it('gives undefined to a sole claim', () => {
    const only = claim('only', 'example.org', '2030-01-01T00:00:00Z');
    expect(conflictingOwner(only, [only])).toBeUndefined();
  });

  it('names the older claim as the owner of a younger one', () => {
    const older = claim('zz-older', 'example.org', '2030-01-01T00:00:00Z');
    const younger = claim('aa-younger', 'example.org', '2030-01-01T00:00:01Z');
    expect(conflictingOwner(younger, [younger, older])).toBe(older);
    expect(conflictingOwner(younger, [older, younger])).toBe(older);
  });

  it('gives undefined to the owner itself', () => {
    const older = claim('zz-older', 'example.org', '2030-01-01T00:00:00Z');
    const younger = claim('aa-younger', 'example.org', '2030-01-01T00:00:01Z');
    expect(conflictingOwner(older, [younger, older])).toBeUndefined();
  });

  it('breaks a tie within the same second by name', () => {
    const a = claim('alpha', 'example.org', '2030-01-01T00:00:00Z');
    const b = claim('beta', 'example.org', '2030-01-01T00:00:00Z');
    expect(conflictingOwner(b, [b, a])).toBe(a);
    expect(conflictingOwner(a, [b, a])).toBeUndefined();
  });

  it('picks the oldest among several claims', () => {
    const first = claim('c', 'example.org', '2029-12-31T23:59:59Z');
    const second = claim('a', 'example.org', '2030-01-01T00:00:00Z');
    const third = claim('b', 'example.org', '2030-06-01T00:00:00Z');
    const all = [third, second, first];
    expect(conflictingOwner(second, all)).toBe(first);
    expect(conflictingOwner(third, all)).toBe(first);
    expect(conflictingOwner(first, all)).toBeUndefined();
  });

  it('ignores claims on other trust domains, however old', () => {
    const ancient = claim('ancient', 'other.org', '2000-01-01T00:00:00Z');
    const mine = claim('mine', 'example.org', '2030-01-01T00:00:00Z');
    expect(conflictingOwner(mine, [ancient, mine])).toBeUndefined();
  });

  it('does not mutate the claims it is given', () => {
    const older = claim('older', 'example.org', '2030-01-01T00:00:00Z');
    const younger = claim('younger', 'example.org', '2030-01-02T00:00:00Z');
    const claims = [younger, older];
    conflictingOwner(younger, claims);
    expect(claims).toEqual([younger, older]);
  });
});
