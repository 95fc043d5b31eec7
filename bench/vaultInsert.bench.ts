/**
 * Raw PostgreSQL insert limit for the vault table: the ceiling any
 * tokenization path that persists new tokens can reach on this machine.
 *   node --import tsx bench/vaultInsert.bench.ts [rows]
 * Rows go into the real `tokens` table (its indexes at their current size, its
 * foreign keys) under a throw-away keyring and seed, inside one transaction
 * that is rolled back, so nothing persists.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { loadConfig } from '../config/env';

const ROWS = Number(process.argv[2] ?? 100_000);
const BATCH = 1_000;

function row(i: number) {
  return {
    token: `tk_v1_${randomBytes(24).toString('base64url')}_${randomBytes(6).toString('base64url')}`,
    fingerprint: randomBytes(32).toString('base64url'),
    sealed: randomBytes(12 + 24 + 16),
    field: i % 2 ? 'nombre' : 'documento_id',
  };
}

/** Rows per second of batched inserts into `tokens`, measured inside a transaction that is rolled back. */
export async function measureVaultInsert(connectionString: string, rowCount: number): Promise<number> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    await client.query('BEGIN');
    const keyring = `bench-vault-${randomBytes(4).toString('hex')}`;
    const seedId = randomUUID();
    await client.query('INSERT INTO keyrings (name, next_version) VALUES ($1, 2)', [keyring]);
    await client.query(`INSERT INTO seeds (id, keyring, version, state, hsm_label, kcv, updated_at) VALUES ($1, $2, 1, 'deactivated', $3, '000000', now())`, [seedId, keyring, `bench:${seedId}`]);
    const rows = Array.from({ length: rowCount }, (_, i) => row(i));
    const t0 = performance.now();
    for (let i = 0; i < rowCount; i += BATCH) {
      const b = rows.slice(i, i + BATCH);
      await client.query(
        `INSERT INTO tokens (token, keyring, seed_id, version, field, fingerprint, sealed_value)
         SELECT t, $1, $2::uuid, 1, f, fp, sv FROM unnest($3::text[], $4::text[], $5::text[], $6::bytea[]) AS u(t, f, fp, sv)
         ON CONFLICT DO NOTHING`,
        [keyring, seedId, b.map((r) => r.token), b.map((r) => r.field), b.map((r) => r.fingerprint), b.map((r) => r.sealed)],
      );
    }
    return Math.round(rowCount / ((performance.now() - t0) / 1000));
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    // The rolled-back rows leave dead index entries that would slow the next inserts: clear them.
    await client.query('VACUUM tokens').catch(() => undefined);
    await client.end();
  }
}

async function main(): Promise<void> {
  const perSec = await measureVaultInsert(loadConfig().DATABASE_URL, ROWS);
  console.log(`vault insert: ${ROWS} rows in batches of ${BATCH}: ${perSec} rows/s`);
  const result = { bench: 'vault-insert', at: new Date().toISOString(), rows: ROWS, batch: BATCH, rowsPerSecond: perSec };
  const file = path.join(__dirname, 'results', `vault-insert-${result.at.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`written ${path.relative(process.cwd(), file)}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`bench failed: ${(err as Error).message}`);
    process.exit(1);
  });
}

