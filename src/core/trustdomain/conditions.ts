import type { DesiredCondition } from '../conditions.ts';
import { BUNDLE_PUBLISHED_CONDITION, TrustDomainReason } from './reasons.ts';

const MAX_NAMES_IN_MESSAGE = 10;

/** Names for a message, the first ten and how many more, so a status stays readable at scale. */
export const listNames = (names: readonly string[]): string =>
  names.length > MAX_NAMES_IN_MESSAGE
    ? `${names.slice(0, MAX_NAMES_IN_MESSAGE).join(', ')} and ${names.length - MAX_NAMES_IN_MESSAGE} more`
    : names.join(', ');

export function bundlePublishedCondition(
  selected: number,
  foreign: { bundle: readonly string[]; others: readonly string[] },
  failed: readonly { namespace: string; message: string }[],
): DesiredCondition {
  const type = BUNDLE_PUBLISHED_CONDITION;
  if (failed.length > 0) {
    return {
      type,
      status: 'False',
      reason: TrustDomainReason.PublishFailed,
      message: `the bundle could not be written to ${failed.length} copies (retrying): ${listNames(failed.map(({ namespace, message }) => `${namespace}: ${message}`))}`,
    };
  }
  if (foreign.bundle.length > 0 || foreign.others.length > 0) {
    return {
      type,
      status: 'False',
      reason: TrustDomainReason.ForeignConfigMap,
      message: [
        ...(foreign.bundle.length > 0
          ? [
              `a ConfigMap of the bundle's name that Trustline did not create exists in: ${listNames(foreign.bundle)}`,
            ]
          : []),
        ...foreign.others.map((copy) => `${copy} exists and was not created by Trustline`),
      ].join('; '),
    };
  }
  return {
    type,
    status: 'True',
    reason: TrustDomainReason.Published,
    message: `published to ${selected} namespaces`,
  };
}
