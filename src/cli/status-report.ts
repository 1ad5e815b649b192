import { z } from 'zod';
import { type KeyRevocation, keyRevocationSchema } from '../api/keyrevocation.ts';
import type { Condition } from '../api/meta.ts';
import { type RegistrationEntry, registrationEntrySchema } from '../api/registrationentry.ts';
import { type TrustDomain, trustDomainSchema } from '../api/trustdomain.ts';
import { describeIssues } from '../api/validation.ts';
import { renderTable } from './table.ts';
import { parseInstant, relativeSeconds } from './time.ts';

/** What `status` reports, as data (the JSON output) and as text. Pure: objects and the clock are given. */

export interface ReadySummary {
  status: Condition['status'];
  reason: string;
  message: string;
}

/** An instant from status, and how far from now it is (negative when past). */
export interface Deadline {
  at: string;
  secondsFromNow: number;
}

export interface TrustDomainLine {
  name: string;
  trustDomain: string;
  ready: ReadySummary | null;
  activeAuthorityExpires: Deadline | null;
  bundleSequence: number | null;
}

export interface RegistrationEntryLine {
  namespace: string;
  name: string;
  trustDomainRef: string;
  spiffeId: string | null;
  ready: ReadySummary | null;
  svidExpires: Deadline | null;
}

export interface KeyRevocationLine {
  name: string;
  trustDomainRef: string;
  authority: { kind: string; id: string };
  reason: string;
  phase: string | null;
  ready: ReadySummary | null;
  affectedSVIDs: number | null;
  reissuedSVIDs: number | null;
  outstandingPodCertificates: number | null;
}

/** An object that does not match the project's schema: listed, so one bad object hides nothing else. */
export interface InvalidObject {
  kind: string;
  namespace: string | null;
  name: string | null;
  error: string;
}

export interface StatusReport {
  trustDomains: TrustDomainLine[];
  registrationEntries: RegistrationEntryLine[];
  keyRevocations: KeyRevocationLine[];
  invalid: InvalidObject[];
}

export interface StatusInput {
  trustDomains: readonly unknown[];
  registrationEntries: readonly unknown[];
  keyRevocations: readonly unknown[];
  now: Date;
}

const ready = (conditions: readonly Condition[] | undefined): ReadySummary | null => {
  const condition = conditions?.find((c) => c.type === 'Ready');
  return condition === undefined
    ? null
    : { status: condition.status, reason: condition.reason, message: condition.message };
};

const deadline = (text: string | undefined, now: Date): Deadline | null => {
  const at = parseInstant(text);
  return at === undefined || text === undefined
    ? null
    : { at: text, secondsFromNow: Math.floor((at.getTime() - now.getTime()) / 1000) };
};

const nameSchema = z.object({
  metadata: z.looseObject({ name: z.string().optional(), namespace: z.string().optional() }),
});

/** Parses each object with its kind's schema; what fails goes to `invalid` with the reasons. */
function parseAll<T>(
  kind: string,
  schema: z.ZodType<T>,
  objects: readonly unknown[],
  invalid: InvalidObject[],
): T[] {
  return objects.flatMap((object) => {
    const parsed = schema.safeParse(object);
    if (parsed.success) return [parsed.data];
    const metadata = nameSchema.safeParse(object).data?.metadata;
    invalid.push({
      kind,
      namespace: metadata?.namespace ?? null,
      name: metadata?.name ?? null,
      error: describeIssues(parsed.error),
    });
    return [];
  });
}

const trustDomainLine = (object: TrustDomain, now: Date): TrustDomainLine => ({
  name: object.metadata.name,
  trustDomain: object.spec.trustDomain,
  ready: ready(object.status?.conditions),
  activeAuthorityExpires: deadline(object.status?.expiresAt, now),
  bundleSequence: object.status?.bundleSequence ?? null,
});

const registrationEntryLine = (object: RegistrationEntry, now: Date): RegistrationEntryLine => ({
  namespace: object.metadata.namespace ?? '',
  name: object.metadata.name,
  trustDomainRef: object.spec.trustDomainRef.name,
  spiffeId: object.status?.spiffeID ?? null,
  ready: ready(object.status?.conditions),
  svidExpires: deadline(object.status?.svid?.notAfter, now),
});

const keyRevocationLine = (object: KeyRevocation): KeyRevocationLine => ({
  name: object.metadata.name,
  trustDomainRef: object.spec.trustDomainRef.name,
  authority: { kind: object.spec.authority.kind, id: object.spec.authority.id },
  reason: object.spec.reason,
  phase: object.status?.phase ?? null,
  ready: ready(object.status?.conditions),
  affectedSVIDs: object.status?.affectedSVIDs ?? null,
  reissuedSVIDs: object.status?.reissuedSVIDs ?? null,
  outstandingPodCertificates: object.status?.outstandingPodCertificates ?? null,
});

const byName = <T extends { name: string; namespace?: string }>(a: T, b: T) =>
  (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.name.localeCompare(b.name);

export function statusReport({
  trustDomains,
  registrationEntries,
  keyRevocations,
  now,
}: StatusInput): StatusReport {
  const invalid: InvalidObject[] = [];
  return {
    trustDomains: parseAll('TrustDomain', trustDomainSchema, trustDomains, invalid)
      .map((object) => trustDomainLine(object, now))
      .sort(byName),
    registrationEntries: parseAll('RegistrationEntry', registrationEntrySchema, registrationEntries, invalid)
      .map((object) => registrationEntryLine(object, now))
      .sort(byName),
    keyRevocations: parseAll('KeyRevocation', keyRevocationSchema, keyRevocations, invalid)
      .map(keyRevocationLine)
      .sort(byName),
    invalid,
  };
}

const readyText = (summary: ReadySummary | null): string =>
  summary === null ? '-' : `${summary.status} (${summary.reason})`;

const deadlineText = (value: Deadline | null): string =>
  value === null ? '-' : `${value.at} (${relativeSeconds(value.secondsFromNow)})`;

const progressText = (line: KeyRevocationLine): string => {
  const parts: string[] = [];
  if (line.affectedSVIDs !== null)
    parts.push(`${line.reissuedSVIDs ?? 0}/${line.affectedSVIDs} SVIDs re-issued`);
  if (line.outstandingPodCertificates)
    parts.push(`${line.outstandingPodCertificates} pod certificates outstanding`);
  return parts.length === 0 ? '-' : parts.join(', ');
};

const section = (title: string, empty: string, headers: string[], rows: string[][]): string =>
  `${title}\n${rows.length === 0 ? `${empty}\n` : renderTable(headers, rows)}`;

export function renderStatusReport(report: StatusReport): string {
  const sections = [
    section(
      'TRUST DOMAINS',
      'No TrustDomains.',
      ['NAME', 'TRUST DOMAIN', 'READY', 'ACTIVE CA EXPIRES', 'BUNDLE SEQ'],
      report.trustDomains.map((line) => [
        line.name,
        line.trustDomain,
        readyText(line.ready),
        deadlineText(line.activeAuthorityExpires),
        line.bundleSequence === null ? '-' : String(line.bundleSequence),
      ]),
    ),
    section(
      'REGISTRATION ENTRIES',
      'No RegistrationEntries.',
      ['NAMESPACE/NAME', 'TRUST DOMAIN', 'SPIFFE ID', 'READY', 'SVID EXPIRES'],
      report.registrationEntries.map((line) => [
        `${line.namespace}/${line.name}`,
        line.trustDomainRef,
        line.spiffeId ?? '-',
        readyText(line.ready),
        deadlineText(line.svidExpires),
      ]),
    ),
    section(
      'KEY REVOCATIONS',
      'No KeyRevocations.',
      ['NAME', 'TRUST DOMAIN', 'AUTHORITY', 'PHASE', 'READY', 'PROGRESS'],
      report.keyRevocations.map((line) => [
        line.name,
        line.trustDomainRef,
        `${line.authority.kind} ${line.authority.id}`,
        line.phase ?? '-',
        readyText(line.ready),
        progressText(line),
      ]),
    ),
  ];
  if (report.invalid.length > 0) {
    sections.push(
      section(
        'INVALID OBJECTS (do not match the schema)',
        '',
        ['KIND', 'NAME', 'ERROR'],
        report.invalid.map((object) => [
          object.kind,
          [object.namespace, object.name ?? '<unnamed>'].filter((part) => part !== null).join('/'),
          object.error,
        ]),
      ),
    );
  }
  return sections.join('\n');
}
