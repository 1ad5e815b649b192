import { METRIC_NAMES } from '../src/observability/metrics.ts';

const SAMPLE = new RegExp(`^${METRIC_NAMES.reconciles}\\{[^}]*controller="([^"]*)"[^}]*\\}\\s+(\\S+)$`);

/** Reconciles run so far, by controller, from the operator's Prometheus text exposition. */
export function tallyReconciles(exposition: string): Map<string, number> {
  const tally = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    const [, controller, valueText] = SAMPLE.exec(line) ?? [];
    const value = Number(valueText);
    if (controller !== undefined && Number.isFinite(value)) tally.set(controller, value);
  }
  return tally;
}

/** Passes through `controller`'s queue between two tallies, per object it had to handle. */
export function passesPer(
  before: Map<string, number>,
  after: Map<string, number>,
  controller: string,
  objects: number,
): number {
  return ((after.get(controller) ?? 0) - (before.get(controller) ?? 0)) / Math.max(1, objects);
}

/** Reconciles between two tallies by controller, busiest first, for a line of the report. */
export function formatReconciles(before: Map<string, number>, after: Map<string, number>): string {
  return (
    [...after]
      .map(([controller, value]): [string, number] => [controller, value - (before.get(controller) ?? 0)])
      .filter(([, value]) => value > 0)
      .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
      .map(([controller, value]) => `${controller} ${value}`)
      .join(', ') || 'none'
  );
}
