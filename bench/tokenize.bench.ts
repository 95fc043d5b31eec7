/**
 * Tokenization benchmark, every figure from ONE run so ratios are meaningful
 * on a noisy machine (docs/PERFORMANCE.md):
 *   1. raw crypto limit: a full deterministic token (3 HMACs + AES-GCM seal) with
 *      in-memory working keys, in this process;
 *   2. raw PostgreSQL insert limit for vault rows (TEMP table, same indexes);
 *   3. batch tokenize over HTTP of NEW values, persisted: tokens/s and its ratio to
 *      min(1, 2) — target ≥ 50 %;
 *   4. repeat tokenize of known values (lookup path): tokens/s;
 *   5. single-value tokenize at a fixed request rate: p50/p99 latency — target p99 ≤ 10 ms.
 *   npm run bench:tokenize [-- batches batchSize rate seconds]   (stack up: npm run stack:up)
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { InMemoryTokenCrypto } from '../adapters/crypto/inMemoryTokenCrypto';
import { loadConfig } from '../config/env';
import { fingerprint, issueDeterministicToken, sealValue } from '../domain/token';
import { asAdmin, postSeed, waitForSeed } from '../test/support/http';
import { startAll, uniqueKeyring } from '../test/support/services';
import { summarize } from './stats';
import { measureVaultInsert } from './vaultInsert.bench';

const arg = (i: number, fallback: number): number => Number(process.argv[2 + i] ?? fallback);
const [BATCHES, BATCH_SIZE, RATE, SECONDS] = [arg(0, 10), arg(1, 10_000), arg(2, 500), arg(3, 10)] as const;
process.env.PULSAR_SEED_TOPIC ??= 'seed-events-bench';
process.env.HSM_TASK_QUEUE ??= 'hsm-service-bench';
process.env.LOG_LEVEL ??= 'warn';

async function cryptoLimit(ms = 2_000): Promise<number> {
  const crypto = new InMemoryTokenCrypto({ tokenHmac: randomBytes(32), fingerprintHmac: randomBytes(32), checkHmac: randomBytes(32), vaultData: randomBytes(32) });
  const scope = { keyring: 'bench', version: 1 };
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const value = `${1_000_000_000 + n}`;
    const token = await issueDeterministicToken(crypto, scope, 'documento_id', value);
    await fingerprint(crypto, scope.keyring, 'documento_id', value);
    await sealValue(crypto, scope, token, value);
    n++;
  }
  crypto.zeroize();
  return Math.round(n / ((performance.now() - t0) / 1000));
}

async function tokenize(apiUrl: string, keyring: string, values: string[]): Promise<void> {
  const res = await fetch(`${apiUrl}/v1/keyrings/${keyring}/tokenize`, {
    method: 'POST',
    headers: asAdmin({ 'content-type': 'application/json' }),
    body: JSON.stringify({ items: values.map((value, i) => ({ reference: String(i), field: 'documento_id', value })) }),
  });
  if (res.status !== 200) throw new Error(`tokenize answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const body = (await res.json()) as { items: Array<{ token?: string }> };
  if (body.items.some((i) => !i.token)) throw new Error('a bench item failed');
}

async function throughput(apiUrl: string, keyring: string, batches: string[][]): Promise<number> {
  const t0 = performance.now();
  for (const batch of batches) await tokenize(apiUrl, keyring, batch);
  return Math.round(batches.reduce((n, b) => n + b.length, 0) / ((performance.now() - t0) / 1000));
}

/** One single-value tokenize over a keep-alive connection pool (like a real client's). */
function tokenizeOne(agent: http.Agent, apiUrl: string, keyring: string, value: string): Promise<void> {
  const body = JSON.stringify({ items: [{ reference: '1', field: 'documento_id', value }] });
  return new Promise((resolve, reject) => {
    const req = http.request(`${apiUrl}/v1/keyrings/${keyring}/tokenize`, { method: 'POST', agent, headers: asAdmin({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`tokenize answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Open loop: requests start on a fixed schedule whatever the latency, so queueing shows in p99. */
async function fixedRate(apiUrl: string, keyring: string, rate: number, seconds: number, firstValue: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const total = rate * seconds;
  const latencies: number[] = [];
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      // Latency counts from the scheduled start: time spent queued for a socket is latency too.
      inflight.push(tokenizeOne(agent, apiUrl, keyring, `${firstValue + i}`).then(() => void latencies.push(performance.now() - due)));
    }
    await Promise.all(inflight);
  } finally {
    agent.destroy();
  }
  return latencies;
}

async function main(): Promise<void> {
  const config = loadConfig();
  console.log(`tokenize bench: ${BATCHES}×${BATCH_SIZE} batch, ${RATE} req/s for ${SECONDS} s, ${os.cpus().length} cores`);
  const crypto = await cryptoLimit();
  console.log(`  raw crypto (in-memory keys, full token):   ${crypto} tokens/s`);
  const insert = await measureVaultInsert(config.DATABASE_URL, 100_000);
  console.log(`  raw vault insert (batches of 1000):         ${insert} rows/s`);

  const app = await startAll(3192);
  const keyring = uniqueKeyring('benchtok');
  try {
    const seed = await postSeed(app.apiUrl, keyring);
    await waitForSeed(app.apiUrl, seed.body.seedId, (s) => s.state === 'active');
    const mode = await fetch(`${app.apiUrl}/v1/keyrings/${keyring}`, { method: 'PUT', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify({ mode: 'deterministic' }) });
    if (mode.status !== 200) throw new Error(`PUT mode answered ${mode.status}`);
    await tokenize(app.apiUrl, keyring, ['1999999999']); // warm-up: derives the working keys

    const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: BATCH_SIZE }, (_, i) => `${3_000_000_000 + b * BATCH_SIZE + i}`));
    const fresh = await throughput(app.apiUrl, keyring, batches);
    const ceiling = Math.min(crypto, insert);
    console.log(`  HTTP batch tokenize, new values:           ${fresh} tokens/s = ${Math.round((fresh / ceiling) * 100)} % of min(crypto, insert)`);
    const known = await throughput(app.apiUrl, keyring, batches);
    console.log(`  HTTP batch tokenize, known values:         ${known} tokens/s`);
    const lat = summarize(await fixedRate(app.apiUrl, keyring, RATE, SECONDS, 7_000_000_000));
    console.log(`  single value at ${RATE} req/s, new values:   p50 ${lat.p50} ms  p99 ${lat.p99} ms  max ${lat.max} ms`);
    // The same values again: the lookup path, no write.
    const latKnown = summarize(await fixedRate(app.apiUrl, keyring, RATE, SECONDS, 7_000_000_000));
    console.log(`  single value at ${RATE} req/s, known values: p50 ${latKnown.p50} ms  p99 ${latKnown.p99} ms  max ${latKnown.max} ms`);

    const result = {
      bench: 'tokenize',
      at: new Date().toISOString(),
      host: { cores: os.cpus().length, node: process.version },
      rawCryptoTokensPerSec: crypto,
      rawVaultInsertRowsPerSec: insert,
      httpBatchNewTokensPerSec: fresh,
      httpBatchNewRatioToCeiling: Math.round((fresh / ceiling) * 1000) / 1000,
      httpBatchKnownTokensPerSec: known,
      singleValueNew: { rate: RATE, seconds: SECONDS, latencyMs: lat },
      singleValueKnown: { rate: RATE, seconds: SECONDS, latencyMs: latKnown },
    };
    const file = path.join(__dirname, 'results', `tokenize-${result.at.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`  written ${path.relative(process.cwd(), file)}`);
  } finally {
    await app.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
