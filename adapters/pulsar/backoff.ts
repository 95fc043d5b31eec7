import type { BackoffOptions } from './types';

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 100, maxMs: 10_000 };

/**
 * Delay before reconnection attempt `attempt` (0-based): exponential, capped, and "equal jitter"
 * (half fixed, half random) so that many clients dropped by one broker restart do not all
 * reconnect in the same millisecond, while none retries immediately in a tight loop.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const max = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const exp = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
