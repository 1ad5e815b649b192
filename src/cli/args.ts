import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { Io } from './command.ts';
import { usageError } from './errors.ts';

/** Flags every command takes. */
export const commonOptions = {
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

/** Flags of commands that read the cluster. */
export const clusterOptions = {
  kubeconfig: { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

export const OUTPUT_FORMATS = ['text', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const isParseArgsError = (error: unknown): error is Error =>
  error instanceof Error &&
  'code' in error &&
  typeof error.code === 'string' &&
  error.code.startsWith('ERR_PARSE_ARGS');

/** Node's messages go on to explain `--` at length; the first sentence names the problem. */
const firstSentence = (message: string): string => message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? message;

/** parseArgs, strict, with its errors turned into usage errors that point at the command's help. */
export function parseCommandArgs<const Options extends ParseArgsOptionsConfig>(
  command: string,
  args: string[],
  options: Options,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    if (!isParseArgsError(error)) throw error;
    const reason = firstSentence(error.message);
    throw usageError(`${reason.charAt(0).toLowerCase()}${reason.slice(1)}; see trustline ${command} --help`);
  }
}

export function outputFormat(value: string | undefined): OutputFormat {
  const format = OUTPUT_FORMATS.find((known) => known === (value ?? 'text'));
  if (format === undefined) {
    throw usageError(`--output must be ${OUTPUT_FORMATS.join(' or ')}, not ${JSON.stringify(value)}`);
  }
  return format;
}

/** Prints the command's help for --help (undefined: the command is done), else reads --output. */
export function helpOrFormat(
  values: { help?: boolean; output?: string },
  help: string,
  io: Io,
): OutputFormat | undefined {
  if (values.help) {
    io.stdout(help);
    return undefined;
  }
  return outputFormat(values.output);
}

/** Refuses positional arguments beyond the `expected` ones, naming the first extra. */
export function expectPositionals(command: string, positionals: string[], expected: number): void {
  const extra = positionals[expected];
  if (extra !== undefined) {
    throw usageError(`unexpected argument ${JSON.stringify(extra)}; see trustline ${command} --help`);
  }
}
