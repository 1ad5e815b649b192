import { describe, expect, it } from 'vitest';
import { claimOf, waitsForOwner } from '../../src/controllers/ownership.ts';

const object = (spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
  metadata: { name: 'prod', creationTimestamp: '2030-01-01T00:00:00Z' },
  spec,
  ...(status ? { status } : {}),
});
const ready = (reason: string) => ({ conditions: [{ type: 'Ready', status: 'False', reason }] });

describe('claimOf', () => {
  it('claims the default signer name when the spec sets none', () => {
    expect(claimOf(object({ trustDomain: 'prod.example.org' }))).toEqual({
      name: 'prod',
      trustDomain: 'prod.example.org',
      signerName: 'trustline.dev/prod',
      creationTimestamp: '2030-01-01T00:00:00Z',
    });
  });

  it('claims the signer name the spec sets, even when the rest of the spec is invalid', () => {
    const claim = claimOf(
      object({ trustDomain: 'prod.example.org', ca: { ttl: 'soon' }, podCertificates: { signerName: 'x' } }),
    );
    expect(claim?.signerName).toBe('x');
  });

  it('claims nothing for an object without a trust domain name', () => {
    expect(claimOf(object({}))).toBeUndefined();
  });
});

describe('waitsForOwner', () => {
  it('is true for an object that last reported losing a trust domain or signer name', () => {
    expect(waitsForOwner(object({}, ready('Conflict')))).toBe(true);
    expect(waitsForOwner(object({}, ready('SignerConflict')))).toBe(true);
  });

  it('is false for any other state, or none yet', () => {
    expect(waitsForOwner(object({}, ready('UpstreamNotBound')))).toBe(false);
    expect(waitsForOwner(object({}))).toBe(false);
  });
});
