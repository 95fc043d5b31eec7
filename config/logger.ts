import pino, { type Logger } from 'pino';

/**
 * Structured logs. Redaction is a safety net: code never passes secrets or
 * sensitive values to the logger in the first place.
 */
export function createLogger(name: string, level: string): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    redact: {
      paths: ['pin', '*.pin', 'password', '*.password', 'authorization', '*.authorization', 'headers.authorization', 'value', '*.value', 'secret', '*.secret'],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
