import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';
import { z } from 'zod';
import { API_VERSION } from '../src/api/group.ts';
import { type KeyRevocation, keyRevocationKind, keyRevocationSchema } from '../src/api/keyrevocation.ts';
import { objectMetaSchema } from '../src/api/meta.ts';
import {
  isSecretMode,
  registrationEntryKind,
  registrationEntrySchema,
  type SecretModeEntry,
} from '../src/api/registrationentry.ts';
import { type TrustDomain, trustDomainKind, trustDomainSchema } from '../src/api/trustdomain.ts';
import {
  BUNDLE_SPIFFE_KEY,
  CONTENT_TRUST_BUNDLE,
  LABEL_CONTENT,
  LABEL_TRUST_DOMAIN_OBJECT,
  TLS_CERT_KEY,
} from '../src/api/well-known.ts';
import { decodeCertificatesPem } from '../src/core/authorities/pem.ts';
import { x509 } from '../src/core/authorities/x509.ts';
import { labelValueFor } from '../src/core/labels.ts';
import { normalizeSerial } from '../src/core/svid/serial.ts';
import { OPERATOR_PROCESS_ENV } from '../src/deploy/workload.ts';
import { isNotFound } from '../src/kube/errors.ts';
import { type DataObject, dataObjectSchema, decodeSecretData } from '../src/kube/objects.ts';
import { collectionPath, coreResources, objectPath, trustlineResource } from '../src/kube/resources.ts';
import { type RequestOptions, RestClient } from '../src/kube/rest.ts';
import { ensureControlPlane } from './controlplane/build.ts';
import { type RunningControlPlane, startControlPlane, stopControlPlane } from './controlplane/cluster.ts';
import { run } from './controlplane/process.ts';

/**
 * `npm run demo [-- --keep]`: Trustline end to end on a control plane of its own, in a temporary
 * folder (never .cluster/, so it cannot disturb `npm run cluster:up`): the samples in config/samples,
 * the X.509-SVID and trust bundle they produce, then a KeyRevocation of the active X.509 authority and
 * what changes. Everything it started is stopped and the folder removed when it ends, fails or is
 * interrupted; with --keep it waits for Ctrl-C first.
 */

const REPOSITORY = join(import.meta.dirname, '..');
const SAMPLES = join(REPOSITORY, 'config', 'samples');
const OPERATOR_NAMESPACE_FILE = join(REPOSITORY, 'config', 'default', 'namespace.yaml');
const TRUSTLINE_CLI = join(REPOSITORY, 'src', 'cli', 'trustline.ts');
const INDENT = '   ';

// --- the samples ------------------------------------------------------------------------------------

export interface Samples {
  trustDomain: TrustDomain;
  entry: SecretModeEntry & { metadata: { namespace: string } };
}

const kustomizationSchema = z.object({ resources: z.array(z.string()).min(1) });
const kindOf = z.looseObject({ kind: z.string() });

/**
 * The TrustDomain and the Secret-mode RegistrationEntry among the sample documents, checked with the
 * API's own schemas: the demo follows whatever names the samples use.
 */
export function findSamples(documents: readonly unknown[]): Samples {
  const ofKind = (kind: string) =>
    documents.filter((document) => kindOf.safeParse(document).data?.kind === kind);
  const [trustDomainDocument] = ofKind(trustDomainKind.kind);
  if (trustDomainDocument === undefined) throw new Error('config/samples holds no TrustDomain');
  const trustDomain = trustDomainSchema.parse(trustDomainDocument);
  const entry = ofKind(registrationEntryKind.kind)
    .map((document) => registrationEntrySchema.parse(document))
    .find(
      (candidate) =>
        isSecretMode(candidate) && candidate.spec.trustDomainRef.name === trustDomain.metadata.name,
    );
  const namespace = entry?.metadata.namespace;
  if (entry === undefined || !isSecretMode(entry) || namespace === undefined) {
    throw new Error(
      `config/samples holds no RegistrationEntry with a namespace and a secret for TrustDomain ${trustDomain.metadata.name}`,
    );
  }
  return { trustDomain, entry: { ...entry, metadata: { ...entry.metadata, namespace } } };
}

async function readSamples(): Promise<Samples> {
  const { resources } = kustomizationSchema.parse(
    parseYaml(await readFile(join(SAMPLES, 'kustomization.yaml'), 'utf8')),
  );
  const documents: unknown[] = [];
  for (const resource of resources) {
    for (const document of parseAllDocuments(await readFile(join(SAMPLES, resource), 'utf8'))) {
      documents.push(document.toJS());
    }
  }
  return findSamples(documents);
}

// --- reading certificates and bundles (pure) ----------------------------------------------------------

export interface SvidSummary {
  spiffeId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  /** The authority key identifier: the id of the X.509 authority that signed it. */
  authorityId: string;
  /** PEM of the leaf, to check against a bundle. */
  leaf: string;
}

/** The leaf of a PEM chain (tls.crt): the workload's own certificate. */
export function summarizeSvid(pem: string): SvidSummary {
  const [der] = decodeCertificatesPem(pem);
  if (der === undefined) throw new Error(`${TLS_CERT_KEY} holds no certificate`);
  const certificate = new x509.X509Certificate(der);
  const spiffeId = certificate
    .getExtension(x509.SubjectAlternativeNameExtension)
    ?.names.items.find((name) => name.type === 'url')?.value;
  return {
    spiffeId: spiffeId ?? '(no URI SAN)',
    serial: normalizeSerial(certificate.serialNumber),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    issuer: certificate.issuer,
    authorityId: certificate.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase() ?? '',
    leaf: certificate.toString('pem'),
  };
}

export interface BundleAuthority {
  /** The subject key identifier: how Trustline and KeyRevocations name an X.509 authority. */
  id: string;
  subject: string;
  serial: string;
  notAfter: Date;
  /** PEM. */
  certificate: string;
}

export interface BundleSummary {
  sequence: number;
  authorities: BundleAuthority[];
  jwtKeyIds: string[];
}

const spiffeBundleSchema = z.object({
  spiffe_sequence: z.int(),
  keys: z.array(
    z.looseObject({ use: z.string(), kid: z.string().optional(), x5c: z.array(z.string()).optional() }),
  ),
});

/** The X.509 authorities and JWT key ids of a SPIFFE bundle document (bundle.spiffe.json). */
export function summarizeBundle(spiffeBundle: string): BundleSummary {
  const bundle = spiffeBundleSchema.parse(JSON.parse(spiffeBundle));
  const authorities = bundle.keys.flatMap((key) => {
    const [der] = key.use === 'x509-svid' ? (key.x5c ?? []) : [];
    if (der === undefined) return [];
    const certificate = new x509.X509Certificate(Buffer.from(der, 'base64'));
    return [
      {
        id: certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toLowerCase() ?? '',
        subject: certificate.subject,
        serial: normalizeSerial(certificate.serialNumber),
        notAfter: certificate.notAfter,
        certificate: certificate.toString('pem'),
      },
    ];
  });
  const jwtKeyIds = bundle.keys.flatMap((key) => (key.use === 'jwt-svid' && key.kid ? [key.kid] : []));
  return { sequence: bundle.spiffe_sequence, authorities, jwtKeyIds };
}

/** The bundle authority whose key signed the SVID, if any: what a relying party's check comes down to. */
export function signerInBundle(svid: SvidSummary, bundle: BundleSummary): BundleAuthority | undefined {
  const leaf = new X509Certificate(svid.leaf);
  return bundle.authorities.find((authority) => {
    const issuer = new X509Certificate(authority.certificate);
    return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey);
  });
}

// --- formatting (pure) -----------------------------------------------------------------------------

export const formatInstant = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A lifetime as people say it: 1h, 23h 59m, 45s. */
export function formatLifetime(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const shown = parts.filter(([value]) => value > 0).map(([value, unit]) => `${value}${unit}`);
  return shown.length > 0 ? shown.join(' ') : '0s';
}

const row = (label: string, value: string) => `${INDENT}${label.padEnd(12)}${value}`;

export function formatSvid(svid: SvidSummary): string[] {
  return [
    row('SPIFFE ID', svid.spiffeId),
    row('serial', svid.serial),
    row('not before', formatInstant(svid.notBefore)),
    row(
      'not after',
      `${formatInstant(svid.notAfter)} (${formatLifetime(svid.notAfter.getTime() - svid.notBefore.getTime())} in all)`,
    ),
    row('issuer', `${svid.issuer}, authority ${svid.authorityId}`),
  ];
}

/** The bundle, each X.509 authority with its state as the TrustDomain status reports it. */
export function formatBundle(bundle: BundleSummary, states: ReadonlyMap<string, string>): string[] {
  return [
    row('sequence', String(bundle.sequence)),
    ...bundle.authorities.flatMap((authority) => [
      `${INDENT}X.509 authority ${authority.id} (${states.get(authority.id) ?? 'unknown state'})`,
      row('  subject', authority.subject),
      row('  serial', authority.serial),
      row('  expires', formatInstant(authority.notAfter)),
    ]),
    row('JWT keys', bundle.jwtKeyIds.join(', ') || 'none'),
  ];
}

export const heading = (step: number, title: string): string => `\n${step}. ${title}`;

const logLineSchema = z.object({
  level: z.number(),
  msg: z.string(),
  err: z.object({ message: z.string() }).optional(),
});

/** One line of the operator's JSON log as people read it: the message, and the error's if any. */
export function parseLogLine(line: string): { level: number; text: string } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    // Not JSON, or a line still being written.
    return undefined;
  }
  const parsed = logLineSchema.safeParse(json).data;
  if (parsed === undefined) return undefined;
  return { level: parsed.level, text: parsed.err ? `${parsed.msg}: ${parsed.err.message}` : parsed.msg };
}

/** pino's level of `error`: what a failure message should quote from the operator's log. */
const PINO_ERROR = 50;

/** The last error the operator logged, for a failure message. */
export function lastOperatorError(log: string): string | undefined {
  return log
    .split('\n')
    .map(parseLogLine)
    .filter((line) => line !== undefined && line.level >= PINO_ERROR)
    .at(-1)?.text;
}

// --- the walk-through ----------------------------------------------------------------------------

const say = (line = '') => console.log(line);
const sayIndented = (line: string) => say(`${INDENT}${line}`);

const untilAborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

/** Runs a command to its end and returns its exit code and output, stdout and stderr interleaved. */
function runForOutput(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const configMapListSchema = z.object({ items: z.array(dataObjectSchema) });
const namespaceObjectSchema = z.object({ kind: z.literal('Namespace'), metadata: objectMetaSchema });

/** Everything the demo starts, so that teardown finds it whatever step it was interrupted at. */
class Demo {
  readonly keep: boolean;
  readonly started = Date.now();
  dir: string | undefined;
  controlPlane: RunningControlPlane | undefined;
  /** A control plane start in flight: teardown waits for it, or the processes it is about to start would be missed. */
  starting: Promise<unknown> | undefined;
  operator: ChildProcess | undefined;
  operatorLog = '';
  kubectlPath = '';
  client: RestClient | undefined;
  readonly aborted = new AbortController();
  /** Whether the walk-through is over and --keep is waiting for Ctrl-C: then Ctrl-C is the normal end. */
  kept = false;
  step = 0;
  #teardown: Promise<void> | undefined;

  constructor(keep: boolean) {
    this.keep = keep;
  }

  get controlPlaneDir(): string {
    return join(this.dir ?? '', 'controlplane');
  }

  /** Prints the next numbered heading. */
  section(title: string) {
    this.step += 1;
    say(heading(this.step, title));
  }

  async run(): Promise<void> {
    // Read first: a broken sample fails the demo before anything is started.
    const samples = await readSamples();
    this.dir = await mkdtemp(join(tmpdir(), 'trustline-demo-'));
    this.operatorLog = join(this.dir, 'operator.log');
    say(
      'Trustline demo: a trust domain, a workload identity and a key revocation, on a control plane of its own.',
    );
    say(`Temp folder: ${this.dir} (removed at the end)`);

    this.section('Starting a control plane (etcd, kube-apiserver, kube-controller-manager)');
    const binaries = await ensureControlPlane(sayIndented);
    this.kubectlPath = binaries.kubectl;
    this.checkAborted();
    const starting = startControlPlane(binaries, this.controlPlaneDir, sayIndented);
    this.starting = starting;
    this.controlPlane = await starting;
    this.checkAborted();
    const { kubeconfig, server } = this.controlPlane;
    sayIndented(`apiserver: ${server}`);
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    this.client = await RestClient.fromKubeConfig(config);

    this.section('Installing the CRDs and starting Trustline');
    await this.kubectl(['apply', '-f', 'crds/']);
    // Objects of a kind can be created only once its CRD is established.
    await this.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/']);
    await this.kubectl(['apply', '-f', relative(REPOSITORY, OPERATOR_NAMESPACE_FILE)]);
    await this.startOperator(kubeconfig);

    this.section('Applying config/samples');
    await this.kubectl(['apply', '-k', relative(REPOSITORY, SAMPLES)]);
    const { trustDomain, entry } = samples;
    sayIndented(
      `TrustDomain ${trustDomain.metadata.name} (${trustDomain.spec.trustDomain}) and RegistrationEntry ${entry.metadata.namespace}/${entry.metadata.name}; waiting for Trustline to issue the SVID`,
    );

    const secretName = entry.spec.secret.name;
    const namespace = entry.metadata.namespace;
    const readSvid = async () => {
      const pem = (await this.readSecret(namespace, secretName))?.[TLS_CERT_KEY];
      return pem ? { pem, svid: summarizeSvid(pem) } : undefined;
    };
    const { pem: svidPem, svid } = await this.waitFor(
      `the SVID in Secret ${namespace}/${secretName}`,
      120_000,
      readSvid,
    );
    this.section(`The X.509-SVID in Secret ${namespace}/${secretName} (${TLS_CERT_KEY})`);
    for (const line of formatSvid(svid)) say(line);

    const bundleName = await this.waitFor(`the trust bundle ConfigMap in ${namespace}`, 60_000, async () => {
      const [configMap] = await this.bundleConfigMaps(trustDomain, namespace);
      return configMap?.metadata.name;
    });
    // The bundle the SVID was issued under: the first publication can race the SVID Secret.
    const bundle = await this.waitFor(`a bundle holding authority ${svid.authorityId}`, 60_000, async () => {
      const current = await this.readBundle(namespace, bundleName);
      return current && signerInBundle(svid, current) ? current : undefined;
    });
    this.section(`The trust bundle in ConfigMap ${namespace}/${bundleName} (${BUNDLE_SPIFFE_KEY})`);
    for (const line of formatBundle(bundle, await this.authorityStates(trustDomain))) say(line);
    sayIndented(`The SVID verifies against it: authority ${signerInBundle(svid, bundle)?.id} signed it.`);

    const bundleSource = `configmap/${namespace}/${bundleName}`;
    const svidBefore = `${secretName}-before.pem`;
    await writeFile(join(this.dir, svidBefore), svidPem);
    this.section('The same through the trustline CLI (src/cli/trustline.ts; files in the temp folder)');
    await this.trustline(['inspect', 'bundle', bundleSource]);
    await this.trustline(['verify', 'svid', '--bundle', bundleSource, '--cert', svidBefore]);

    this.section('Revoking the active X.509 authority');
    const target = await this.activeX509(trustDomain);
    const revoked = bundle.authorities.find((authority) => authority.id === target);
    sayIndented(
      `Authority ${target} (serial ${revoked?.serial ?? 'unknown'}) is active: it signs every new SVID. A KeyRevocation cuts it off:`,
    );
    const revocation = {
      apiVersion: API_VERSION,
      kind: keyRevocationKind.kind,
      metadata: { name: `${trustDomain.metadata.name}-demo` },
      spec: {
        trustDomainRef: { name: trustDomain.metadata.name },
        authority: { kind: 'X509', id: target },
        // KeyCompromise: no grace period, the key leaves the bundle as soon as every SVID is re-issued.
        reason: 'KeyCompromise',
      },
    } satisfies Pick<KeyRevocation, 'apiVersion' | 'kind' | 'metadata' | 'spec'>;
    for (const line of stringify(revocation).trimEnd().split('\n')) sayIndented(`  ${line}`);
    await this.api('POST', collectionPath(trustlineResource(keyRevocationKind)), { body: revocation });
    const done = await this.followRevocation(revocation.metadata.name);

    this.section('The trust bundle after the revocation');
    const after = await this.waitFor(`a bundle without authority ${target}`, 60_000, async () => {
      const current = await this.readBundle(namespace, bundleName);
      return current && !current.authorities.some((authority) => authority.id === target)
        ? current
        : undefined;
    });
    for (const line of formatBundle(after, await this.authorityStates(trustDomain))) say(line);
    sayIndented(
      `Authority ${target} is gone; ${done.status?.replacedBy ?? 'its replacement'} took over. The old SVID (serial ${svid.serial}) ${
        signerInBundle(svid, after) ? 'still verifies' : 'no longer verifies against this bundle'
      }.`,
    );

    const { pem: reissuedPem, svid: reissued } = await this.waitFor(
      'the SVID re-issued by another authority',
      60_000,
      async () => {
        const current = await readSvid();
        return current && current.svid.authorityId !== target ? current : undefined;
      },
    );
    this.section(`The re-issued X.509-SVID in Secret ${namespace}/${secretName}`);
    for (const line of formatSvid(reissued)) say(line);
    const signer = signerInBundle(reissued, after);
    sayIndented(
      signer
        ? `It verifies against the new bundle: authority ${signer.id} signed it.`
        : 'It does not verify against the new bundle yet.',
    );

    const svidAfter = `${secretName}-reissued.pem`;
    await writeFile(join(this.dir, svidAfter), reissuedPem);
    this.section('The trustline CLI after the revocation');
    await this.trustline(['status']);
    await this.trustline(['verify', 'svid', '--bundle', bundleSource, '--cert', svidAfter]);
    // The point of the revocation: what the revoked authority signed is refused from now on.
    await this.trustline(['verify', 'svid', '--bundle', bundleSource, '--cert', svidBefore], 1);

    say(`\nThe walk-through took ${formatLifetime(Date.now() - this.started)}.`);
    if (this.keep) await this.keepRunning(kubeconfig, samples, bundleSource);
  }

  /** --keep: the cluster and the operator stay up, with commands to try, until Ctrl-C. */
  async keepRunning(kubeconfig: string, { entry }: Samples, bundleSource: string) {
    const namespace = entry.metadata.namespace;
    const jsonPathKey = (key: string) => key.replaceAll('.', '\\.');
    this.section('Keeping the cluster and Trustline running');
    sayIndented('In another shell, from the repository:');
    for (const line of [
      `export KUBECONFIG=${kubeconfig}`,
      `alias kubectl=${this.kubectlPath}`,
      `kubectl get ${trustDomainKind.plural},${keyRevocationKind.plural}`,
      `kubectl -n ${namespace} get ${registrationEntryKind.plural}`,
      `kubectl -n ${namespace} get secret ${entry.spec.secret.name} -o jsonpath='{.data.${jsonPathKey(TLS_CERT_KEY)}}' | base64 -d | openssl x509 -noout -text`,
      `npm run trustline -- inspect bundle ${bundleSource}`,
      'npm run trustline -- status',
      `tail -f ${this.operatorLog}`,
    ]) {
      sayIndented(`  ${line}`);
    }
    sayIndented('Press Ctrl-C to stop everything and remove the temp folder.');
    this.kept = true;
    await untilAborted(this.aborted.signal);
  }

  /**
   * Runs the `trustline` CLI as a user would, in a child process with the demo's KUBECONFIG and the temp
   * folder as its working directory, and prints what it says. Another exit code than `expected` fails
   * the demo.
   */
  async trustline(args: string[], expected = 0) {
    this.checkAborted();
    sayIndented(`$ trustline ${args.join(' ')}`);
    const { code, output } = await runForOutput(process.execPath, [TRUSTLINE_CLI, ...args], {
      cwd: this.dir ?? REPOSITORY,
      env: { ...process.env, KUBECONFIG: this.controlPlane?.kubeconfig },
    });
    // Blank lines stay blank rather than carrying the indent.
    for (const line of output.trimEnd().split('\n')) say(line === '' ? '' : `${INDENT}  ${line}`);
    if (code !== expected) {
      throw new Error(
        `trustline ${args.join(' ')} exited with ${code}, not ${expected} (its output is above)`,
      );
    }
    if (code !== 0) sayIndented(`  (exit code ${code}, as it should be)`);
  }

  /** Stops the operator and the control plane and removes the temp folder; once, however often it is called. */
  teardown(): Promise<void> {
    this.#teardown ??= (async () => {
      await this.starting?.catch(() => {});
      if (await this.stopOperator()) sayIndented('Trustline stopped');
      await this.client?.close().catch(() => {});
      if (this.dir === undefined) return;
      if (this.starting) {
        // kube-apiserver drains for about ten seconds before it exits; stopControlPlane waits that long.
        sayIndented('stopping the control plane (this takes about ten seconds)');
      }
      await stopControlPlane(this.controlPlaneDir);
      await rm(this.dir, { recursive: true, force: true });
      sayIndented(`control plane stopped, ${this.dir} removed`);
    })();
    return this.#teardown;
  }

  checkAborted() {
    if (this.aborted.signal.aborted) throw new Error('interrupted');
  }

  async kubectl(args: string[]) {
    this.checkAborted();
    sayIndented(`$ kubectl ${args.join(' ')}`);
    const env = { ...process.env, KUBECONFIG: this.controlPlane?.kubeconfig };
    try {
      await run(this.kubectlPath, args, { cwd: REPOSITORY, env, onLine: (line) => sayIndented(`  ${line}`) });
    } catch {
      // Its output is on the screen already.
      throw new Error(`kubectl ${args.join(' ')} failed (its output is above)`);
    }
  }

  async startOperator(kubeconfig: string) {
    const operatorNamespace = namespaceObjectSchema.parse(
      parseYaml(await readFile(OPERATOR_NAMESPACE_FILE, 'utf8')),
    ).metadata.name;
    this.checkAborted();
    const log = openSync(this.operatorLog, 'a');
    this.operator = spawn(process.execPath, [join(REPOSITORY, 'src', 'main.ts')], {
      cwd: REPOSITORY,
      env: {
        ...process.env,
        ...OPERATOR_PROCESS_ENV,
        KUBECONFIG: kubeconfig,
        TRUSTLINE_NAMESPACE: operatorNamespace,
        // Port 0: free ports, so the demo never collides with another operator on :8080 and :8081.
        TRUSTLINE_METRICS_ADDRESS: '127.0.0.1:0',
        TRUSTLINE_PROBE_ADDRESS: '127.0.0.1:0',
      },
      stdio: ['ignore', log, log],
    });
    // The child has its own copy of the descriptor.
    closeSync(log);
    const operator = this.operator;
    await this.waitFor(
      'Trustline to sync its caches',
      60_000,
      async () => {
        if (operator.exitCode !== null) {
          const text = await readFile(this.operatorLog, 'utf8');
          throw new Error(
            `Trustline exited with code ${operator.exitCode}: ${lastOperatorError(text) ?? 'no error logged'}`,
          );
        }
        const text = await readFile(this.operatorLog, 'utf8');
        return text.split('\n').some((line) => parseLogLine(line)?.text === 'caches synced')
          ? true
          : undefined;
      },
      { fatal: true },
    );
    sayIndented(`Trustline is running (pid ${operator.pid}); its log: ${this.operatorLog}`);
  }

  /** Whether an operator was running: SIGTERM, then SIGKILL if it has not stopped within 15s. */
  async stopOperator(): Promise<boolean> {
    const operator = this.operator;
    if (!operator) return false;
    if (operator.exitCode === null && operator.signalCode === null) {
      const exited = new Promise((resolve) => operator.once('exit', resolve));
      operator.kill('SIGTERM');
      if ((await Promise.race([exited, sleep(15_000, 'timeout')])) === 'timeout') {
        operator.kill('SIGKILL');
        await exited;
      }
    }
    return true;
  }

  /**
   * Polls `probe` until it returns a value. Probe errors count as "not yet" (objects appear over time)
   * unless `fatal`; a timeout names what was awaited and the operator's last error.
   */
  async waitFor<T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined>,
    { fatal = false } = {},
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      this.checkAborted();
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        if (fatal) throw error;
        lastError = error;
      }
      if (Date.now() > deadline) break;
      await sleep(250);
    }
    const operatorError = lastOperatorError(await readFile(this.operatorLog, 'utf8').catch(() => ''));
    const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
    throw new Error(
      `timed out after ${timeoutMs / 1000}s waiting for ${what}${cause}${operatorError ? `; Trustline's last error: ${operatorError}` : ''}`,
    );
  }

  async api(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    if (!this.client) throw new Error('no control plane');
    return this.client.request(method, path, options);
  }

  async readSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = dataObjectSchema.parse(
        await this.api('GET', objectPath(coreResources.secrets, name, namespace)),
      );
      return decodeSecretData(secret.data);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The bundle ConfigMaps Trustline published for the TrustDomain in `namespace`, found by its labels. */
  async bundleConfigMaps(trustDomain: TrustDomain, namespace: string): Promise<DataObject[]> {
    const labelSelector = `${LABEL_TRUST_DOMAIN_OBJECT}=${labelValueFor(trustDomain.metadata.name)},${LABEL_CONTENT}=${CONTENT_TRUST_BUNDLE}`;
    const list = await this.api('GET', collectionPath(coreResources.configMaps, namespace), {
      query: { labelSelector },
    });
    return configMapListSchema.parse(list).items;
  }

  async readBundle(namespace: string, name: string): Promise<BundleSummary | undefined> {
    const configMap = dataObjectSchema.parse(
      await this.api('GET', objectPath(coreResources.configMaps, name, namespace)),
    );
    const document = configMap.data?.[BUNDLE_SPIFFE_KEY];
    return document === undefined ? undefined : summarizeBundle(document);
  }

  async readTrustDomain(trustDomain: TrustDomain): Promise<TrustDomain> {
    return trustDomainSchema.parse(
      await this.api('GET', objectPath(trustlineResource(trustDomainKind), trustDomain.metadata.name)),
    );
  }

  /** Each authority's state (Active, Prepared, Old, Tainted) from the TrustDomain status. */
  async authorityStates(trustDomain: TrustDomain): Promise<Map<string, string>> {
    const current = await this.readTrustDomain(trustDomain);
    return new Map((current.status?.authorities ?? []).map((authority) => [authority.id, authority.state]));
  }

  async activeX509(trustDomain: TrustDomain): Promise<string> {
    return this.waitFor(
      `an active X.509 authority of TrustDomain ${trustDomain.metadata.name}`,
      60_000,
      async () => {
        const current = await this.readTrustDomain(trustDomain);
        return current.status?.authorities?.find(
          (authority) => authority.kind === 'X509' && authority.state === 'Active',
        )?.id;
      },
    );
  }

  /** Waits for the revocation to complete, printing each phase as the KeyRevocation status reports it. */
  async followRevocation(name: string): Promise<KeyRevocation> {
    let shown = '';
    return this.waitFor(
      `KeyRevocation ${name} to complete`,
      180_000,
      async () => {
        const object = keyRevocationSchema.parse(
          await this.api('GET', objectPath(trustlineResource(keyRevocationKind), name)),
        );
        const status = object.status;
        const ready = status?.conditions?.find((condition) => condition.type === 'Ready');
        const line = `${status?.phase ?? 'Pending'}${ready ? ` (${ready.reason}): ${ready.message}` : ''}`;
        if (line !== shown) sayIndented(`phase ${line}`);
        shown = line;
        if (status?.phase === 'Failed')
          throw new Error(`KeyRevocation ${name} failed: ${ready?.message ?? ''}`);
        return status?.phase === 'Revoked' ? object : undefined;
      },
      { fatal: true },
    );
  }
}

async function main() {
  const demo = new Demo(process.argv.includes('--keep'));
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // `npm run` passes the terminal's Ctrl-C on as well, so one keypress can arrive twice.
    if (firstSignalAt > 0 && Date.now() - firstSignalAt > 2_000) process.exit(130);
    if (firstSignalAt > 0) return;
    firstSignalAt = Date.now();
    if (!demo.kept) {
      say(
        `\n${signal}: interrupted; cleaning up (Ctrl-C again quits at once, leaving the control plane running)`,
      );
    }
    demo.aborted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let failure: unknown;
  try {
    // A signal ends the walk-through at once, even in the middle of a control plane build.
    await Promise.race([demo.run(), untilAborted(demo.aborted.signal)]);
  } catch (error) {
    failure = error;
  }
  const interrupted = demo.aborted.signal.aborted && !demo.kept;
  say('\nTearing down');
  await demo.teardown();
  if (interrupted) process.exit(130);
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    console.error(`demo failed: ${message.split('\n')[0]}`);
    process.exit(1);
  }
  say(`Done in ${formatLifetime(Date.now() - demo.started)}.`);
  process.exit(0);
}

if (import.meta.main) await main();
