import { Pool } from 'pg';
import type { SeedState } from '../../domain/seed';
import type { TokenModeName } from '../../domain/tokenPorts';
import { IssuingContextChangedError, type IssuingContext, type NewVaultEntry, type TokenVault, type VaultSeed } from '../../tokenService/vault';
import type { Db } from './prismaClient';
import { PrismaVault } from './prismaVault';

/**
 * The vault's hot path (every tokenize) on node-postgres directly: one round trip
 * per step and bytea parameters as buffers, where Prisma's raw queries cost about
 * twice the database time in client-side work (bench/tokenize.bench.ts,
 * docs/PERFORMANCE.md). Everything else stays on Prisma (PrismaVault).
 */
export class PgVault extends PrismaVault implements TokenVault {
  constructor(
    db: Db,
    private readonly pool: Pool,
  ) {
    super(db);
  }

  override async issuingContext(keyring: string): Promise<IssuingContext | null> {
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

  override async findByFingerprints(keyring: string, version: number, fingerprints: string[]): Promise<Map<string, string>> {
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
  override async insertIssued(seed: VaultSeed, mode: TokenModeName, entries: NewVaultEntry[]): Promise<Map<string, string>> {
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
}

export function createVaultPool(connectionString: string, max: number): Pool {
  return new Pool({ connectionString, max, connectionTimeoutMillis: 5_000 });
}
