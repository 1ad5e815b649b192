import { setFlagsFromString } from 'node:v8';
import { configFromEnvironment } from './config.ts';
import { loadCredentials } from './kube/credentials.ts';
import { createLogger } from './observability/logger.ts';
import { Operator } from './operator.ts';

/**
 * V8 lets the old space grow to up to four times what the last full collection kept while a burst of
 * watch events and writes allocates fast; the caches themselves are a fraction of that (52 MB of a
 * 389 MiB peak at 2,000 entries). Growing by half at a time brings that peak to 288 MiB, with the
 * burst and the revocation as fast (`npm run bench -- --entries 2000`, 2026-12-06).
 */
setFlagsFromString('--heap-growing-percent=50');
const log = createLogger();
/** A second signal during shutdown exits at once, for an operator that is stuck. */
let stopping = false;

try {
  const operator = await Operator.start({
    credentials: await loadCredentials(),
    settings: configFromEnvironment(),
    log,
    // Restart with fresh caches and campaign again, as the kubelet restarts a container that exits.
    onLeadershipLost: () => {
      log.fatal('lost the leader Lease; exiting so that only the new leader writes');
      process.exit(1);
    },
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal }, 'shutting down');
      operator.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  log.fatal({ err: error }, 'Trustline could not start');
  process.exit(1);
}
