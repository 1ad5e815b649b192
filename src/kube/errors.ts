/** An error answered by the apiserver, with the Status reason as a stable code (NotFound, Conflict, Gone…). */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
  }
}

export const isGone = (error: unknown): boolean => error instanceof KubeApiError && error.status === 410;

export const isNotFound = (error: unknown): boolean => error instanceof KubeApiError && error.status === 404;

/** 409: the object exists already (create) or changed since it was read (update with a resourceVersion). */
export const isConflict = (error: unknown): boolean => error instanceof KubeApiError && error.status === 409;
