/**
 * Crypto limits for tokenization and the cost of where working keys live
 * (docs/KEYS.md): node:crypto vs PKCS#11 (SoftHSM), per primitive and per token.
 *   node --import tsx bench/crypto.bench.ts      (SoftHSM token must exist: npm run stack:up)
 * Results: bench/results/crypto-<timestamp>.json; figures and decision in docs/KEYS.md.
 */
import { createCipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { InMemoryTokenCrypto } from '../adapters/crypto/inMemoryTokenCrypto';
import { Pkcs11Hsm } from '../adapters/hsm/pkcs11Hsm';
import { Pkcs11KeyDerivation } from '../adapters/hsm/pkcs11KeyDerivation';
import { exportHsmEnvironment, loadConfig } from '../config/env';
import type { TokenCrypto } from '../domain/keyPorts';
import { fingerprint, issueDeterministicToken, sealValue } from '../domain/token';

const MEASURE_MS = Number(process.env.BENCH_MS ?? 2000);
const WARMUP_MS = 200;
const HMAC_INPUT = randomBytes(32);
const PLAINTEXT = randomBytes(64);
const AAD = randomBytes(48); // about the size of vaultAad('patients', 1, token)
const SCOPE = { keyring: 'patients', version: 1 };

interface Row {
  name: string;
  opsPerSec: number;
  usPerOp: number;
}

async function measure(name: string, op: () => unknown): Promise<Row> {
  // Synchronous primitives run in a plain loop: awaiting them would add a microtask per op.
  const isAsync = op() instanceof Promise;
  const run = async (ms: number): Promise<{ n: number; elapsed: number }> => {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      if (isAsync) for (let i = 0; i < 200; i++) await op();
      else for (let i = 0; i < 200; i++) op();
      n += 200;
      elapsed = performance.now() - t0;
    }
    return { n, elapsed };
  };
  await run(WARMUP_MS);
  const { n, elapsed } = await run(MEASURE_MS);
  const row = { name, opsPerSec: Math.round((n / elapsed) * 1000), usPerOp: Math.round((elapsed / n) * 1000 * 100) / 100 };
  console.log(`  ${name.padEnd(58)} ${String(row.opsPerSec).padStart(9)} ops/s ${String(row.usPerOp).padStart(8)} µs/op`);
  return row;
}

function timeMs(fn: () => unknown, n: number): Promise<number> {
  return (async () => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    return Math.round(((performance.now() - t0) / n) * 100) / 100;
  })();
}

async function fullToken(crypto: TokenCrypto, i: number): Promise<void> {
  const value = `JOSE PENA RODRIGUEZ ${i}`;
  const token = await issueDeterministicToken(crypto, SCOPE, 'nombre', value);
  await fingerprint(crypto, SCOPE.keyring, 'nombre', value);
  await sealValue(crypto, SCOPE, token, value);
}

async function main(): Promise<void> {
  const config = loadConfig();
  exportHsmEnvironment(config);
  const hsmConfig = { modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN };
  const hsm = new Pkcs11Hsm(hsmConfig);
  const derivation = new Pkcs11KeyDerivation(hsmConfig);
  const seedLabel = `bench:crypto:${randomUUID()}`;
  console.log(`crypto bench: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}, load ${os.loadavg()[0]?.toFixed(2)}, ${MEASURE_MS} ms per measurement, one process, sequential`);
  const rows: Row[] = [];
  try {
    await hsm.generateSeed(seedLabel);
    const deriveInHsmMs = await timeMs(async () => (await derivation.deriveInHsm(seedLabel)).zeroize(), 20);
    const exportMs = await timeMs(async () => new InMemoryTokenCrypto(await derivation.exportWorkingKeys(seedLabel)).zeroize(), 20);
    console.log(`  derive 4 working keys in the HSM: ${deriveInHsmMs} ms; derive + export to memory: ${exportMs} ms`);
    const inHsm = await derivation.deriveInHsm(seedLabel);
    const inMemory = new InMemoryTokenCrypto(await derivation.exportWorkingKeys(seedLabel));
    const rawKey = randomBytes(32);

    console.log('raw primitives');
    rows.push(await measure('node:crypto HMAC-SHA-256 (32 B), sync', () => createHmac('sha256', rawKey).update(HMAC_INPUT).digest()));
    rows.push(
      await measure('node:crypto AES-256-GCM encrypt (64 B, fresh IV), sync', () => {
        const c = createCipheriv('aes-256-gcm', rawKey, randomBytes(12));
        c.update(PLAINTEXT);
        c.final();
        return c.getAuthTag();
      }),
    );
    console.log('through TokenCrypto (async port)');
    rows.push(await measure('memory: hmacToken (32 B)', () => inMemory.hmacToken(HMAC_INPUT)));
    rows.push(await measure('memory: encrypt (64 B + AAD)', () => inMemory.encrypt(PLAINTEXT, AAD)));
    rows.push(await measure('hsm (PKCS#11 SoftHSM): hmacToken (32 B)', () => inHsm.hmacToken(HMAC_INPUT)));
    rows.push(await measure('hsm (PKCS#11 SoftHSM): encrypt (64 B + AAD)', () => inHsm.encrypt(PLAINTEXT, AAD)));
    console.log('full deterministic token: token HMAC + check HMAC + fingerprint HMAC + AES-GCM seal');
    let i = 0;
    rows.push(await measure('memory: full token', () => fullToken(inMemory, i++)));
    rows.push(await measure('hsm (PKCS#11 SoftHSM): full token', () => fullToken(inHsm, i++)));
    inHsm.zeroize();
    inMemory.zeroize();

    const by = (name: string) => rows.find((r) => r.name === name)!.opsPerSec;
    const ratio = Math.round((by('memory: full token') / by('hsm (PKCS#11 SoftHSM): full token')) * 10) / 10;
    console.log(`  full token, memory / hsm = ${ratio}x`);
    const at = new Date().toISOString();
    const result = { bench: 'crypto', at, host: { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), node: process.version, loadAverage1mAtEnd: os.loadavg()[0] }, measureMs: MEASURE_MS, deriveInHsmMs, deriveAndExportMs: exportMs, rows, fullTokenMemoryOverHsm: ratio };
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `crypto-${at.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`  written ${path.relative(process.cwd(), file)}`);
  } finally {
    await hsm.destroySeed(seedLabel);
    await derivation.close();
    await hsm.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
