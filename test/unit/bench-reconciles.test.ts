import { describe, expect, it } from 'vitest';
import { formatReconciles, passesPer, tallyReconciles } from '../../bench/reconciles.ts';

const exposition = (entries: number, trustDomains: number) =>
  [
    '# HELP trustline_reconciles_total Reconciles run, failed or not.',
    '# TYPE trustline_reconciles_total counter',
    `trustline_reconciles_total{controller="RegistrationEntry"} ${entries}`,
    `trustline_reconciles_total{controller="TrustDomain"} ${trustDomains}`,
    'trustline_reconcile_errors_total{controller="RegistrationEntry"} 7',
  ].join('\n');

describe("the bench's count of the operator's queue passes", () => {
  it('reads reconciles by controller, and not the error counter beside them', () => {
    expect(tallyReconciles(exposition(12, 3))).toEqual(
      new Map([
        ['RegistrationEntry', 12],
        ['TrustDomain', 3],
      ]),
    );
  });

  it('divides the passes of one queue between two scrapes by the objects it handled', () => {
    const before = tallyReconciles(exposition(21, 2));
    const after = tallyReconciles(exposition(3_021, 9));
    expect(passesPer(before, after, 'RegistrationEntry', 1_000)).toBe(3);
    expect(passesPer(before, after, 'KeyRevocation', 1_000)).toBe(0);
  });

  it('lists the reconciles between two scrapes busiest first, or none', () => {
    const before = tallyReconciles(exposition(21, 2));
    expect(formatReconciles(before, tallyReconciles(exposition(3_021, 9)))).toBe(
      'RegistrationEntry 3000, TrustDomain 7',
    );
    expect(formatReconciles(before, before)).toBe('none');
  });
});
