/**
 * Seed lifecycle benchmark: HTTP POST → `active` latency over N seeds, and, in
 * the same run, the raw HSM key generation time it contains.
 *   npm run bench:seeds [-- N]      (stack must be up: npm run stack:up)
 * Results: bench/results/seed-lifecycle-<timestamp>.json, summarised in docs/PERFORMANCE.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pkcs11Hsm } from '../adapters/hsm/pkcs11Hsm';
import { exportHsmEnvironment, loadConfig } from '../config/env';
import { startAll, uniqueKeyring } from '../test/support/services';
import { summarize } from './stats';

const N = Number(process.argv[2] ?? 50);
process.env.PULSAR_SEED_TOPIC ??= 'seed-events-bench';
process.env.HSM_TASK_QUEUE ??= 'hsm-service-bench';
process.env.LOG_LEVEL ??= 'warn';

async function rawHsmKeygen(n: number): Promise<number[]> {
  const config = loadConfig();
  exportHsmEnvironment(config);
  const hsm = new Pkcs11Hsm({ modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN });
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const label = `bench:${process.pid}:${i}`;
      const t0 = performance.now();
      await hsm.generateSeed(label);
      times.push(performance.now() - t0);
      await hsm.destroySeed(label);
    }
  } finally {
    await hsm.close();
  }
  return times;
}

async function lifecycle(apiUrl: string, keyring: string): Promise<number> {
  const headers = { authorization: `Bearer ${loadConfig().ADMIN_API_KEY}` };
  const t0 = performance.now();
  const res = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, { method: 'POST', headers });
  if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
  const { statusUrl } = (await res.json()) as { statusUrl: string };
  for (;;) {
    const view = (await (await fetch(`${apiUrl}${statusUrl}`, { headers })).json()) as { state: string };
    if (view.state === 'active') return performance.now() - t0;
    if (view.state === 'destroyed') throw new Error(`seed destroyed: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main(): Promise<void> {
  console.log(`seed lifecycle bench: ${N} seeds, ${os.cpus().length} cores`);
  const hsmTimes = await rawHsmKeygen(N);
  const hsm = summarize(hsmTimes);
  console.log(`  raw HSM AES-256 keygen (persistent object): p50 ${hsm.p50} ms  p99 ${hsm.p99} ms`);

  const app = await startAll(3190);
  const keyring = uniqueKeyring('bench');
  const times: number[] = [];
  try {
    await lifecycle(app.apiUrl, uniqueKeyring('warmup'));
    for (let i = 0; i < N; i++) {
      times.push(await lifecycle(app.apiUrl, keyring));
      if ((i + 1) % 10 === 0) process.stdout.write(`  ${i + 1}/${N} lifecycles\n`);
    }
  } finally {
    await app.stop();
  }
  const e2e = summarize(times);
  const ratio = Math.round((e2e.p50 / hsm.p50) * 10) / 10;
  console.log(`  POST → active (sequential, one keyring):   p50 ${e2e.p50} ms  p99 ${e2e.p99} ms  max ${e2e.max} ms`);
  console.log(`  end-to-end p50 / raw keygen p50 = ${ratio}x`);

  const result = { bench: 'seed-lifecycle', at: new Date().toISOString(), host: { cores: os.cpus().length, node: process.version }, n: N, rawHsmKeygenMs: hsm, postToActiveMs: e2e, p50RatioToKeygen: ratio };
  const file = path.join(__dirname, 'results', `seed-lifecycle-${result.at.replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`  written ${path.relative(process.cwd(), file)}`);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
