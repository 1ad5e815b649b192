import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { RunningControlPlane } from '../hack/controlplane/cluster.ts';
import { registrationEntryKind, registrationEntryStatusSchema } from '../src/api/registrationentry.ts';
import { ANNOTATION_SVID_SERIAL, LABEL_MANAGED_BY, MANAGED_BY_TRUSTLINE } from '../src/api/well-known.ts';
import { Informer, objectKey } from '../src/kube/informer.ts';
import { collectionPath, coreResources, trustlineResource } from '../src/kube/resources.ts';
import type { RestClient } from '../src/kube/rest.ts';
import { createLogger } from '../src/observability/logger.ts';
import { between, type RequestTally, reportRequests, tallyRequests, totalOf } from './api-requests.ts';
import { settledRequests } from './entries.ts';
import { startRun, until } from './operator.ts';
import { cpuPerRenewalMs, percentOfCore, processStats } from './process-stats.ts';
import { formatReconciles, passesPer, tallyReconciles } from './reconciles.ts';
import {
  measureRevocation,
  type RevocationBench,
  RevocationUnfinished,
  reportRevocation,
} from './revocation.ts';
import { ms, percentile } from './stats.ts';
import { createEntry, createTrustDomain } from './workloads.ts';

const readySchema = z.object({ status: registrationEntryStatusSchema.pick({ conditions: true }).optional() });
const isReady = (object: unknown) =>
  readySchema
    .safeParse(object)
    .data?.status?.conditions?.some(
      (condition) => condition.type === 'Ready' && condition.status === 'True',
    ) ?? false;

/** The entries are spread over this many namespaces, as a cluster of many tenants has them. */
const NAMESPACES = 100;
const CREATE_PARALLELISM = 50;
const SINGLES = 50;
const IDLE_SECONDS = 60;
/** Entries at a 10 s TTL, so each renews about every five seconds, for CPU per renewal. */
const RENEWING = 20;
const RENEWAL_SECONDS = 30;
const ENTRY_QUEUE = registrationEntryKind.kind;
/** Generous beside the goals (10 s at 1,000, 60 s at 10,000), so a slow run still yields figures. */
const revocationTimeoutMs = (entries: number) => Math.max(300_000, entries * 90);

export interface ScaleBench {
  entries: number;
  idleRssMiB?: number;
  burst?: {
    readyMs: number;
    secretsMs: number;
    createMs: number;
    peakRssMiB: number;
    passesPerEntry: number;
    reconciles: string;
    requests: RequestTally;
    untilReady: number;
  };
  singleMs?: number[];
  idle?: { cpuPercent: number; reconciles: string; requests: number };
  revocation?: RevocationBench & { passesPerEntry: number; reconciles: string; requests: RequestTally };
  /** Until the revocation's deadline, when it did not finish. */
  unfinishedRevocation?: { reconciles: string; requests: RequestTally };
  renewal?: {
    /** SVIDs the operator issued in the window, whatever the entry: what the CPU was spent on. */
    issued: number;
    /** Of those, new serials seen in the Secrets of the short-lived entries. */
    renewals: number;
    cpuPerIssueMs: number | undefined;
    cpuPercent: number;
  };
  finalPeakRssMiB?: number;
  aborted: { phase: string; reason: string }[];
}

/**
 * The large run (`--entries N`): N entries over 100 namespaces at once until every one is Ready, new
 * entries among N existing, a quiet minute's CPU, a revocation over all N SVIDs, CPU per renewal.
 * Each step that fails is reported with what it reached and the next step still runs, unless the
 * operator itself has exited.
 */
export async function measureScale(
  client: RestClient,
  controlPlane: RunningControlPlane,
  entries: number,
  log: (message: string) => void,
): Promise<ScaleBench> {
  const run = `scale-${Date.now().toString(36)}`;
  const { operator, operatorNamespace, namespace } = await startRun(client, controlPlane, run, log);
  const namespaces = [
    namespace,
    ...Array.from({ length: NAMESPACES - 1 }, (_, i) => `${namespace}-${i + 1}`),
  ];
  for (const name of namespaces.slice(1)) {
    await client.request('POST', collectionPath(coreResources.namespaces), {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { bench: run } } },
    });
  }
  const secretAt = new Map<string, number>();
  const serials = new Map<string, string>();
  /** How many serials each Secret has held, so renewals can be told from other re-issues. */
  const serialChanges = new Map<string, number>();
  const serialsOf = (keys: string[]) => keys.reduce((sum, key) => sum + (serialChanges.get(key) ?? 0), 0);
  const readyAt = new Map<string, number>();
  const createdAt = new Map<string, number>();
  const secrets = new Informer(client, {
    resource: { ...coreResources.secrets },
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY_TRUSTLINE}`,
    log: createLogger('warn'),
    // The bench needs only when each Secret arrived: its data would cost memory beside the operator's.
    transform: (object) => ({ metadata: object.metadata }),
    onChange: (change, object) => {
      const key = objectKey(object).replace(/-svid$/, '');
      if (change === 'added') secretAt.set(key, performance.now());
      const serial = object.metadata.annotations?.[ANNOTATION_SVID_SERIAL];
      if (change !== 'deleted' && serial !== undefined && serials.get(key) !== serial) {
        serials.set(key, serial);
        serialChanges.set(key, (serialChanges.get(key) ?? 0) + 1);
      }
    },
  });
  const registrationEntries = new Informer(client, {
    resource: trustlineResource(registrationEntryKind),
    log: createLogger('warn'),
    onChange: (change, object) => {
      const key = objectKey(object);
      if (change !== 'deleted' && !readyAt.has(key) && isReady(object)) readyAt.set(key, performance.now());
    },
  });
  // The last scrape is kept so reconciles are read from the same one as the settled request tally.
  let lastScrape = '';
  const scrape = async (): Promise<string> => {
    lastScrape = await operator.metrics();
    return lastScrape;
  };
  const result: ScaleBench = { entries, aborted: [] };
  let progress = () => '';
  const step = async (phase: string, body: () => Promise<void>) => {
    if (operator.exited) {
      result.aborted.push({ phase, reason: 'not run: the operator had exited' });
      return;
    }
    try {
      await body();
    } catch (error) {
      const unfinished =
        error instanceof RevocationUnfinished
          ? `${error.remaining} of ${error.affected} SVIDs still held an SVID the key signed`
          : '';
      const message = error instanceof Error ? error.message : String(error);
      const reason = [message, unfinished, progress()].filter(Boolean).join('; ');
      log(`${phase}: ${reason}`);
      result.aborted.push({ phase, reason });
    }
    progress = () => '';
  };
  const has = (keys: string[], seen: Map<string, number>) => async () => {
    operator.assertRunning();
    return keys.every((key) => seen.has(key));
  };
  const create = async (ns: string, name: string, x509?: { ttl: string }) => {
    createdAt.set(`${ns}/${name}`, performance.now());
    await createEntry(client, run, ns, name, x509);
  };
  const stats = () => processStats(operator.child.pid);
  const total = entries + SINGLES + 1;
  try {
    await createTrustDomain(client, run);
    await secrets.start();
    await registrationEntries.start();
    await step('the first entry', async () => {
      await create(namespace, 'warmup');
      await until('the first Secret', has([`${namespace}/warmup`], secretAt));
      result.idleRssMiB = (await stats()).rssMiB;
    });

    log(`creating ${entries} entries over ${NAMESPACES} namespaces at once`);
    await step(`the ${entries}-entry burst`, async () => {
      const keys = Array.from({ length: entries }, (_, i) => `${namespaces[i % NAMESPACES]}/bulk-${i}`);
      const before = await scrape();
      const start = performance.now();
      const elapsed = () => `${((performance.now() - start) / 1000).toFixed(1)} s after the first create`;
      progress = () =>
        `${keys.filter((key) => secretAt.has(key)).length} Secrets and ${keys.filter((key) => readyAt.has(key)).length} entries Ready of ${entries}, ${elapsed()}`;
      for (let i = 0; i < keys.length; i += CREATE_PARALLELISM) {
        await Promise.all(
          keys.slice(i, i + CREATE_PARALLELISM).map((key) => {
            const [ns = '', name = ''] = key.split('/');
            return create(ns, name);
          }),
        );
      }
      const createMs = performance.now() - start;
      const timeoutMs = Math.max(300_000, entries * 60);
      await until(`${entries} Secrets`, has(keys, secretAt), timeoutMs);
      const secretsMs = performance.now() - start;
      await until(`${entries} entries Ready`, has(keys, readyAt), timeoutMs);
      const readyMs = performance.now() - start;
      const untilReady = totalOf(between(tallyRequests(before), tallyRequests(await scrape())).requests);
      const peakRssMiB = (await stats()).peakMiB;
      const requests = between(tallyRequests(before), await settledRequests(scrape));
      const reconcilesBefore = tallyReconciles(before);
      const reconcilesAfter = tallyReconciles(lastScrape);
      result.burst = {
        readyMs,
        secretsMs,
        createMs,
        peakRssMiB,
        passesPerEntry: passesPer(reconcilesBefore, reconcilesAfter, ENTRY_QUEUE, entries),
        reconciles: formatReconciles(reconcilesBefore, reconcilesAfter),
        requests,
        untilReady,
      };
    });

    log(`timing ${SINGLES} new entries one at a time among ${entries}`);
    await step(`new entries among ${entries}`, async () => {
      const singleMs: number[] = [];
      progress = () => `${singleMs.length} of ${SINGLES} timed`;
      for (let i = 0; i < SINGLES; i += 1) {
        const key = `${namespace}/single-${i}`;
        await create(namespace, `single-${i}`);
        await until(`Secret single-${i}-svid`, has([key], secretAt));
        singleMs.push((secretAt.get(key) ?? Number.NaN) - (createdAt.get(key) ?? Number.NaN));
      }
      result.singleMs = singleMs;
    });

    log(`${IDLE_SECONDS} s of the operator's CPU with ${entries} entries issued and no renewal due`);
    await step('the quiet minute', async () => {
      await settledRequests(scrape);
      const before = { stats: await stats(), metrics: await scrape(), at: performance.now() };
      const end = before.at + IDLE_SECONDS * 1000;
      while (performance.now() < end) {
        operator.assertRunning();
        await sleep(500);
      }
      const after = { stats: await stats(), metrics: await scrape(), at: performance.now() };
      result.idle = {
        cpuPercent: percentOfCore(after.stats.cpuMs - before.stats.cpuMs, after.at - before.at),
        reconciles: formatReconciles(tallyReconciles(before.metrics), tallyReconciles(after.metrics)),
        requests: totalOf(between(tallyRequests(before.metrics), tallyRequests(after.metrics)).requests),
      };
    });

    log(`revoking the active X.509 authority under all ${total} SVIDs`);
    await step('the revocation', async () => {
      const before = await scrape();
      const sinceBefore = async () => ({
        requests: between(tallyRequests(before), tallyRequests(await scrape())),
        reconciles: formatReconciles(tallyReconciles(before), tallyReconciles(lastScrape)),
      });
      const revocation = await measureRevocation(client, {
        trustDomainObject: run,
        trustDomain: `${run}.example.org`,
        operatorNamespace,
        namespace,
        everyNamespace: true,
        bundleConfigMap: `${run}-trust-bundle`,
        timeoutMs: revocationTimeoutMs(entries),
        assertRunning: () => operator.assertRunning(),
      }).catch(async (error: unknown) => {
        // What the operator did meanwhile says why: refused writes, or passes that sent nothing.
        if (error instanceof RevocationUnfinished) result.unfinishedRevocation = await sinceBefore();
        throw error;
      });
      const requests = between(tallyRequests(before), await settledRequests(scrape));
      result.revocation = {
        ...revocation,
        passesPerEntry: passesPer(
          tallyReconciles(before),
          tallyReconciles(lastScrape),
          ENTRY_QUEUE,
          revocation.affected,
        ),
        reconciles: formatReconciles(tallyReconciles(before), tallyReconciles(lastScrape)),
        requests,
      };
    });

    log(`${RENEWAL_SECONDS} s of renewals: ${RENEWING} entries with a 10 s TTL`);
    await step('CPU per renewal', async () => {
      const keys = Array.from({ length: RENEWING }, (_, i) => `${namespace}/renew-${i}`);
      for (const key of keys) await create(namespace, key.split('/')[1] ?? '', { ttl: '10s' });
      await until(`${RENEWING} short-lived SVIDs`, has(keys, secretAt));
      const before = { stats: await stats(), metrics: await scrape(), at: performance.now() };
      const serialsBefore = serialsOf(keys);
      await sleep(RENEWAL_SECONDS * 1000);
      operator.assertRunning();
      const after = { stats: await stats(), metrics: await scrape(), at: performance.now() };
      const window = {
        cpuMs: after.stats.cpuMs - before.stats.cpuMs,
        wallMs: after.at - before.at,
        renewals: between(tallyRequests(before.metrics), tallyRequests(after.metrics)).svidsIssued,
      };
      result.renewal = {
        issued: window.renewals,
        renewals: serialsOf(keys) - serialsBefore,
        cpuPerIssueMs: cpuPerRenewalMs(window, result.idle?.cpuPercent ?? 0),
        cpuPercent: percentOfCore(window.cpuMs, window.wallMs),
      };
    });
    if (!operator.exited) result.finalPeakRssMiB = (await stats()).peakMiB;
    return result;
  } finally {
    await secrets.stop();
    await registrationEntries.stop();
    await operator.stop();
  }
}

const seconds = (value: number) => `${(value / 1000).toFixed(1)} s`;

export function reportScale(bench: ScaleBench): string[] {
  const { entries, idleRssMiB, burst, singleMs, idle, revocation, unfinishedRevocation, renewal } = bench;
  return [
    ...(burst
      ? [
          `${entries} entries over ${NAMESPACES} namespaces created at once → every entry Ready: ${seconds(burst.readyMs)} (every Secret in the cache after ${seconds(burst.secretsMs)}; the creates alone took ${seconds(burst.createMs)})`,
          `operator peak memory (VmHWM) once every entry was Ready: ${burst.peakRssMiB.toFixed(0)} MiB (VmRSS ${idleRssMiB?.toFixed(0) ?? '?'} MiB before the burst)`,
          `queue passes per entry over the burst: ${burst.passesPerEntry.toFixed(2)} ${ENTRY_QUEUE} reconciles per entry (reconciles: ${burst.reconciles})`,
          ...reportRequests(`the ${entries}-entry burst`, burst.requests, {
            requests: burst.untilReady,
            ms: burst.readyMs,
          }),
        ]
      : []),
    ...(singleMs
      ? [
          `new entry → its Secret in the cache, with ${entries} existing (${singleMs.length} one at a time, leader election on): p50 ${ms(percentile(singleMs, 50))}, p99 ${ms(percentile(singleMs, 99))}`,
        ]
      : []),
    ...(idle
      ? [
          `operator CPU over ${IDLE_SECONDS} s with ${entries + SINGLES + 1} entries issued and no renewal due: ${idle.cpuPercent.toFixed(2)} % of a core; reconciles in that minute: ${idle.reconciles}; API requests: ${idle.requests}`,
        ]
      : []),
    ...(revocation
      ? [
          ...reportRevocation(revocation),
          `queue passes per entry over the revocation: ${revocation.passesPerEntry.toFixed(2)} ${ENTRY_QUEUE} reconciles per entry (reconciles: ${revocation.reconciles})`,
          ...reportRequests('the revocation', revocation.requests, {
            requests: totalOf(revocation.requests.requests),
            ms: revocation.revokedMs,
          }),
        ]
      : []),
    ...(unfinishedRevocation
      ? [
          `reconciles during the unfinished revocation: ${unfinishedRevocation.reconciles}`,
          ...reportRequests('the unfinished revocation', unfinishedRevocation.requests, {
            requests: totalOf(unfinishedRevocation.requests.requests),
            ms: revocationTimeoutMs(entries),
          }),
        ]
      : []),
    ...(renewal
      ? [
          `CPU per renewal: ${renewal.cpuPerIssueMs === undefined ? 'no SVID issued' : ms(renewal.cpuPerIssueMs)} per SVID issued (${renewal.issued} issued in ${RENEWAL_SECONDS} s with ${RENEWING} entries at a 10 s TTL, whose Secrets took ${renewal.renewals} new serials, about ${(RENEWING * RENEWAL_SECONDS) / 5} expected; ${renewal.cpuPercent.toFixed(1)} % of a core, less the quiet minute's rate)`,
        ]
      : []),
    ...(bench.finalPeakRssMiB !== undefined
      ? [`operator peak memory (VmHWM) over the whole run: ${bench.finalPeakRssMiB.toFixed(0)} MiB`]
      : []),
    ...bench.aborted.map(({ phase, reason }) => `ABORTED during ${phase}: ${reason}`),
  ];
}
