import { createHash, randomUUID } from 'node:crypto';
import { InMemoryTokenCrypto } from '../../../adapters/crypto/inMemoryTokenCrypto';
import type { TokenCrypto } from '../../../domain/keyPorts';
import { seedHsmLabel, SeedState } from '../../../domain/seed';
import type { TokenModeName } from '../../../domain/tokenPorts';
import { IssuingContextChangedError, type IssuingContext, type NewVaultEntry, type SetModeResult, type TokenVault, type VaultEntry, type VaultSeed } from '../../../tokenService/vault';

/**
 * An in-memory vault with PostgresVault's rules: unique token, unique
 * (keyring, version, fingerprint) for live rows, conflicting inserts skipped,
 * the insert refused if the seed stopped being active or the mode changed.
 */
export class InMemoryVault implements TokenVault {
  readonly modes = new Map<string, TokenModeName | null>();
  readonly seeds = new Map<string, VaultSeed>();
  readonly rows: Array<VaultEntry & { fingerprint: string | null }> = [];
  /** Runs just before insertIssued checks the seed: lets a test rotate in between. */
  beforeInsert: (() => void) | null = null;
  insertCalls = 0;

  addKeyring(name: string, mode: TokenModeName | null = null): void {
    this.modes.set(name, mode);
  }

  /** Adds an active seed, deactivating the keyring's previous active one (like activation). */
  activateNew(keyring: string): VaultSeed {
    if (!this.modes.has(keyring)) this.addKeyring(keyring);
    const versions = [...this.seeds.values()].filter((s) => s.keyring === keyring);
    for (const s of versions) if (s.state === SeedState.Active) s.state = SeedState.Deactivated;
    const ref = { seedId: randomUUID(), keyring, version: versions.length + 1 };
    const seed: VaultSeed = { ...ref, state: SeedState.Active, hsmLabel: seedHsmLabel(ref) };
    this.seeds.set(seed.seedId, seed);
    return seed;
  }

  setState(seedId: string, state: SeedState): void {
    this.seeds.get(seedId)!.state = state;
  }

  async issuingContext(keyring: string): Promise<IssuingContext | null> {
    if (!this.modes.has(keyring)) return null;
    const active = [...this.seeds.values()].find((s) => s.keyring === keyring && s.state === SeedState.Active);
    return { mode: this.modes.get(keyring) ?? null, activeSeed: active ? { ...active } : null };
  }

  async setMode(keyring: string, mode: TokenModeName): Promise<SetModeResult> {
    if (!this.modes.has(keyring)) return { result: 'not_found' };
    const current = this.modes.get(keyring) ?? null;
    if (current === mode) return { result: 'unchanged', mode };
    if (current !== null && this.rows.some((r) => r.keyring === keyring)) return { result: 'locked', mode: current };
    this.modes.set(keyring, mode);
    return { result: 'set', mode };
  }

  async findByFingerprints(keyring: string, version: number, fingerprints: string[]): Promise<Map<string, string>> {
    const wanted = new Set(fingerprints);
    return new Map(this.rows.filter((r) => r.keyring === keyring && r.version === version && r.fingerprint && wanted.has(r.fingerprint)).map((r) => [r.fingerprint!, r.token]));
  }

  async insertIssued(seed: VaultSeed, mode: TokenModeName, entries: NewVaultEntry[]): Promise<Map<string, string>> {
    this.insertCalls++;
    this.beforeInsert?.();
    if (this.modes.get(seed.keyring) !== mode || this.seeds.get(seed.seedId)?.state !== SeedState.Active) throw new IssuingContextChangedError('changed');
    for (const e of entries) {
      const clash = this.rows.some((r) => r.token === e.token || (r.keyring === seed.keyring && r.version === seed.version && r.fingerprint === e.fingerprint));
      if (!clash) this.rows.push({ token: e.token, keyring: seed.keyring, seedId: seed.seedId, version: seed.version, field: e.field, fingerprint: e.fingerprint, sealedValue: e.sealedValue, erasedAt: null });
    }
    return this.findByFingerprints(seed.keyring, seed.version, entries.map((e) => e.fingerprint));
  }

  async seedsByVersion(keyring: string, versions: number[]): Promise<VaultSeed[]> {
    return [...this.seeds.values()].filter((s) => s.keyring === keyring && versions.includes(s.version)).map((s) => ({ ...s }));
  }

  async findEntries(tokens: string[]): Promise<Map<string, VaultEntry>> {
    return new Map(this.rows.filter((r) => tokens.includes(r.token)).map((r) => [r.token, { ...r }]));
  }

  async findForVerify(token: string): Promise<{ entry: VaultEntry; seed: VaultSeed } | null> {
    const row = this.rows.find((r) => r.token === token);
    return row ? { entry: { ...row, sealedValue: null }, seed: { ...this.seeds.get(row.seedId)! } } : null;
  }

  async erase(keyring: string, token: string): Promise<boolean> {
    const row = this.rows.find((r) => r.token === token && r.keyring === keyring);
    if (!row) return false;
    Object.assign(row, { sealedValue: null, fingerprint: null, erasedAt: row.erasedAt ?? new Date() });
    return true;
  }

  async seedStates(seedIds: string[]): Promise<Map<string, SeedState>> {
    return new Map(seedIds.flatMap((id) => (this.seeds.has(id) ? [[id, this.seeds.get(id)!.state] as const] : [])));
  }
}

/** Stands in for HSM derivation: keys are a hash of the seed label and purpose, so each seed has its own. */
export class FakeDerivation {
  readonly derived: string[] = [];
  readonly made: TokenCrypto[] = [];

  derive = async (hsmLabel: string): Promise<TokenCrypto> => {
    this.derived.push(hsmLabel);
    const key = (purpose: string) => createHash('sha256').update(`${hsmLabel}#${purpose}`).digest();
    const crypto = new InMemoryTokenCrypto({ tokenHmac: key('token'), fingerprintHmac: key('fp'), checkHmac: key('check'), vaultData: key('vault') });
    this.made.push(crypto);
    return crypto;
  };
}
