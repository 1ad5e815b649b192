import { API_VERSION } from '../src/api/group.ts';
import { registrationEntryKind } from '../src/api/registrationentry.ts';
import { trustDomainKind } from '../src/api/trustdomain.ts';
import { collectionPath, trustlineResource } from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';

/** A run's TrustDomain `<run>.example.org`, publishing its bundle to every namespace labelled `bench: <run>`. */
export async function createTrustDomain(client: RestClient, run: string): Promise<void> {
  await client.request('POST', collectionPath(trustlineResource(trustDomainKind)), {
    body: {
      apiVersion: API_VERSION,
      kind: 'TrustDomain',
      metadata: { name: run },
      spec: {
        trustDomain: `${run}.example.org`,
        bundle: { namespaceSelector: { matchLabels: { bench: run } } },
      },
    },
  });
}

/** A RegistrationEntry `name` of the run's trust domain whose SVIDs go to Secret `<name>-svid`. */
export async function createEntry(
  client: RestClient,
  run: string,
  namespace: string,
  name: string,
  x509?: { ttl: string },
): Promise<void> {
  await client.request('POST', collectionPath(trustlineResource(registrationEntryKind), namespace), {
    body: {
      apiVersion: API_VERSION,
      kind: 'RegistrationEntry',
      metadata: { name },
      spec: {
        trustDomainRef: { name: run },
        spiffeIDPath: `/ns/${namespace}/sa/${name}`,
        secret: { name: `${name}-svid` },
        ...(x509 ? { x509 } : {}),
      },
    },
  });
}
