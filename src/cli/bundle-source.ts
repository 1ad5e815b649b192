import { z } from 'zod';
import { API_VERSION } from '../api/group.ts';
import { trustDomainKind, trustDomainSchema } from '../api/trustdomain.ts';
import { describeIssues } from '../api/validation.ts';
import { BUNDLE_SPIFFE_KEY } from '../api/well-known.ts';
import type { AuthorityStatus } from '../core/trustdomain/status.ts';
import { BundleError, parseSpiffeBundle, type SpiffeBundle } from '../core/verify/bundle.ts';
import { isNotFound } from '../kube/errors.ts';
import { dataObjectSchema } from '../kube/objects.ts';
import { coreResources, objectPath, trustlineResource } from '../kube/resources.ts';
import { type Cluster, withCluster } from './cluster.ts';
import { CliError, usageError } from './errors.ts';
import { readText } from './files.ts';

/** Where a SPIFFE bundle is read from: a file, or a ConfigMap Trustline publishes it in. */
export type BundleSource =
  | { kind: 'file'; path: string }
  | { kind: 'configmap'; namespace: string; name: string; label: string };

const CONFIGMAP_PREFIX = /^(?:configmaps?|cm)\//;

export function parseBundleSource(text: string): BundleSource {
  if (!CONFIGMAP_PREFIX.test(text)) return { kind: 'file', path: text };
  const [namespace, name, ...rest] = text.replace(CONFIGMAP_PREFIX, '').split('/');
  if (namespace === undefined || name === undefined || namespace === '' || name === '' || rest.length > 0) {
    throw usageError(`${text}: write a ConfigMap as configmap/<namespace>/<name>`);
  }
  return { kind: 'configmap', namespace, name, label: `configmap/${namespace}/${name}` };
}

/** The lifecycle states of the authorities, when the bundle's TrustDomain could be read. */
export interface AuthorityStates {
  trustDomainObject: string;
  authorities: AuthorityStatus[];
}

export interface LoadedBundle {
  /** How messages name the source. */
  label: string;
  bundle: SpiffeBundle;
  states: AuthorityStates | undefined;
  /** Why states are missing from a ConfigMap's bundle, for people to act on. */
  notes: string[];
}

const parse = (label: string, text: string): SpiffeBundle => {
  try {
    return parseSpiffeBundle(text);
  } catch (error) {
    if (error instanceof BundleError) throw new CliError(`${label}: ${error.message}`);
    throw error;
  }
};

const trustDomains = trustlineResource(trustDomainKind);
const ownerSchema = z.object({ apiVersion: z.literal(API_VERSION), kind: z.literal(trustDomainKind.kind) });

/**
 * Trustline keeps each authority's state (Prepared, Active, Old, Tainted) in the owning TrustDomain's
 * status, not in the bundle: read it when the ConfigMap names its owner, and say why when it cannot.
 */
async function readStates(
  cluster: Cluster,
  owners: readonly { apiVersion: string; kind: string; name: string }[],
): Promise<{ states?: AuthorityStates; notes: string[] }> {
  const owner = owners.find((reference) => ownerSchema.safeParse(reference).success);
  if (owner === undefined)
    return { notes: ['no TrustDomain owns the ConfigMap, so authority states are unknown'] };
  const what = `TrustDomain ${owner.name}`;
  let object: unknown;
  try {
    object = await cluster.get(objectPath(trustDomains, owner.name));
  } catch (error) {
    if (error instanceof CliError) throw error;
    return {
      notes: [
        `${what} could not be read, so authority states are unknown: ${error instanceof Error ? error.message : String(error)}`,
      ],
    };
  }
  const parsed = trustDomainSchema.safeParse(object);
  if (!parsed.success) return { notes: [`${what} is not valid: ${describeIssues(parsed.error)}`] };
  return {
    states: { trustDomainObject: owner.name, authorities: parsed.data.status?.authorities ?? [] },
    notes: [],
  };
}

async function readConfigMap(
  cluster: Cluster,
  source: Extract<BundleSource, { kind: 'configmap' }>,
  withStates: boolean,
): Promise<LoadedBundle> {
  let object: unknown;
  try {
    object = await cluster.get(objectPath(coreResources.configMaps, source.name, source.namespace));
  } catch (error) {
    if (isNotFound(error)) throw new CliError(`${source.label}: not found`);
    throw error;
  }
  const configMap = dataObjectSchema.safeParse(object);
  const text = configMap.data?.data?.[BUNDLE_SPIFFE_KEY];
  if (text === undefined) {
    throw new CliError(
      `${source.label}: has no ${BUNDLE_SPIFFE_KEY} key; is it a Trustline bundle ConfigMap?`,
    );
  }
  const bundle = parse(source.label, text);
  const { states, notes } = withStates
    ? await readStates(cluster, configMap.data?.metadata.ownerReferences ?? [])
    : { states: undefined, notes: [] };
  return { label: source.label, bundle, states, notes };
}

/** Reads and parses the bundle; for a ConfigMap, also the states its TrustDomain reports when asked. */
export async function loadBundle(
  source: BundleSource,
  { kubeconfig, withStates }: { kubeconfig: string | undefined; withStates: boolean },
): Promise<LoadedBundle> {
  if (source.kind === 'file') {
    return {
      label: source.path,
      bundle: parse(source.path, await readText(source.path)),
      states: undefined,
      notes: [],
    };
  }
  return withCluster(kubeconfig, (cluster) => readConfigMap(cluster, source, withStates));
}
