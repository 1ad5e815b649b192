/** Exit codes: 1 for a failure (including an SVID that breaks a rule), 2 for a command used wrongly. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A problem the CLI reports as one line on stderr and an exit code, never as a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(
    message: string,
    { exitCode = EXIT_FAILURE, cause }: { exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string): CliError => new CliError(message, { exitCode: EXIT_USAGE });

/** How many wrapped causes a line names: enough for "fetch failed: connect ECONNREFUSED". */
const MAX_CAUSES = 3;

/**
 * The one stderr line for any error: its message and the messages of what caused it, on one line.
 * Stacks stay out: people act on the message, and a stack says the CLI crashed when it did not.
 */
export function errorLine(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current !== undefined && parts.length <= MAX_CAUSES) {
    const message = current instanceof Error ? current.message : String(current);
    if (message !== '' && !parts.includes(message)) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  const text = parts.join(': ').replace(/\s+/g, ' ').trim();
  return `trustline: ${text === '' ? 'failed without a message' : text}`;
}

export const exitCodeOf = (error: unknown): number =>
  error instanceof CliError ? error.exitCode : EXIT_FAILURE;
