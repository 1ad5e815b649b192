/**
 * A certificate Trustline issued to a PodCertificateRequest. Trustline cannot re-issue it (only the
 * kubelet asks), so a revocation waits for the kubelet to refresh it instead.
 */
export interface PodCertificateRecord {
  /** The X.509 authority that signed it: its subject key id. */
  signerId: string;
  beginRefreshAt: Date;
  notAfter: Date;
}

/** Certificates of the given signers whose kubelets have not been asked to refresh them yet. */
export const outstandingPodCertificates = (
  records: readonly PodCertificateRecord[],
  signerIds: readonly string[],
  now: Date,
): PodCertificateRecord[] =>
  records.filter(
    (record) => signerIds.includes(record.signerId) && record.beginRefreshAt.getTime() > now.getTime(),
  );

/** Certificates of the given signers that still work: what a revocation of them affects. */
export const validPodCertificates = (
  records: readonly PodCertificateRecord[],
  signerIds: readonly string[],
  now: Date,
): number =>
  records.filter((record) => signerIds.includes(record.signerId) && record.notAfter.getTime() > now.getTime())
    .length;
