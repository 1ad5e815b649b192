import type { LabelSelector } from '../api/meta.ts';

type Labels = Readonly<Record<string, string>> | undefined;

function expressionHolds(
  labels: Labels,
  { key, operator, values = [] }: NonNullable<LabelSelector['matchExpressions']>[number],
): boolean {
  const value = labels?.[key];
  switch (operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

/**
 * metav1.LabelSelector semantics: every matchLabels pair and every expression must hold; an empty
 * selector selects everything. An absent selector is the caller's decision, so it is not accepted here.
 */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((expression) => expressionHolds(labels, expression));
}
