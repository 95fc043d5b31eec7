/**
 * Raw PostgreSQL insert limit for vault-shaped rows: the ceiling any
 * tokenization path that persists new tokens can reach on this machine.
 *   node --import tsx bench/vaultInsert.bench.ts [rows]
 * Rows go to a TEMP table shaped like `tokens` (same columns, same unique
 * indexes), so the shared database is left untouched.
 */
import { randomBytes } from 'node:crypto';
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

/** Rows per second of batched inserts into a TEMP copy of `tokens` (same indexes). */
export async function measureVaultInsert(connectionString: string, rowCount: number): Promise<number> {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    await client.query('CREATE TEMP TABLE bench_tokens (LIKE tokens INCLUDING DEFAULTS INCLUDING INDEXES)');
    const seedId = '00000000-0000-4000-8000-000000000000';
    const rows = Array.from({ length: rowCount }, (_, i) => row(i));
    const t0 = performance.now();
    for (let i = 0; i < rowCount; i += BATCH) {
      const b = rows.slice(i, i + BATCH);
      await client.query(
        `INSERT INTO bench_tokens (token, keyring, seed_id, version, field, fingerprint, sealed_value)
         SELECT t, 'bench', $1::uuid, 1, f, fp, sv FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(t, f, fp, sv)
         ON CONFLICT DO NOTHING`,
        [seedId, b.map((r) => r.token), b.map((r) => r.field), b.map((r) => r.fingerprint), b.map((r) => r.sealed)],
      );
    }
    return Math.round(rowCount / ((performance.now() - t0) / 1000));
  } finally {
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

