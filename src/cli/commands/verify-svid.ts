import type { SpiffeBundle } from '../../core/verify/bundle.ts';
import type { Certificate } from '../../core/verify/certificate.ts';
import { JwtFormatError, verifyJwtSvid } from '../../core/verify/jwt-rules.ts';
import type { SvidVerdict } from '../../core/verify/rule.ts';
import { verifyX509Svid } from '../../core/verify/x509-rules.ts';
import { clusterOptions, commonOptions, expectPositionals, helpOrFormat, parseCommandArgs } from '../args.ts';
import { loadBundle, parseBundleSource } from '../bundle-source.ts';
import { type Command, json } from '../command.ts';
import { CliError, EXIT_FAILURE, usageError } from '../errors.ts';
import { readCertificateChain, readJwt } from '../svid-input.ts';
import { renderVerifyReport, verifyReport } from '../verify-report.ts';

const NAME = 'verify svid';

const HELP = `Usage: trustline verify svid --bundle <source> --cert <pem file> [options]
       trustline verify svid --bundle <source> --jwt <file or token> --audience <aud> [options]

Checks an X.509-SVID chain or a JWT-SVID against a SPIFFE bundle and the SPIFFE rules, runs every
rule and names each one that fails. Prints "valid: <SPIFFE ID>" and exits 0 when all hold; exits 1
when any fails.

X.509-SVID rules: uri-san, spiffe-id, trust-domain, leaf-not-ca, key-usage-critical,
  digital-signature, no-cert-sign, extended-key-usage, chains-to-bundle, validity
JWT-SVID rules: alg, kid-present, kid-in-bundle, signature, sub-spiffe-id, trust-domain, audience,
  exp-present, not-expired, not-before

Options:
      --bundle <source>        a SPIFFE bundle JSON file, or configmap/<namespace>/<name>
      --cert <pem file>        the leaf certificate first, then any intermediates
      --jwt <file or token>    a JWT-SVID, in a file or given inline
      --audience <aud>         the audience the JWT-SVID must be for (with --jwt)
      --trust-domain <name>    the trust domain the SVID must be in; the bundle's when unset
  -o, --output text|json       text (default) or stable JSON
      --kubeconfig <path>      the kubeconfig to use instead of KUBECONFIG
  -h, --help                   show this help
`;

const options = {
  ...commonOptions,
  ...clusterOptions,
  bundle: { type: 'string' },
  cert: { type: 'string' },
  jwt: { type: 'string' },
  audience: { type: 'string' },
  'trust-domain': { type: 'string' },
} as const;

const seeHelp = `see trustline ${NAME} --help`;

/** What to verify, once the flags are known to make sense together. */
type Subject = { kind: 'x509'; cert: string } | { kind: 'jwt'; jwt: string; audience: string };

function subjectOf(cert: string | undefined, jwt: string | undefined, audience: string | undefined): Subject {
  if (cert !== undefined && jwt !== undefined) throw usageError(`give --cert or --jwt, not both; ${seeHelp}`);
  if (cert !== undefined) {
    if (audience !== undefined) throw usageError(`--audience goes with --jwt, not --cert; ${seeHelp}`);
    return { kind: 'x509', cert };
  }
  if (jwt === undefined) throw usageError(`${NAME} needs --cert or --jwt; ${seeHelp}`);
  if (audience === undefined) throw usageError(`--jwt needs --audience; ${seeHelp}`);
  return { kind: 'jwt', jwt, audience };
}

/** The SVID read in, before the bundle: a bad file fails the command without contacting the cluster. */
type Svid =
  | { kind: 'x509'; chain: [Certificate, ...Certificate[]] }
  | { kind: 'jwt'; token: string; label: string; audience: string };

async function readSvid(subject: Subject): Promise<Svid> {
  if (subject.kind === 'x509') return { kind: 'x509', chain: await readCertificateChain(subject.cert) };
  return { kind: 'jwt', ...(await readJwt(subject.jwt)), audience: subject.audience };
}

async function verify(
  svid: Svid,
  bundle: SpiffeBundle,
  now: Date,
  trustDomain?: string,
): Promise<SvidVerdict> {
  if (svid.kind === 'x509') return verifyX509Svid(svid.chain, bundle, { now, trustDomain });
  try {
    return await verifyJwtSvid(svid.token, bundle, { now, audience: svid.audience, trustDomain });
  } catch (error) {
    if (error instanceof JwtFormatError) throw new CliError(`${svid.label}: ${error.message}`);
    throw error;
  }
}

export const verifySvid: Command = {
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(NAME, args, options);
    const format = helpOrFormat(values, HELP, io);
    if (format === undefined) return 0;
    expectPositionals(NAME, positionals, 0);
    if (values.bundle === undefined) throw usageError(`${NAME} needs --bundle; ${seeHelp}`);
    const subject = subjectOf(values.cert, values.jwt, values.audience);
    const source = parseBundleSource(values.bundle);
    const svid = await readSvid(subject);
    const loaded = await loadBundle(source, { kubeconfig: values.kubeconfig, withStates: false });
    const verdict = await verify(svid, loaded.bundle, io.now(), values['trust-domain']);
    const report = verifyReport(verdict, loaded.label);
    io.stdout(format === 'json' ? json(report) : renderVerifyReport(report));
    return report.valid ? 0 : EXIT_FAILURE;
  },
};
