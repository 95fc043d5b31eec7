import { loadConfig } from '../../config/env';
import { sleep } from './services';

/** The bootstrap admin key the API under test runs with (it inherits this environment). */
export const ADMIN_API_KEY = loadConfig().ADMIN_API_KEY;

/** `Authorization: Bearer <admin key>`, plus any other headers. */
export function asAdmin(headers: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${ADMIN_API_KEY}`, ...headers };
}

export interface SeedView {
  seedId: string;
  keyring: string;
  version: number;
  state: string;
  kcv: string | null;
  stateReason: string | null;
  workflowId: string;
  statusUrl: string;
  workflowStatus?: string | null;
  history?: Array<{ type: string; actor: string; detail: Record<string, unknown> }>;
}

export async function postSeed(apiUrl: string, keyring: string, idempotencyKey?: string): Promise<{ status: number; body: SeedView; headers: Headers }> {
  const res = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, {
    method: 'POST',
    headers: asAdmin(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
  });
  return { status: res.status, body: (await res.json()) as SeedView, headers: res.headers };
}

export async function getSeed(apiUrl: string, seedId: string): Promise<SeedView> {
  const res = await fetch(`${apiUrl}/v1/seeds/${seedId}`, { headers: asAdmin() });
  if (res.status !== 200) throw new Error(`GET seed ${seedId} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as SeedView;
}

/** Polls the status URL until `predicate` holds; fails with the last view seen. */
export async function waitForSeed(apiUrl: string, seedId: string, predicate: (s: SeedView) => boolean, timeoutMs = 60_000): Promise<SeedView> {
  const started = Date.now();
  let last: SeedView | null = null;
  while (Date.now() - started < timeoutMs) {
    try {
      last = await getSeed(apiUrl, seedId);
      if (predicate(last)) return last;
    } catch {
      // the API may be briefly unavailable while a dependency restarts
    }
    await sleep(250);
  }
  throw new Error(`seed ${seedId} did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}
