import { DomainError } from '../domain/errors';
import type { TokenCrypto } from '../domain/keyPorts';
import { SeedState } from '../domain/seed';

/** A seed whose working keys must not exist any more (crypto-shredding). */
export class SeedUnusableError extends DomainError {
  readonly status = 409;
  constructor(state: 'destroyed' | 'compromised') {
    super(state === 'destroyed' ? 'seed_destroyed' : 'seed_compromised', state === 'destroyed' ? 'The seed version of this token was destroyed; its tokens can no longer be opened.' : 'The seed version of this token is marked compromised; its keys are withdrawn.');
  }
}

export interface SeedKeyRef {
  seedId: string;
  hsmLabel: string;
  state: SeedState;
}

/** Derives one seed version's working keys in the HSM (docs/KEYS.md strategy (b): held in memory). */
export type DeriveWorkingKeys = (hsmLabel: string) => Promise<TokenCrypto>;

const SHREDDED: readonly SeedState[] = [SeedState.Destroyed, SeedState.Compromised];

/**
 * The token service's working keys, one TokenCrypto per seed version, keyed by
 * seed id. Keys are derived on first use (or ahead of it, on SeedActivated) and
 * zeroised when the seed is seen destroyed or compromised, by `reconcile`, and
 * at shutdown. Callers pass the seed's state as just read from the database, so a
 * destroyed seed is never derived again, whatever this cache believed.
 *
 * No size bound: one entry (four 32-byte keys) per live seed version, and
 * versions leave when they are destroyed.
 */
export class WorkingKeyCache {
  private readonly entries = new Map<string, TokenCrypto>();
  private readonly pending = new Map<string, Promise<TokenCrypto>>();
  private closed = false;

  constructor(private readonly derive: DeriveWorkingKeys) {}

  /** The seed's keys; refuses (and forgets the keys) when the seed is destroyed or compromised. */
  async forSeed(seed: SeedKeyRef): Promise<TokenCrypto> {
    if (SHREDDED.includes(seed.state)) {
      this.evict(seed.seedId);
      throw new SeedUnusableError(seed.state as 'destroyed' | 'compromised');
    }
    const cached = this.entries.get(seed.seedId);
    if (cached) return cached;
    const inFlight = this.pending.get(seed.seedId);
    if (inFlight) return inFlight;
    if (this.closed) throw new Error('working key cache is closed');

    const derivation = this.derive(seed.hsmLabel).then((crypto) => {
      // Evicted (or closed) while the HSM was deriving: these keys must not survive.
      if (this.pending.get(seed.seedId) !== derivation || this.closed) {
        crypto.zeroize();
        throw new SeedUnusableError('destroyed');
      }
      this.pending.delete(seed.seedId);
      this.entries.set(seed.seedId, crypto);
      return crypto;
    });
    this.pending.set(seed.seedId, derivation);
    derivation.catch(() => {
      if (this.pending.get(seed.seedId) === derivation) this.pending.delete(seed.seedId);
    });
    return derivation;
  }

  /** Zeroises the seed's keys if held; true if there were any (or a derivation was under way). */
  evict(seedId: string): boolean {
    const crypto = this.entries.get(seedId);
    const wasPending = this.pending.delete(seedId);
    if (!crypto) return wasPending;
    this.entries.delete(seedId);
    crypto.zeroize();
    return true;
  }

  /** Drops the keys of every held seed that `statesOf` reports destroyed, compromised or unknown. Returns the evicted ids. */
  async reconcile(statesOf: (seedIds: string[]) => Promise<Map<string, SeedState>>): Promise<string[]> {
    const ids = [...this.entries.keys()];
    if (ids.length === 0) return [];
    const states = await statesOf(ids);
    const evicted: string[] = [];
    for (const id of ids) {
      const state = states.get(id);
      if (state === undefined || SHREDDED.includes(state)) {
        if (this.evict(id)) evicted.push(id);
      }
    }
    return evicted;
  }

  held(): string[] {
    return [...this.entries.keys()];
  }

  /** Shutdown: zeroises everything; later calls fail. */
  zeroizeAll(): void {
    this.closed = true;
    this.pending.clear();
    for (const crypto of this.entries.values()) crypto.zeroize();
    this.entries.clear();
  }
}
