/** Where the broker is and which tenant/namespace this service's topics live in. */
export interface PulsarConfig {
  /** Broker web service, e.g. http://127.0.0.1:8080; admin REST and WebSocket share it. */
  webServiceUrl: string;
  tenant: string;
  namespace: string;
}

/**
 * The subset of pino's API the adapter uses, so a pino logger (or a child of one) can be passed
 * as is and tests can pass a recorder. Callers never receive payloads through it.
 */
export interface PulsarLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export const silentLogger: PulsarLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Reconnection delays: exponential from initialMs, capped at maxMs, with jitter. */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}
