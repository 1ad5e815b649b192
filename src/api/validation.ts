import type { z } from 'zod';

/** One line naming each field that failed and why, for conditions and error messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '<object>'}: ${issue.message}`)
    .join('; ');
}
