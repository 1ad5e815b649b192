import type { RuleFailure, SvidVerdict } from '../core/verify/rule.ts';

/** What `verify svid` reports, as data (the JSON output) and as text. Pure. */

export interface VerifyReport {
  valid: boolean;
  kind: SvidVerdict['kind'];
  spiffeId: string | null;
  bundle: string;
  failures: RuleFailure[];
}

export const verifyReport = (verdict: SvidVerdict, bundle: string): VerifyReport => ({
  valid: verdict.failures.length === 0,
  kind: verdict.kind,
  spiffeId: verdict.spiffeId ?? null,
  bundle,
  failures: verdict.failures,
});

const KIND_NAMES: Record<SvidVerdict['kind'], string> = { 'x509-svid': 'X.509-SVID', 'jwt-svid': 'JWT-SVID' };

export function renderVerifyReport(report: VerifyReport): string {
  if (report.valid) return `valid: ${report.spiffeId}\n`;
  const count = report.failures.length;
  const lines = [
    `invalid ${KIND_NAMES[report.kind]}${report.spiffeId === null ? '' : ` ${report.spiffeId}`}: ${count} rule${count === 1 ? '' : 's'} failed`,
    ...report.failures.map((failure) => `  ${failure.rule}: ${failure.message}`),
  ];
  return `${lines.join('\n')}\n`;
}
