import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors';
import { SealedValueRejectedError, WorkingKeysZeroizedError, type RandomSource, type TokenCrypto } from '../domain/keyPorts';
import { normalizeField, utcCalendarDate } from '../domain/normalize';
import { SeedState } from '../domain/seed';
import { fingerprint, hasValidCheck, issueDeterministicToken, issueRandomToken, openValue, parseToken, sealValue, type ParsedToken } from '../domain/token';
import type { DetokenizeItem, DetokenizeOutcome, ItemError, TokenizeItem, TokenizeOutcome, TokenModeName, TokenService, VerifyOutcome } from '../domain/tokenPorts';
import type { Logger } from '../config/logger';
import { IssuingContextChangedError, type NewVaultEntry, type TokenVault, type VaultEntry, type VaultSeed } from './vault';
import { SeedUnusableError, type WorkingKeyCache } from './workingKeys';

export interface TokenizerDeps {
  vault: TokenVault;
  keys: WorkingKeyCache;
  random: RandomSource;
  logger: Logger;
  /** For the birth-date rule's "today" (UTC). */
  clock?: () => Date;
}

/** Seed states whose tokens still verify and detokenize (NIST: may process already-protected data). */
const READABLE: readonly SeedState[] = [SeedState.Active, SeedState.Deactivated, SeedState.Suspended];
/** A rotation can move the active version between our read and our write: re-read and try again. */
const ISSUE_ATTEMPTS = 3;

const NOT_FOUND: ItemError = { code: 'token_not_found', message: 'No such token in this keyring.' };
const ERASED: ItemError = { code: 'token_erased', message: 'This token was erased (right to erasure); its value is gone.' };
const ERASED_VALUE: ItemError = { code: 'token_erased', message: 'The token for this value was erased (right to erasure); it is not issued again under this seed version.' };

interface Group {
  field: string;
  value: string;
  fingerprint: string;
  indexes: number[];
}

/**
 * The token service (domain/tokenPorts.ts) over the vault and the working-key cache.
 * Every tokenize reads the keyring's mode and active seed from the database, so a
 * newly activated version is used at once and a deactivated one never issues; the
 * write re-checks both under a row lock (PostgresVault.insertIssued).
 */
export class Tokenizer implements TokenService {
  private readonly clock: () => Date;

  constructor(private readonly deps: TokenizerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async setMode(keyring: string, mode: TokenModeName): Promise<{ keyring: string; mode: TokenModeName }> {
    const outcome = await this.deps.vault.setMode(keyring, mode);
    if (outcome.result === 'not_found') throw keyringNotFound(keyring);
    if (outcome.result === 'locked') {
      throw new ConflictError('mode_locked', `Keyring ${keyring} already has ${outcome.mode} tokens; its mode can no longer change.`);
    }
    return { keyring, mode };
  }

  async tokenize(keyring: string, items: TokenizeItem[]): Promise<TokenizeOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.tokenizeOnce(keyring, items);
      } catch (err) {
        if (!(err instanceof IssuingContextChangedError)) throw err;
        this.deps.logger.info({ keyring, attempt, reason: err.message }, 'issuing context changed during tokenize; retrying');
        if (attempt >= ISSUE_ATTEMPTS) throw new ConflictError('no_active_seed', `Keyring ${keyring} is changing its active seed version; retry.`);
      }
    }
  }

  private async tokenizeOnce(keyring: string, items: TokenizeItem[]): Promise<TokenizeOutcome[]> {
    const context = await this.deps.vault.issuingContext(keyring);
    if (!context) throw keyringNotFound(keyring);
    if (!context.mode) throw new ConflictError('keyring_mode_unset', `Keyring ${keyring} has no token mode yet; set it with PUT /v1/keyrings/${keyring}.`);
    if (!context.activeSeed) throw new ConflictError('no_active_seed', `Keyring ${keyring} has no active seed version; create one with POST /v1/keyrings/${keyring}/seeds.`);
    const { mode, activeSeed: seed } = context;
    const crypto = await this.deps.keys.forSeed(seed);
    const scope = { keyring, version: seed.version };

    const outcomes: TokenizeOutcome[] = new Array<TokenizeOutcome>(items.length);
    const groups = await this.groupByValue(crypto, keyring, items, outcomes);
    const known = await this.deps.vault.findByFingerprints(keyring, seed.version, [...groups.keys()]);

    const fresh: NewVaultEntry[] = [];
    for (const group of groups.values()) {
      if (known.has(group.fingerprint)) continue;
      const token = mode === 'deterministic' ? await issueDeterministicToken(crypto, scope, group.field, group.value) : await issueRandomToken(crypto, this.deps.random, scope);
      fresh.push({ token, field: group.field, fingerprint: group.fingerprint, sealedValue: await sealValue(crypto, scope, token, group.value) });
    }
    const written = fresh.length > 0 ? await this.deps.vault.insertIssued(seed, mode, fresh) : new Map<string, string>();

    for (const group of groups.values()) {
      const token = known.get(group.fingerprint) ?? written.get(group.fingerprint);
      for (const i of group.indexes) outcomes[i] = token ? { reference: items[i]!.reference, token } : { reference: items[i]!.reference, error: ERASED_VALUE };
    }
    return outcomes;
  }

  /** Normalises every item (failures become outcomes) and collapses equal (field, value) pairs onto one fingerprint. */
  private async groupByValue(crypto: TokenCrypto, keyring: string, items: TokenizeItem[], outcomes: TokenizeOutcome[]): Promise<Map<string, Group>> {
    const normalizeContext = { today: utcCalendarDate(this.clock()) };
    const byValue = new Map<string, Group>();
    const byFingerprint = new Map<string, Group>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const normalized = normalizeField(item.field, item.value, normalizeContext);
      if (!normalized.ok) {
        outcomes[i] = { reference: item.reference, error: { code: normalized.code, message: normalized.message } };
        continue;
      }
      const key = `${normalized.field}\u0000${normalized.value}`;
      let group = byValue.get(key);
      if (!group) {
        const fp = Buffer.from(await fingerprint(crypto, keyring, normalized.field, normalized.value)).toString('base64url');
        group = { field: normalized.field, value: normalized.value, fingerprint: fp, indexes: [] };
        byValue.set(key, group);
        byFingerprint.set(fp, group);
      }
      group.indexes.push(i);
    }
    return byFingerprint;
  }

  async detokenize(keyring: string, items: DetokenizeItem[]): Promise<DetokenizeOutcome[]> {
    if (!(await this.deps.vault.issuingContext(keyring))) throw keyringNotFound(keyring);
    const parsed = items.map((item) => parseToken(item.token));
    const versions = [...new Set(parsed.flatMap((p) => (p.ok ? [p.token.version] : [])))];
    const validTokens = items.filter((_, i) => parsed[i]!.ok).map((item) => item.token);
    const [seeds, entries] = await Promise.all([this.deps.vault.seedsByVersion(keyring, versions), this.deps.vault.findEntries([...new Set(validTokens)])]);
    const seedByVersion = new Map(seeds.map((s) => [s.version, s]));

    const outcomes: DetokenizeOutcome[] = [];
    for (let i = 0; i < items.length; i++) {
      const { reference, token } = items[i]!;
      const p = parsed[i]!;
      if (!p.ok) {
        outcomes.push({ reference, error: { code: p.code, message: p.message } });
        continue;
      }
      const result = await this.openOne(keyring, token, p.token, seedByVersion.get(p.token.version), entries.get(token));
      outcomes.push('error' in result ? { reference, error: result.error } : { reference, value: result.value, field: result.field });
    }
    return outcomes;
  }

  private async openOne(keyring: string, token: string, parsed: ParsedToken, seed: VaultSeed | undefined, entry: VaultEntry | undefined): Promise<{ value: string; field: string } | { error: ItemError }> {
    // A version that never became active issued nothing.
    if (!seed || seed.state === SeedState.PreActive) return { error: NOT_FOUND };
    try {
      const crypto = await this.deps.keys.forSeed(seed);
      // The check MAC first: a token of another keyring is "not found" here, never a hint that it exists elsewhere.
      if (!(await hasValidCheck(crypto, keyring, parsed))) return { error: NOT_FOUND };
      if (!entry || entry.keyring !== keyring || entry.version !== seed.version) return { error: NOT_FOUND };
      if (entry.erasedAt || !entry.sealedValue) return { error: ERASED };
      return { value: await openValue(crypto, { keyring, version: seed.version }, token, entry.sealedValue), field: entry.field };
    } catch (err) {
      // Zeroised under us: the seed was seen destroyed or compromised by a concurrent request.
      const unusable = err instanceof WorkingKeysZeroizedError ? new SeedUnusableError('destroyed') : err;
      if (unusable instanceof SeedUnusableError) return { error: { code: unusable.code, message: unusable.message } };
      if (err instanceof SealedValueRejectedError) {
        this.deps.logger.warn({ keyring, version: seed.version }, 'a vault entry failed authentication');
        return { error: { code: err.code, message: err.message } };
      }
      throw err;
    }
  }

  async verify(token: string): Promise<VerifyOutcome> {
    const parsed = parseToken(token);
    if (!parsed.ok) throw new InvalidInputError(parsed.code, parsed.message);
    const found = await this.deps.vault.findForVerify(token);
    const unknown: VerifyOutcome = { valid: false, keyring: null, version: null, state: 'unknown' };
    if (!found || found.entry.version !== parsed.token.version) return unknown;
    const { entry, seed } = found;
    const known = (state: string, valid: boolean): VerifyOutcome => ({ valid, keyring: entry.keyring, version: entry.version, state });
    // Keys of a destroyed or compromised version are gone: the token is ours (it is in the vault) but no longer valid.
    if (seed.state === SeedState.Destroyed || seed.state === SeedState.Compromised) return known(seed.state, false);
    if (!READABLE.includes(seed.state)) return unknown;
    try {
      if (!(await hasValidCheck(await this.deps.keys.forSeed(seed), entry.keyring, parsed.token))) return unknown;
    } catch (err) {
      if (err instanceof SeedUnusableError || err instanceof WorkingKeysZeroizedError) return known(SeedState.Destroyed, false);
      throw err;
    }
    return entry.erasedAt ? known('erased', false) : known(seed.state, true);
  }

  async erase(keyring: string, token: string): Promise<boolean> {
    const parsed = parseToken(token);
    if (!parsed.ok) throw new InvalidInputError(parsed.code, parsed.message);
    return this.deps.vault.erase(keyring, token);
  }
}

function keyringNotFound(keyring: string): NotFoundError {
  return new NotFoundError('keyring_not_found', `No keyring ${keyring}.`);
}
