import { clusterOptions, commonOptions, expectPositionals, helpOrFormat, parseCommandArgs } from '../args.ts';
import { bundleReport, renderBundleReport } from '../bundle-report.ts';
import { loadBundle, parseBundleSource } from '../bundle-source.ts';
import { type Command, json } from '../command.ts';
import { usageError } from '../errors.ts';

const NAME = 'inspect bundle';

const HELP = `Usage: trustline inspect bundle <source> [--output text|json] [--kubeconfig <path>]

Shows each authority of a SPIFFE bundle: X.509 authorities (subject, SPIFFE ID, validity, expiry)
and JWT authorities (kid, algorithm and key type), with spiffe_sequence and spiffe_refresh_hint.

<source> is a SPIFFE bundle JSON file, or configmap/<namespace>/<name> for a bundle ConfigMap
Trustline publishes; for a ConfigMap, each authority's state (Prepared, Active, Old, Tainted) and
the JWT keys' validity are read from the TrustDomain that owns it.

Options:
  -o, --output text|json   text (default) or stable JSON
      --kubeconfig <path>  the kubeconfig to use instead of KUBECONFIG
  -h, --help               show this help
`;

export const inspectBundle: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(NAME, args, { ...commonOptions, ...clusterOptions });
    const format = helpOrFormat(values, HELP, io);
    if (format === undefined) return 0;
    const [sourceText] = positionals;
    if (sourceText === undefined) throw usageError(`${NAME} needs a <source>; see trustline ${NAME} --help`);
    expectPositionals(NAME, positionals, 1);
    const loaded = await loadBundle(parseBundleSource(sourceText), {
      kubeconfig: values.kubeconfig,
      withStates: true,
    });
    const report = bundleReport({ source: loaded.label, ...loaded, now: io.now() });
    io.stdout(format === 'json' ? json(report) : renderBundleReport(report));
    return 0;
  },
};
