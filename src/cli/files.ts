import { readFile } from 'node:fs/promises';
import { CliError } from './errors.ts';

/** What people call the errors they meet reading a named file, instead of Node's ENOENT text. */
const reasons: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

const codeOf = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

/** "<path>: no such file" and the like, for an error met reading or opening a file. */
export function fileErrorMessage(path: string, error: unknown): string {
  const code = codeOf(error);
  const reason = code === undefined ? undefined : reasons[code];
  return `${path}: ${reason ?? (error instanceof Error ? error.message : String(error))}`;
}

/** A UTF-8 file, or undefined when nothing is at the path: a value may then be meant literally. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw new CliError(fileErrorMessage(path, error));
  }
}

/** Reads a UTF-8 file, failing with one line that names the file. */
export async function readText(path: string): Promise<string> {
  const text = await readTextIfExists(path);
  if (text === undefined) throw new CliError(`${path}: ${reasons.ENOENT}`);
  return text;
}
