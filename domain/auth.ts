/**
 * API-key authorisation. A key carries scopes and the keyrings it may act on;
 * `admin` implies every other scope. Keys are stored hashed (adapters/db).
 */
export const SCOPES = ['tokenize', 'detokenize', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ALL_KEYRINGS = '*';

export interface Principal {
  /** API key id (uuid), or `bootstrap-admin` for the ADMIN_API_KEY from the environment. */
  keyId: string;
  name: string;
  scopes: Scope[];
  /** Keyring names, or [ALL_KEYRINGS]. */
  keyrings: string[];
}

/** Whether `principal` may use `scope` on `keyring` (undefined keyring: a non-keyring operation). */
export function isAllowed(principal: Principal, scope: Scope, keyring?: string): boolean {
  const scoped = principal.scopes.includes(scope) || principal.scopes.includes('admin');
  if (!scoped) return false;
  if (keyring === undefined) return true;
  return principal.keyrings.includes(ALL_KEYRINGS) || principal.keyrings.includes(keyring);
}
