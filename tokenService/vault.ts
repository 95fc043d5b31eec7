import type { SeedState } from '../domain/seed';
import type { TokenModeName } from '../domain/tokenPorts';

/**
 * What the token service needs from the vault (adapters/db/postgresVault.ts; an
 * in-memory fake in test/unit/tokenService). Rows hold the sealed value and a
 * keyed fingerprint, never a plaintext value.
 */
export interface VaultSeed {
  seedId: string;
  keyring: string;
  version: number;
  state: SeedState;
  hsmLabel: string;
}

/** Read per tokenize request, from the database: the only authority on which version may issue. */
export interface IssuingContext {
  mode: TokenModeName | null;
  activeSeed: VaultSeed | null;
}

export interface NewVaultEntry {
  token: string;
  field: string;
  /** base64url of the 32-byte fingerprint HMAC. */
  fingerprint: string;
  sealedValue: Uint8Array;
}

export interface VaultEntry {
  token: string;
  keyring: string;
  seedId: string;
  version: number;
  field: string;
  sealedValue: Uint8Array | null;
  erasedAt: Date | null;
}

export type SetModeResult = { result: 'set' | 'unchanged'; mode: TokenModeName } | { result: 'locked'; mode: TokenModeName } | { result: 'not_found' };

/**
 * The seed stopped being active, or the keyring's mode changed, between reading
 * the issuing context and writing: the batch was not written and may be retried
 * under the new context.
 */
export class IssuingContextChangedError extends Error {
  override readonly name = 'IssuingContextChangedError';
}

export interface TokenVault {
  /** Null when the keyring does not exist. */
  issuingContext(keyring: string): Promise<IssuingContext | null>;
  /** Sets the mode unless the keyring has tokens under another mode (atomic with tokenize's writes). */
  setMode(keyring: string, mode: TokenModeName): Promise<SetModeResult>;
  /** fingerprint → token for the live (not erased) entries of one keyring version. */
  findByFingerprints(keyring: string, version: number, fingerprints: string[]): Promise<Map<string, string>>;
  /**
   * One transaction: refuses with IssuingContextChangedError unless `seed` is still
   * active and the keyring's mode is still `mode`; inserts every entry, skipping
   * conflicts (a concurrent request issued the same value, or an erased deterministic
   * token); returns fingerprint → token of the rows that now hold those fingerprints.
   */
  insertIssued(seed: VaultSeed, mode: TokenModeName, entries: NewVaultEntry[]): Promise<Map<string, string>>;
  seedsByVersion(keyring: string, versions: number[]): Promise<VaultSeed[]>;
  findEntries(tokens: string[]): Promise<Map<string, VaultEntry>>;
  /** The entry and its seed, whatever the keyring. */
  findForVerify(token: string): Promise<{ entry: VaultEntry; seed: VaultSeed } | null>;
  /** Nulls the sealed value and fingerprint, keeps the row; false if the keyring has no such token. */
  erase(keyring: string, token: string): Promise<boolean>;
  /** Current states of the given seeds (missing ids are absent from the map). */
  seedStates(seedIds: string[]): Promise<Map<string, SeedState>>;
}
