import { type Logger, pino } from 'pino';

/**
 * Paths that could carry key material if an object were logged whole. Trustline never logs keys on
 * purpose; this is the second line of defence.
 */
const REDACT = ['*.privateKey', '*.key', '*.data', 'data', 'privateKey', '*.stringData'];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'trustline', level, redact: { paths: REDACT, censor: '[redacted]' } });
}
