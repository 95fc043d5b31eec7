import { Pool } from 'pg';
import type { SeedState } from '../../domain/seed';
import type { TokenModeName } from '../../domain/tokenPorts';
import { IssuingContextChangedError, type IssuingContext, type NewVaultEntry, type SetModeResult, type TokenVault, type VaultEntry, type VaultSeed } from '../../tokenService/vault';
import type { Db } from './prismaClient';

type SeedRow = { seed_id: string; keyring: string; version: number; state: SeedState; hsm_label: string };
type EntryRow = { token: string; keyring: string; seed_id: string; version: number; field: string; sealed_value: Uint8Array | null; erased_at: Date | null };

/**
 * The token vault in PostgreSQL (`tokens`, with `keyrings.mode` and `seeds` for the
 * issuing context).
 *
 * The hot path of every tokenize (issuing context, fingerprint lookup, insert) runs
 * on node-postgres directly: one round trip per step and bytea parameters as buffers,
 * where Prisma's raw queries cost about as much client time as the database work
 * (docs/PERFORMANCE.md, docs/ARCHITECTURE.md D12). Everything else goes through Prisma.
 *
 * Lock order is the seed repository's (keyrings row first, then seeds), so an issuing
 * statement and an activation never deadlock: activation takes the keyring row
 * FOR UPDATE, issuing takes it FOR SHARE, so no row of version n is written after
 * version n+1's activation has committed.
 */
export class PostgresVault implements TokenVault {
  constructor(
    private readonly db: Db,
    private readonly pool: Pool,
  ) {}

  async issuingContext(keyring: string): Promise<IssuingContext | null> {
    const { rows } = await this.pool.query<{ mode: TokenModeName | null; seed_id: string | null; version: number | null; state: SeedState | null; hsm_label: string | null }>(
      `SELECT k.mode::text AS mode, s.id::text AS seed_id, s.version, s.state::text AS state, s.hsm_label
       FROM keyrings k LEFT JOIN seeds s ON s.keyring = k.name AND s.state = 'active'
       WHERE k.name = $1`,
      [keyring],
    );
    const row = rows[0];
    if (!row) return null;
    const activeSeed = row.seed_id ? { seedId: row.seed_id, keyring, version: row.version!, state: row.state!, hsmLabel: row.hsm_label! } : null;
    return { mode: row.mode, activeSeed };
  }

  async findByFingerprints(keyring: string, version: number, fingerprints: string[]): Promise<Map<string, string>> {
    if (fingerprints.length === 0) return new Map();
    const { rows } = await this.pool.query<{ fingerprint: string; token: string }>(
      'SELECT fingerprint, token FROM tokens WHERE keyring = $1 AND version = $2 AND fingerprint = ANY($3::text[])',
      [keyring, version, fingerprints],
    );
    return new Map(rows.map((r) => [r.fingerprint, r.token]));
  }

  /**
   * One statement, so one implicit transaction: the FOR SHARE row locks on the keyring
   * and the seed (same order as activation, which takes the keyring FOR UPDATE) are
   * held while the rows are inserted, and under READ COMMITTED a locking read sees the
   * latest committed state. If the seed stopped being active or the mode changed,
   * nothing is inserted and the caller retries under the new context.
   */
  async insertIssued(seed: VaultSeed, mode: TokenModeName, entries: NewVaultEntry[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ mode: string | null; state: string | null; inserted: Array<[string, string]> }>(
      `WITH ring AS (SELECT mode::text AS mode FROM keyrings WHERE name = $1 FOR SHARE),
            live AS (SELECT state::text AS state FROM seeds WHERE id = $2::uuid FOR SHARE),
            ins AS (
              INSERT INTO tokens (token, keyring, seed_id, version, field, fingerprint, sealed_value)
              SELECT t.token, $1, $2::uuid, $3, t.field, t.fingerprint, t.sealed
              FROM unnest($5::text[], $6::text[], $7::text[], $8::bytea[]) AS t(token, field, fingerprint, sealed)
              WHERE (SELECT mode FROM ring) = $4 AND (SELECT state FROM live) = 'active'
              -- No conflict target: besides (keyring, version, fingerprint), a deterministic token
              -- whose row was erased conflicts on token; both mean "do not write this one".
              ON CONFLICT DO NOTHING
              RETURNING fingerprint, token)
       SELECT (SELECT mode FROM ring) AS mode, (SELECT state FROM live) AS state,
              COALESCE((SELECT json_agg(json_build_array(fingerprint, token)) FROM ins), '[]'::json) AS inserted`,
      [seed.keyring, seed.seedId, seed.version, mode, entries.map((e) => e.token), entries.map((e) => e.field), entries.map((e) => e.fingerprint), entries.map((e) => Buffer.from(e.sealedValue))],
    );
    const row = rows[0]!;
    if (row.mode !== mode) throw new IssuingContextChangedError('the keyring mode changed');
    if (row.state !== 'active') throw new IssuingContextChangedError('the seed is no longer active');
    const winners = new Map(row.inserted);
    // Entries that conflicted: a concurrent request's committed row holds the fingerprint now.
    const lost = entries.filter((e) => !winners.has(e.fingerprint)).map((e) => e.fingerprint);
    if (lost.length > 0) for (const [fp, token] of await this.findByFingerprints(seed.keyring, seed.version, lost)) winners.set(fp, token);
    return winners;
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

export function createVaultPool(connectionString: string, max: number): Pool {
  return new Pool({ connectionString, max, connectionTimeoutMillis: 5_000 });
}

function toSeed(row: SeedRow): VaultSeed {
  return { seedId: row.seed_id, keyring: row.keyring, version: row.version, state: row.state, hsmLabel: row.hsm_label };
}

function toEntry(row: EntryRow): VaultEntry {
  return { token: row.token, keyring: row.keyring, seedId: row.seed_id, version: row.version, field: row.field, sealedValue: row.sealed_value, erasedAt: row.erased_at };
}
