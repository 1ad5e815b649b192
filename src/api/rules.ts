import { z } from 'zod';
import { DURATION_PATTERN, durationMs, parseDuration } from './duration.ts';

/**
 * One validation rule written once for both places it runs: `cel` is evaluated by the apiserver
 * (an `x-kubernetes-validations` entry in the CRD), `holds` by the operator on every object it reads.
 * Both carry the same message, so a user sees the same words from `kubectl apply` and from status.
 */
export interface Rule<T> {
  cel: string;
  message: string;
  holds: (value: T) => boolean;
}

/** Attaches rules to a schema: as refinements for zod and as CEL validations for the CRD. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly Rule<z.output<S>>[]): S {
  return schema
    .superRefine((value, ctx) => {
      for (const rule of rules) {
        if (!rule.holds(value)) ctx.addIssue({ code: 'custom', message: rule.message, input: value });
      }
    })
    .meta({ 'x-kubernetes-validations': rules.map(({ cel, message }) => ({ rule: cel, message })) });
}

/** RFC 1035: a DNS label is at most 63 octets, whatever the whole name's length. */
export const dnsLabelLengthRule: Rule<string> = {
  cel: "!self.matches('[^.]{64}')",
  message: 'each DNS label (the text between dots) must be at most 63 characters',
  holds: (v) => !/[^.]{64}/.test(v),
};

export interface DurationBounds {
  min: string;
  max: string;
  description: string;
}

/**
 * A Go duration string field with inclusive bounds. The range rules are guarded by the parse rule so
 * the apiserver never evaluates `duration()` on text that is not one.
 */
export function duration({ min, max, description }: DurationBounds) {
  const minMs = durationMs(min);
  const maxMs = durationMs(max);
  const parses = `self.matches('${DURATION_PATTERN.replaceAll('\\', '\\\\')}')`;
  return withRules(
    z.string().max(64).describe(`${description} A duration such as 90m or 24h, from ${min} to ${max}.`),
    [
      {
        cel: parses,
        message: 'must be a duration such as 90m or 24h (units: h, m, s, ms)',
        holds: (value) => parseDuration(value) !== undefined,
      },
      {
        cel: `!${parses} || duration(self) >= duration('${min}')`,
        message: `must be at least ${min}`,
        holds: (value) => (parseDuration(value) ?? minMs) >= minMs,
      },
      {
        cel: `!${parses} || duration(self) <= duration('${max}')`,
        message: `must be at most ${max}`,
        holds: (value) => (parseDuration(value) ?? maxMs) <= maxMs,
      },
    ],
  );
}
