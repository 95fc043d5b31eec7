import type { SeedState } from '../../domain/seed';
import type { TokenModeName } from '../../domain/tokenPorts';
import { IssuingContextChangedError, type IssuingContext, type NewVaultEntry, type SetModeResult, type TokenVault, type VaultEntry, type VaultSeed } from '../../tokenService/vault';
import type { Db } from './prismaClient';

type SeedRow = { seed_id: string; keyring: string; version: number; state: SeedState; hsm_label: string };
type EntryRow = { token: string; keyring: string; seed_id: string; version: number; field: string; sealed_value: Uint8Array | null; erased_at: Date | null };

/** A 10,000-item batch must fit; Prisma's default interactive-transaction timeout is 5 s. */
const TX_OPTIONS = { maxWait: 10_000, timeout: 60_000 };

/**
 * The token vault in PostgreSQL (`tokens`, with `keyrings.mode` and `seeds` for the
 * issuing context). Raw SQL where Prisma's query API cannot say it: a batch insert
 * through unnest() with ON CONFLICT DO NOTHING, and row locks.
 *
 * Lock order is the seed repository's (keyrings row first, then seeds), so an issuing
 * transaction and an activation never deadlock: activation takes the keyring row
 * FOR UPDATE, issuing takes it FOR SHARE, so no row of version n is written after
 * version n+1's activation has committed.
 */
export class PrismaVault implements TokenVault {
  constructor(private readonly db: Db) {}

  async issuingContext(keyring: string): Promise<IssuingContext | null> {
    const rows = await this.db.$queryRaw<Array<{ mode: TokenModeName | null; seed_id: string | null; version: number | null; state: SeedState | null; hsm_label: string | null }>>`
      SELECT k.mode::text AS mode, s.id::text AS seed_id, s.version, s.state::text AS state, s.hsm_label
      FROM keyrings k LEFT JOIN seeds s ON s.keyring = k.name AND s.state = 'active'
      WHERE k.name = ${keyring}`;
    const row = rows[0];
    if (!row) return null;
    const activeSeed = row.seed_id ? { seedId: row.seed_id, keyring, version: row.version!, state: row.state!, hsmLabel: row.hsm_label! } : null;
    return { mode: row.mode, activeSeed };
  }

  async setMode(keyring: string, mode: TokenModeName): Promise<SetModeResult> {
    return this.db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ mode: TokenModeName | null }>>`SELECT mode::text AS mode FROM keyrings WHERE name = ${keyring} FOR UPDATE`;
      if (rows.length === 0) return { result: 'not_found' as const };
      const current = rows[0]!.mode;
      if (current === mode) return { result: 'unchanged' as const, mode };
      if (current !== null) {
        const hasTokens = await tx.token.findFirst({ where: { keyringName: keyring }, select: { id: true } });
        if (hasTokens) return { result: 'locked' as const, mode: current };
      }
      await tx.keyring.update({ where: { name: keyring }, data: { mode } });
      return { result: 'set' as const, mode };
    });
  }

  async findByFingerprints(keyring: string, version: number, fingerprints: string[]): Promise<Map<string, string>> {
    if (fingerprints.length === 0) return new Map();
    const rows = await this.db.$queryRaw<Array<{ fingerprint: string; token: string }>>`
      SELECT fingerprint, token FROM tokens
      WHERE keyring = ${keyring} AND version = ${version} AND fingerprint = ANY(${fingerprints}::text[])`;
    return new Map(rows.map((r) => [r.fingerprint, r.token]));
  }

  async insertIssued(seed: VaultSeed, mode: TokenModeName, entries: NewVaultEntry[]): Promise<Map<string, string>> {
    const fingerprints = entries.map((e) => e.fingerprint);
    return this.db.$transaction(async (tx) => {
      const ring = await tx.$queryRaw<Array<{ mode: string | null }>>`SELECT mode::text AS mode FROM keyrings WHERE name = ${seed.keyring} FOR SHARE`;
      if (ring[0]?.mode !== mode) throw new IssuingContextChangedError('the keyring mode changed');
      const live = await tx.$queryRaw<Array<{ state: string }>>`SELECT state::text AS state FROM seeds WHERE id = ${seed.seedId}::uuid FOR SHARE`;
      if (live[0]?.state !== 'active') throw new IssuingContextChangedError('the seed is no longer active');
      // No conflict target: besides (keyring, version, fingerprint), a deterministic token whose
      // row was erased conflicts on `token`; both mean "do not write this one".
      await tx.$executeRaw`
        INSERT INTO tokens (token, keyring, seed_id, version, field, fingerprint, sealed_value)
        SELECT t.token, ${seed.keyring}, ${seed.seedId}::uuid, ${seed.version}, t.field, t.fingerprint, decode(t.sealed, 'base64')
        FROM unnest(${entries.map((e) => e.token)}::text[], ${entries.map((e) => e.field)}::text[], ${fingerprints}::text[],
                    ${entries.map((e) => Buffer.from(e.sealedValue).toString('base64'))}::text[]) AS t(token, field, fingerprint, sealed)
        ON CONFLICT DO NOTHING`;
      // A new statement sees rows that concurrent transactions committed: the winners.
      const rows = await tx.$queryRaw<Array<{ fingerprint: string; token: string }>>`
        SELECT fingerprint, token FROM tokens
        WHERE keyring = ${seed.keyring} AND version = ${seed.version} AND fingerprint = ANY(${fingerprints}::text[])`;
      return new Map(rows.map((r) => [r.fingerprint, r.token]));
    }, TX_OPTIONS);
  }

  async seedsByVersion(keyring: string, versions: number[]): Promise<VaultSeed[]> {
    if (versions.length === 0) return [];
    const rows = await this.db.$queryRaw<SeedRow[]>`
      SELECT id::text AS seed_id, keyring, version, state::text AS state, hsm_label FROM seeds
      WHERE keyring = ${keyring} AND version = ANY(${versions}::int[])`;
    return rows.map(toSeed);
  }

  async findEntries(tokens: string[]): Promise<Map<string, VaultEntry>> {
    if (tokens.length === 0) return new Map();
    const rows = await this.db.$queryRaw<EntryRow[]>`
      SELECT token, keyring, seed_id::text AS seed_id, version, field, sealed_value, erased_at FROM tokens
      WHERE token = ANY(${tokens}::text[])`;
    return new Map(rows.map((r) => [r.token, toEntry(r)]));
  }

  async findForVerify(token: string): Promise<{ entry: VaultEntry; seed: VaultSeed } | null> {
    const rows = await this.db.$queryRaw<Array<EntryRow & { state: SeedState; hsm_label: string }>>`
      SELECT t.token, t.keyring, t.seed_id::text AS seed_id, t.version, t.field, NULL::bytea AS sealed_value, t.erased_at,
             s.state::text AS state, s.hsm_label
      FROM tokens t JOIN seeds s ON s.id = t.seed_id
      WHERE t.token = ${token}`;
    const row = rows[0];
    if (!row) return null;
    return { entry: toEntry(row), seed: toSeed(row) };
  }

  async erase(keyring: string, token: string): Promise<boolean> {
    const count = await this.db.$executeRaw`
      UPDATE tokens SET sealed_value = NULL, fingerprint = NULL, erased_at = COALESCE(erased_at, CURRENT_TIMESTAMP)
      WHERE token = ${token} AND keyring = ${keyring}`;
    return count > 0;
  }

  async seedStates(seedIds: string[]): Promise<Map<string, SeedState>> {
    if (seedIds.length === 0) return new Map();
    const rows = await this.db.seed.findMany({ where: { id: { in: seedIds } }, select: { id: true, state: true } });
    return new Map(rows.map((r) => [r.id, r.state]));
  }
}

function toSeed(row: SeedRow): VaultSeed {
  return { seedId: row.seed_id, keyring: row.keyring, version: row.version, state: row.state, hsmLabel: row.hsm_label };
}

function toEntry(row: EntryRow): VaultEntry {
  return { token: row.token, keyring: row.keyring, seedId: row.seed_id, version: row.version, field: row.field, sealedValue: row.sealed_value, erasedAt: row.erased_at };
}
