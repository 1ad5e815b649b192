import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collectionPath } from '../../src/kube/resources.ts';
import type { RestClient } from '../../src/kube/rest.ts';
import {
  createKeyRevocation,
  createWorkloads,
  keyRevocations,
  waitForRevocation,
} from './key-revocations.ts';
import { entries, waitForEntry } from './registration-entries.ts';
import { connectWithCrds, OperatorProcess, uniqueName } from './support.ts';
import {
  activeX509,
  createNamespace,
  createTrustDomain,
  deleteTrustDomains,
  readJournal,
  waitForReady,
} from './trust-domains.ts';

const WORKLOADS = 30;

const signingLine = z.object({ time: z.number(), signing: z.object({ operation: z.string() }) });

/**
 * A revocation counts the SVIDs left from the writes the apiserver confirmed, and the write of the
 * last one wakes it (test/unit/confirmed-svids.test.ts shows the wake-up itself): on a real apiserver
 * `reissuedAt` is never before the last re-issue is signed. How soon after is a figure of
 * `npm run bench` (tens of milliseconds alone, 545 ms once with the whole suite sharing two cores),
 * not a bound of a test.
 */
describe('revocation latency on a real control plane', () => {
  const run = uniqueName('revlat');
  const operatorNamespace = `${run}-system`;
  const shop = `${run}-shop`;
  const trustDomainName = run;
  const trustDomain = `${run}.example.org`;
  const auditLog = join(tmpdir(), `${run}-audit.log`);
  let client: RestClient;
  let operator: OperatorProcess;

  beforeAll(async () => {
    client = await connectWithCrds();
    await createNamespace(client, operatorNamespace);
    await createNamespace(client, shop);
    operator = await OperatorProcess.start({
      TRUSTLINE_NAMESPACE: operatorNamespace,
      TRUSTLINE_AUDIT_LOG: auditLog,
      LOG_LEVEL: 'info',
    });
    await createTrustDomain(client, trustDomainName, { trustDomain });
    await waitForReady(client, trustDomainName, 'True');
    await createWorkloads(client, trustDomainName, [shop], WORKLOADS);
    for (let i = 0; i < WORKLOADS; i++)
      await waitForEntry(client, shop, `${trustDomainName}-w${i}`, 'True', 'Issued');
  });

  afterAll(async () => {
    await client.request('DELETE', collectionPath(keyRevocations));
    await client.request('DELETE', collectionPath(entries, shop));
    await deleteTrustDomains(client, [trustDomainName]);
    await operator.stop();
    await client.close();
  });

  it('reports every SVID re-issued once the last one is signed, not before', async () => {
    const stored = await readJournal(client, operatorNamespace, trustDomain);
    if (!stored) throw new Error('no journal');
    const name = `${run}-x509`;
    const requested = Date.now();
    await createKeyRevocation(client, name, {
      trustDomainRef: { name: trustDomainName },
      authority: { kind: 'X509', id: activeX509(stored.journal).id },
      reason: 'KeyCompromise',
    });
    const done = await waitForRevocation(client, name, 'Revoked', 'Revoked');
    const reissuedAt = Date.parse(done.status?.reissuedAt ?? '');
    const signed = (await readFile(auditLog, 'utf8'))
      .split('\n')
      .flatMap((line) => {
        const parsed = line.startsWith('{') ? signingLine.safeParse(JSON.parse(line)) : undefined;
        return parsed?.success && parsed.data.signing.operation === 'x509-svid' ? [parsed.data.time] : [];
      })
      .filter((time) => time >= requested);
    expect(signed.length).toBeGreaterThanOrEqual(WORKLOADS);
    const lastSigned = Math.max(...signed);
    expect(reissuedAt).toBeGreaterThanOrEqual(lastSigned);
  });
});
