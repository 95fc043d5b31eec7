import type { Scope } from './auth';

/**
 * Ports for API-key storage and the access audit log (adapters/db/prismaApiKeyRepository.ts,
 * adapters/db/prismaAccessAudit.ts; in-memory fakes in test/support/fakes.ts).
 */

/** A stored API key as everyone but its creator sees it: never the secret, never its hash. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  keyrings: string[];
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: Scope[];
  keyrings: string[];
  createdBy: string;
}

export interface ApiKeyStore {
  create(key: NewApiKeyRecord): Promise<ApiKeyRecord>;
  /** The key whose secret hashes to `keyHash`, revoked or not. */
  findByHash(keyHash: string): Promise<ApiKeyRecord | null>;
  /** Every key, oldest first, revoked ones included. */
  list(): Promise<ApiKeyRecord[]>;
  /** Idempotent: a key revoked before keeps its first revocation time. Null if no such key. */
  revoke(id: string, at: Date): Promise<ApiKeyRecord | null>;
  /** Records use, at most once per `minIntervalMs` per key even across API instances. */
  touch(id: string, at: Date, minIntervalMs: number): Promise<void>;
}

export type AccessOutcome = 'allowed' | 'denied';

/**
 * One row of the append-only `access_events` log. Never a secret, never a
 * sensitive value: who (key id or 'anonymous'), what (route pattern), outcome,
 * keyring, and for token operations the token and the stated purpose.
 */
export interface AccessEvent {
  actor: string;
  action: string;
  outcome: AccessOutcome;
  keyring?: string | null;
  token?: string | null;
  purpose?: string | null;
  detail?: Record<string, unknown>;
}

export interface AccessAudit {
  record(event: AccessEvent): Promise<void>;
  /** Several rows in one write (e.g. one per item of a detokenize batch). */
  recordMany(events: AccessEvent[]): Promise<void>;
}
