/**
 * A verification rule: a small named check over facts read once from an SVID, its bundle and the
 * clock. Rules are pure so each can be tested alone, and every rule runs so a report names every
 * failure at once rather than the first.
 */
export interface Rule<Facts> {
  /** Stable, kebab-case: what people see in reports and what scripts branch on. */
  readonly name: string;
  /** Why the SVID breaks the rule, or undefined when it holds or does not apply. */
  readonly check: (facts: Facts, now: Date) => string | undefined;
}

export interface RuleFailure {
  rule: string;
  message: string;
}

export interface SvidVerdict {
  kind: 'x509-svid' | 'jwt-svid';
  /** The SPIFFE ID the SVID claims, when it claims exactly one. */
  spiffeId: string | undefined;
  failures: RuleFailure[];
}

export const runRules = <Facts>(rules: readonly Rule<Facts>[], facts: Facts, now: Date): RuleFailure[] =>
  rules.flatMap((rule) => {
    const message = rule.check(facts, now);
    return message === undefined ? [] : [{ rule: rule.name, message }];
  });
