import { type CommandEntry, commandName, type Io } from './command.ts';
import { usageError } from './errors.ts';

/** Finds the command the first words name and runs it: the whole CLI without the process around it. */

export const COMMANDS: readonly CommandEntry[] = [
  {
    words: ['inspect', 'bundle'],
    summary: 'show the authorities of a SPIFFE bundle, their expiry and lifecycle state',
    load: async () => (await import('./commands/inspect-bundle.ts')).inspectBundle,
  },
  {
    words: ['verify', 'svid'],
    summary: 'check an X.509-SVID or JWT-SVID against a bundle and the SPIFFE rules',
    load: async () => (await import('./commands/verify-svid.ts')).verifySvid,
  },
  {
    words: ['status'],
    summary: 'show TrustDomains, RegistrationEntries and KeyRevocations at a glance',
    load: async () => (await import('./commands/status.ts')).status,
  },
];

const commandList = COMMANDS.map(commandName).join(', ');

const HELP = `Usage: trustline <command> [options]

Inspect what Trustline publishes and check SVIDs against it.

Commands:
${COMMANDS.map((command) => `  ${commandName(command).padEnd(16)}${command.summary}`).join('\n')}

Every command takes --output text|json and --help; commands that read the cluster take
--kubeconfig <path> (default: KUBECONFIG, then ~/.kube/config). Exit codes: 0 success, 1 failure
(including an SVID that breaks a rule), 2 usage error.
`;

const isHelp = (word: string | undefined): boolean => word === '--help' || word === '-h' || word === 'help';

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [first, second] = argv;
  if (first === undefined) throw usageError(`no command given; try: ${commandList}`);
  if (isHelp(first)) {
    io.stdout(HELP);
    return 0;
  }
  const command = COMMANDS.find(({ words }) => words.every((word, index) => argv[index] === word));
  if (command !== undefined) return (await command.load()).run(argv.slice(command.words.length), io);

  // A group word ("inspect") alone or with --help is asking what the group holds.
  const group = COMMANDS.filter(({ words }) => words.length > 1 && words[0] === first);
  if (group.length > 0 && (second === undefined || second.startsWith('-'))) {
    if (isHelp(second)) {
      io.stdout(HELP);
      return 0;
    }
    throw usageError(`"${first}" needs a subcommand; try: ${group.map(commandName).join(', ')}`);
  }
  const named = group.length > 0 ? `${first} ${second}` : first;
  throw usageError(`unknown command ${JSON.stringify(named)}; try: ${commandList}`);
}
