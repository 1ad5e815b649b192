import type { Condition } from '../api/meta.ts';

export type DesiredCondition = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/**
 * Sets one condition, keeping lastTransitionTime when the status did not change (the API
 * conventions' meaning of "transition"), and leaving the other conditions as they are.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  desired: DesiredCondition,
  now: Date,
  observedGeneration: number | undefined,
): Condition[] {
  const existing = conditions?.find((condition) => condition.type === desired.type);
  const next: Condition = {
    ...desired,
    lastTransitionTime:
      existing && existing.status === desired.status ? existing.lastTransitionTime : now.toISOString(),
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  return [...(conditions ?? []).filter((condition) => condition.type !== desired.type), next];
}

/** The Ready condition every kind reports; False unless said otherwise. */
export const readyCondition = (
  reason: string,
  message: string,
  status: 'True' | 'False' = 'False',
): DesiredCondition => ({ type: 'Ready', status, reason, message });
