import { GROUP } from '../../api/group.ts';
import { keyRevocationKind } from '../../api/keyrevocation.ts';
import { registrationEntryKind } from '../../api/registrationentry.ts';
import { trustDomainKind } from '../../api/trustdomain.ts';
import { isNotFound } from '../../kube/errors.ts';
import { trustlineResource } from '../../kube/resources.ts';
import { clusterOptions, commonOptions, expectPositionals, helpOrFormat, parseCommandArgs } from '../args.ts';
import { type Cluster, withCluster } from '../cluster.ts';
import { type Command, json } from '../command.ts';
import { CliError } from '../errors.ts';
import { renderStatusReport, statusReport } from '../status-report.ts';

const NAME = 'status';

/** A 404 on a list means the apiserver does not serve the kind: say so rather than quote the path. */
async function listKind(cluster: Cluster, kind: { plural: string; scope: 'Cluster' | 'Namespaced' }) {
  try {
    return await cluster.list(trustlineResource(kind));
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new CliError(`the cluster does not serve ${kind.plural}.${GROUP}: are Trustline's CRDs installed?`);
  }
}

const HELP = `Usage: trustline status [--output text|json] [--kubeconfig <path>]

Lists every TrustDomain (trust domain, Ready, when the active X.509 authority expires), every
RegistrationEntry in all namespaces (SPIFFE ID, Ready, when the SVID expires) and every
KeyRevocation (phase, Ready, re-issue progress). Objects that do not match Trustline's schema are
listed with the reason.

Options:
  -o, --output text|json   text (default) or stable JSON
      --kubeconfig <path>  the kubeconfig to use instead of KUBECONFIG
  -h, --help               show this help
`;

export const status: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(NAME, args, { ...commonOptions, ...clusterOptions });
    const format = helpOrFormat(values, HELP, io);
    if (format === undefined) return 0;
    expectPositionals(NAME, positionals, 0);
    const lists = await withCluster(values.kubeconfig, async (cluster) => ({
      trustDomains: await listKind(cluster, trustDomainKind),
      registrationEntries: await listKind(cluster, registrationEntryKind),
      keyRevocations: await listKind(cluster, keyRevocationKind),
    }));
    const report = statusReport({ ...lists, now: io.now() });
    io.stdout(format === 'json' ? json(report) : renderStatusReport(report));
    return 0;
  },
};
