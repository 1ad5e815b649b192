import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { RunningControlPlane } from '../hack/controlplane/cluster.ts';
import { LABEL_MANAGED_BY, MANAGED_BY_TRUSTLINE } from '../src/api/well-known.ts';
import { Informer } from '../src/kube/informer.ts';
import { collectionPath, coreResources } from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { createLogger } from '../src/observability/logger.ts';
import { type EventLoopDelay, parseEventLoopDelay } from '../test/fixtures/event-loop-delay.ts';
import { between, type RequestTally, reportRequests, tallyRequests, totalOf } from './api-requests.ts';
import { formatEventLoopDelay } from './event-loop.ts';
import { OperatorExited, startRun, until } from './operator.ts';
import { processStats } from './process-stats.ts';
import { measureRevocation, type RevocationBench, reportRevocation } from './revocation.ts';
import { ms, percentile } from './stats.ts';
import { createEntry, createTrustDomain } from './workloads.ts';

const eventListSchema = z.object({
  items: z.array(z.looseObject({ involvedObject: z.looseObject({ name: z.string() }) })),
});

const ENTRIES = 1000;
/** Parallel create requests while the 1,000 entries go in. */
const CREATE_PARALLELISM = 50;

export interface EntryBench {
  singleMs?: number[];
  bulk?: {
    p50: number;
    p99: number;
    totalMs: number;
    createMs: number;
    peakRssMiB: number;
    /** The operator's, from the first create until every Secret was ready. */
    eventLoop: EventLoopDelay;
  };
  records?: { events: number; audits: number };
  /** The operator's API requests from the first create until the burst's work had settled. */
  requests?: { tally: RequestTally; untilReady: number; untilReadyMs: number };
  revocation?: RevocationBench;
  /** The phase during which the operator exited (the leader lost its Lease, or a crash), and why. */
  aborted?: { phase: string; reason: string };
}

/**
 * From a RegistrationEntry's creation to its Secret in the watch cache: twenty entries one after
 * another, then 1,000 created at once (p50, p99, until the last Secret, the operator's peak memory),
 * and whether every issuance left its Event and audit record.
 */
export async function measureEntries(
  client: RestClient,
  controlPlane: RunningControlPlane,
  log: (message: string) => void,
): Promise<EntryBench> {
  const run = `bench-${Date.now().toString(36)}`;
  const auditLog = join('/tmp', `${run}-audit.log`);
  const { operator, operatorNamespace, namespace } = await startRun(client, controlPlane, run, log, {
    TRUSTLINE_AUDIT_LOG: auditLog,
  });
  const result: EntryBench = {};
  let phase = 'the first entry';
  /** How far the current phase got, for a report of where the operator exited. */
  let progress = () => '';
  const issued = (names: string[]) => async () => {
    operator.assertRunning();
    return names.every((name) => ready.has(`${name}-svid`));
  };
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const secrets = new Informer(client, {
    resource: { ...coreResources.secrets },
    namespace,
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}`,
    log: createLogger('warn'),
    onChange: (change, object) => {
      if (change === 'added') ready.set(object.metadata.name, performance.now());
    },
  });
  try {
    await createTrustDomain(client, run);
    await secrets.start();
    const create = async (name: string) => {
      created.set(`${name}-svid`, performance.now());
      await createEntry(client, run, namespace, name);
    };
    const latency = (secret: string) =>
      (ready.get(secret) ?? Number.NaN) - (created.get(secret) ?? Number.NaN);

    log('timing single entries until their Secret is in the cache');
    await create('warmup');
    await until('the first Secret', issued(['warmup']));
    phase = 'entries one at a time';
    const singleMs: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      await create(`single-${i}`);
      await until(`Secret single-${i}`, issued([`single-${i}`]));
      singleMs.push(latency(`single-${i}-svid`));
    }
    result.singleMs = singleMs;

    log(`creating ${ENTRIES} entries at once`);
    phase = `the ${ENTRIES}-entry burst`;
    const names = Array.from({ length: ENTRIES }, (_, i) => `bulk-${i}`);
    // This scrape starts the event-loop window afresh.
    const requestsBefore = tallyRequests(await operator.metrics());
    const start = performance.now();
    progress = () =>
      `${names.filter((name) => ready.has(`${name}-svid`)).length} of ${ENTRIES} Secrets were ready ${((performance.now() - start) / 1000).toFixed(1)} s after the first create`;
    for (let i = 0; i < names.length; i += CREATE_PARALLELISM) {
      await Promise.all(names.slice(i, i + CREATE_PARALLELISM).map(create));
    }
    const allCreated = performance.now();
    await until(`${ENTRIES} Secrets`, issued(names));
    const atReady = await operator.metrics();
    const totalMs = performance.now() - start;
    const eventLoop = parseEventLoopDelay(atReady);
    const untilReady = totalOf(between(requestsBefore, tallyRequests(atReady)).requests);
    const createMs = allCreated - start;
    const bulkMs = names.map((name) => latency(`${name}-svid`));
    result.bulk = {
      p50: percentile(bulkMs, 50),
      p99: percentile(bulkMs, 99),
      totalMs,
      createMs,
      peakRssMiB: (await processStats(operator.child.pid)).peakMiB,
      eventLoop,
    };
    await secrets.stop();
    phase = 'counting Events and audit records';
    progress = () => '';

    // Events and audit records trail the Secrets a little under load: count until all are in.
    const counts = async () => ({
      events: eventListSchema
        .parse(
          await client.request('GET', collectionPath(coreResources.events, namespace), {
            query: { fieldSelector: 'reason=Issued' },
          }),
        )
        .items.filter((event) => event.involvedObject.name.startsWith('bulk-')).length,
      audits: (await readFile(auditLog, 'utf8'))
        .split('\n')
        .filter((line) => line.includes('"operation":"x509-svid"') && line.includes('/bulk-')).length,
    });
    let { events, audits } = await counts();
    const countDeadline = Date.now() + 30_000;
    while ((events < ENTRIES || audits < ENTRIES) && Date.now() < countDeadline) {
      operator.assertRunning();
      await sleep(500);
      ({ events, audits } = await counts());
    }
    result.records = { events, audits };
    result.requests = {
      tally: between(requestsBefore, await settledRequests(() => operator.metrics())),
      untilReady,
      untilReadyMs: totalMs,
    };
    log(`revoking the active X.509 authority under all ${ENTRIES + 21} SVIDs`);
    phase = 'the revocation';
    result.revocation = await measureRevocation(client, {
      trustDomainObject: run,
      trustDomain: `${run}.example.org`,
      operatorNamespace,
      namespace,
      bundleConfigMap: `${run}-trust-bundle`,
      assertRunning: () => operator.assertRunning(),
    });
    return result;
  } catch (error) {
    if (!(error instanceof OperatorExited)) throw error;
    const reason = [error.message, progress()].filter(Boolean).join('; ');
    log(`${phase}: ${reason}`);
    return { ...result, aborted: { phase, reason } };
  } finally {
    await secrets.stop();
    await operator.stop();
  }
}

/** Status writes and Events trail the Secrets: the counters once a second has passed without a request. */
export async function settledRequests(scrape: () => Promise<string>): Promise<RequestTally> {
  let previous = tallyRequests(await scrape());
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await sleep(1_000);
    const current = tallyRequests(await scrape());
    const sent = between(previous, current).requests;
    // The leader renews its Lease and watches reconnect whatever happens: neither is the burst's.
    if ([...sent.keys()].every((key) => key.endsWith(' leases') || key.startsWith('WATCH '))) return current;
    previous = current;
  }
  return previous;
}

export function reportEntries({
  singleMs,
  bulk,
  records,
  requests,
  revocation,
  aborted,
}: EntryBench): string[] {
  return [
    ...(singleMs
      ? [
          `RegistrationEntry created → Secret in the cache, one at a time (20): p50 ${ms(percentile(singleMs, 50))}, p99 ${ms(percentile(singleMs, 99))}`,
        ]
      : []),
    ...(bulk
      ? [
          `${ENTRIES} entries created at once → every Secret ready: total ${ms(bulk.totalMs)} (the creates alone took ${ms(bulk.createMs)}); per entry p50 ${ms(bulk.p50)}, p99 ${ms(bulk.p99)}`,
          `operator event-loop delay over those ${ENTRIES}: ${formatEventLoopDelay(bulk.eventLoop)}; the leader kept its Lease`,
          `operator peak memory (VmHWM): ${bulk.peakRssMiB.toFixed(0)} MiB`,
        ]
      : []),
    ...(records
      ? [`Issued events ${records.events} of ${ENTRIES}, audit records ${records.audits} of ${ENTRIES}`]
      : []),
    ...(requests
      ? reportRequests(`the ${ENTRIES}-entry burst`, requests.tally, {
          requests: requests.untilReady,
          ms: requests.untilReadyMs,
        })
      : []),
    ...(revocation ? reportRevocation(revocation) : []),
    ...(aborted ? [`ABORTED during ${aborted.phase}: ${aborted.reason}`] : []),
  ];
}
