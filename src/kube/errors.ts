/** An error answered by the apiserver, with the Status reason as a stable code (NotFound, Conflict, Gone…). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  /** The fields the Status names as the causes (details.causes[].field), for a 422. */
  readonly fields: readonly string[];
  /** The answer's Retry-After header, as sent. */
  readonly retryAfter: string | undefined;

  constructor(
    status: number,
    reason: string,
    message: string,
    fields: readonly string[] = [],
    retryAfter?: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

export const isGone = (error: unknown): boolean => error instanceof KubeApiError && error.status === 410;

export const isNotFound = (error: unknown): boolean => error instanceof KubeApiError && error.status === 404;

/** 409: the object exists already (create) or changed since it was read (update with a resourceVersion). */
export const isConflict = (error: unknown): boolean => error instanceof KubeApiError && error.status === 409;

/**
 * A write under a uid refused because the object of that name is another one now: 409 when none
 * exists, 422 (metadata.uid is immutable) when one was made again under the name.
 */
export const isReplaced = (error: unknown): boolean =>
  isConflict(error) ||
  (error instanceof KubeApiError && error.status === 422 && error.fields.includes('metadata.uid'));

/** A write Trustline refused: the object of its name exists and Trustline did not make it. */
export class ForeignObjectError extends KubeApiError {
  constructor(what: string) {
    super(409, 'AlreadyExists', `${what} exists and was not created by Trustline`);
    this.name = 'ForeignObjectError';
  }
}
