import { describe, expect, it } from 'vitest';
import { ANNOTATION_UPSTREAM_FOR } from '../../src/api/well-known.ts';
import { upstreamBindingProblem } from '../../src/core/trustdomain/upstream-binding.ts';

const secret = (annotations?: Record<string, string>) => ({
  namespace: 'trustline',
  name: 'ca',
  annotations,
});

describe('upstreamBindingProblem', () => {
  it('accepts a Secret bound to the TrustDomain', () => {
    expect(upstreamBindingProblem(secret({ [ANNOTATION_UPSTREAM_FOR]: 'prod' }), 'prod')).toBeUndefined();
  });

  it('accepts a Secret bound to several TrustDomains, one of them this one', () => {
    expect(
      upstreamBindingProblem(secret({ [ANNOTATION_UPSTREAM_FOR]: 'prod, staging' }), 'staging'),
    ).toBeUndefined();
  });

  it('refuses a Secret without the annotation, saying what to add', () => {
    expect(upstreamBindingProblem(secret(), 'prod')).toBe(
      `upstream CA Secret trustline/ca is bound to no TrustDomain, not to prod: annotate it ${ANNOTATION_UPSTREAM_FOR}=prod (kubectl annotate secret -n trustline ca ${ANNOTATION_UPSTREAM_FOR}=prod) if this TrustDomain may sign under it`,
    );
  });

  it('refuses a Secret bound to another TrustDomain, naming it', () => {
    const problem = upstreamBindingProblem(secret({ [ANNOTATION_UPSTREAM_FOR]: 'prod' }), 'prod-copy');
    expect(problem).toContain('is bound to TrustDomain prod, not to prod-copy');
  });

  it('matches whole names, not prefixes or empty items', () => {
    expect(upstreamBindingProblem(secret({ [ANNOTATION_UPSTREAM_FOR]: 'prod-2,' }), 'prod')).toContain(
      'bound to TrustDomain prod-2',
    );
    expect(upstreamBindingProblem(secret({ [ANNOTATION_UPSTREAM_FOR]: ' , ' }), '')).toContain(
      'bound to no TrustDomain',
    );
  });
});
