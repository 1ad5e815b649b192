/** What a command may touch outside itself, so tests can give it a clock and collect its output. */
export interface Io {
  stdout: (text: string) => void;
  now: () => Date;
}

/** A command's implementation; each prints its own help for --help. */
export interface Command {
  /** Runs with the arguments after the command words; resolves with the exit code. */
  run: (args: string[], io: Io) => Promise<number>;
}

/**
 * How the dispatcher knows a command without loading it: the implementations pull in X.509, JOSE and
 * Kubernetes libraries, which a usage error or --help should not wait for.
 */
export interface CommandEntry {
  /** The words that name it, such as ["inspect", "bundle"]. */
  words: readonly [string, ...string[]];
  summary: string;
  load: () => Promise<Command>;
}

export const commandName = (command: CommandEntry): string => command.words.join(' ');

/** Prints a value as the stable JSON shape of `--output json`. */
export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
