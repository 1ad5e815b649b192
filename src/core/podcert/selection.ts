import type { LabelSelector } from '../../api/meta.ts';
import { USER_ANNOTATION_ENTRY } from '../../api/well-known.ts';
import { selectorMatches } from '../selector.ts';

/** What deciding a pod's identity needs to know about the pod. */
export interface PodFacts {
  namespace: string;
  name: string;
  uid: string;
  serviceAccountName: string;
  labels: Readonly<Record<string, string>>;
}

/** A RegistrationEntry with a workloadSelector, in the pod's namespace and for the signer's TrustDomain. */
export interface PodEntry {
  name: string;
  creationTimestamp: string;
  workloadSelector: { serviceAccountName?: string | undefined; podSelector?: LabelSelector | undefined };
}

export type SelectionDenial =
  | 'NoMatchingEntry'
  | 'EntryDoesNotSelectPod'
  | 'InvalidUnverifiedUserAnnotations';

export type Selection<E extends PodEntry> =
  | { entry: E; alsoSelecting: E[] }
  | { denied: SelectionDenial; message: string };

export function selectsPod(entry: PodEntry, pod: PodFacts): boolean {
  const { serviceAccountName, podSelector } = entry.workloadSelector;
  if (serviceAccountName !== undefined && serviceAccountName !== pod.serviceAccountName) return false;
  return podSelector === undefined || selectorMatches(podSelector, pod.labels);
}

/** Oldest first, then by name: the order that decides between entries when the pod names none. */
const byAge = (a: PodEntry, b: PodEntry) =>
  compare(a.creationTimestamp, b.creationTimestamp) || compare(a.name, b.name);
/** By code unit, not locale: every replica must pick the same entry. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Which entry gives a pod its identity. A pod may name one through the `trustline.dev/registration-entry`
 * user annotation of its podCertificate volume, and that entry must select it; otherwise the oldest entry
 * that selects it wins, so adding an entry never changes the identity of pods already served. Unknown
 * annotation keys are refused, as the PodCertificateRequest API asks of signers.
 */
export function chooseEntry<E extends PodEntry>(
  pod: PodFacts,
  entries: readonly E[],
  userAnnotations: Readonly<Record<string, string>> = {},
): Selection<E> {
  const unknown = Object.keys(userAnnotations).filter((key) => key !== USER_ANNOTATION_ENTRY);
  if (unknown.length > 0) {
    return {
      denied: 'InvalidUnverifiedUserAnnotations',
      message: `unknown user annotations ${unknown.join(', ')}: Trustline reads only ${USER_ANNOTATION_ENTRY}`,
    };
  }
  const selecting = entries.filter((entry) => selectsPod(entry, pod)).sort(byAge);
  const requested = userAnnotations[USER_ANNOTATION_ENTRY];
  const who = `pod ${pod.namespace}/${pod.name} (service account ${pod.serviceAccountName})`;
  if (requested !== undefined) {
    const entry = selecting.find((candidate) => candidate.name === requested);
    if (entry === undefined) {
      return {
        denied: 'EntryDoesNotSelectPod',
        message: `${who} asks for RegistrationEntry ${requested} through ${USER_ANNOTATION_ENTRY}, which ${entries.some((e) => e.name === requested) ? 'does not select it' : `does not exist in namespace ${pod.namespace} for this signer`}`,
      };
    }
    return { entry, alsoSelecting: selecting.filter((other) => other !== entry) };
  }
  const [entry, ...others] = selecting;
  if (entry === undefined) {
    return {
      denied: 'NoMatchingEntry',
      message: `no RegistrationEntry in namespace ${pod.namespace} with a workloadSelector for this signer selects ${who}`,
    };
  }
  return { entry, alsoSelecting: others };
}

/** A SPIFFE ID path with the pod's namespace, service account and name filled in. */
export const fillPath = (template: string, pod: PodFacts): string =>
  template
    .replaceAll('{namespace}', pod.namespace)
    .replaceAll('{serviceAccount}', pod.serviceAccountName)
    .replaceAll('{podName}', pod.name);

/** A pod as an entry's status sees it: its facts and the entry its volume names, if any. */
export interface SelectablePod extends PodFacts {
  userAnnotations: Readonly<Record<string, string>>;
  /** Whether the pod mounts a podCertificate volume for the signer: only such pods ever ask. */
  mountsSigner: boolean;
}

export interface PodEntryView {
  selected: number;
  served: number;
  /** Selected pods another entry serves, with that entry's name. */
  servedByOthers: { pod: string; entry: string }[];
}

/**
 * How an entry fares among the entries of its namespace: the pods it selects that mount a podCertificate
 * volume for its signer, and which of them it serves.
 */
export function podEntryView<E extends PodEntry>(
  entry: E,
  pods: readonly SelectablePod[],
  entries: readonly E[],
): PodEntryView {
  const view: PodEntryView = { selected: 0, served: 0, servedByOthers: [] };
  for (const pod of pods) {
    if (!pod.mountsSigner || !selectsPod(entry, pod)) continue;
    view.selected += 1;
    const choice = chooseEntry(pod, entries, pod.userAnnotations);
    if ('entry' in choice && choice.entry.name === entry.name) view.served += 1;
    else if ('entry' in choice) view.servedByOthers.push({ pod: pod.name, entry: choice.entry.name });
  }
  view.servedByOthers.sort((a, b) => compare(a.pod, b.pod));
  return view;
}
