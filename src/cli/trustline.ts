#!/usr/bin/env node
import { errorLine, exitCodeOf } from './errors.ts';
import { run } from './main.ts';

/**
 * The `trustline` command: everything runs inside one catch, so any failure, expected or not, ends
 * as one line on stderr and a non-zero exit code, never a stack trace.
 */
try {
  process.exitCode = await run(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    now: () => new Date(),
  });
} catch (error) {
  process.stderr.write(`${errorLine(error)}\n`);
  process.exitCode = exitCodeOf(error);
}
