import { configFromEnvironment } from './config.ts';
import { loadCredentials } from './kube/credentials.ts';
import { createLogger } from './observability/logger.ts';
import { Operator } from './operator.ts';

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
