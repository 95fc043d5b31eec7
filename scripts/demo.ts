/**
 * End-to-end demo against the running stack: creates two seed versions of a
 * keyring over HTTP, waits for each to become active, then tokenizes a few
 * (made-up) patient identifiers, verifies and detokenizes one, and prints the
 * Temporal Web UI links. Usage: tsx scripts/demo.ts [keyring]
 */
import { loadConfig } from '../config/env';

const config = loadConfig();
const API = process.env.DEMO_API_URL ?? `http://127.0.0.1:${config.PORT}`;
// Seed endpoints need `admin`: the demo acts as the bootstrap admin (ADMIN_API_KEY).
const AUTH = { authorization: `Bearer ${config.ADMIN_API_KEY}` };
const keyring = process.argv[2] ?? `demo-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '').toLowerCase()}`;

interface SeedView {
  seedId: string;
  version: number;
  state: string;
  kcv: string | null;
  workflowId: string;
  temporalUiUrl: string;
  statusUrl: string;
}

async function createSeed(): Promise<SeedView> {
  const res = await fetch(`${API}/v1/keyrings/${keyring}/seeds`, { method: 'POST', headers: { ...AUTH, 'idempotency-key': `demo-${keyring}-${Date.now()}` } });
  if (res.status !== 202) throw new Error(`POST seeds answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as SeedView;
}

async function waitForState(seed: SeedView, wanted: string, timeoutMs = 60_000): Promise<SeedView> {
  const started = Date.now();
  let last = seed.state;
  while (Date.now() - started < timeoutMs) {
    const res = await fetch(`${API}${seed.statusUrl}`, { headers: AUTH });
    const view = (await res.json()) as SeedView;
    if (view.state !== last) {
      process.stdout.write(`    v${view.version}: ${last} → ${view.state}\n`);
      last = view.state;
    }
    if (view.state === wanted) return view;
    if (view.state === 'destroyed') throw new Error(`seed v${view.version} was destroyed: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`seed v${seed.version} not ${wanted} after ${timeoutMs} ms (last state ${last}); check .cache/logs/`);
}

async function main(): Promise<void> {
  console.log(`SaludTech demo: keyring "${keyring}" via ${API}`);
  for (let i = 1; i <= 2; i++) {
    const t0 = Date.now();
    const seed = await createSeed();
    console.log(`  POST /v1/keyrings/${keyring}/seeds → 202 seed v${seed.version} (${seed.seedId}), workflow ${seed.workflowId}`);
    const active = await waitForState(seed, 'active');
    console.log(`  v${active.version} active in ${Date.now() - t0} ms, KCV ${active.kcv}`);
  }
  const list = (await (await fetch(`${API}/v1/keyrings/${keyring}/seeds`, { headers: AUTH })).json()) as { activeVersion: number; seeds: SeedView[] };
  console.log(`\n  GET /v1/keyrings/${keyring}/seeds:`);
  for (const s of list.seeds) console.log(`    v${s.version}  ${s.state.padEnd(12)} kcv=${s.kcv}  ${s.temporalUiUrl}`);
  await tokenizationDemo();
  console.log(`\n  Temporal Web UI: ${list.seeds[0]?.temporalUiUrl.replace(/\/workflows\/.*/, '/workflows')}`);
  console.log(`  Stop everything with: npm run stack:down`);
}

async function call<T>(method: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${API}${path}`, { method, headers: { ...AUTH, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Made-up identifiers: the same patient written two ways gets one token. */
async function tokenizationDemo(): Promise<void> {
  await call('PUT', `/v1/keyrings/${keyring}`, { mode: 'deterministic' });
  const items = [
    { reference: 'row-1', field: 'documento_id', value: '1.020.304.050' },
    { reference: 'row-2', field: 'documento_id', value: '1020304050' },
    { reference: 'row-3', field: 'nombre', value: 'José  Peña' },
    { reference: 'row-4', field: 'fecha_nacimiento', value: '31/02/1980' },
  ];
  const tokenized = await call<{ items: Array<{ reference: string; token?: string; error?: { code: string } }> }>('POST', `/v1/keyrings/${keyring}/tokenize`, { items });
  console.log(`\n  POST /v1/keyrings/${keyring}/tokenize (deterministic, active version):`);
  for (const r of tokenized.items) console.log(`    ${r.reference}  ${r.token ?? `error ${r.error?.code}`}`);
  const token = tokenized.items[0]?.token;
  if (!token) throw new Error('the demo value was not tokenized');
  const verified = await call<{ valid: boolean; version: number; state: string }>('POST', '/v1/tokens/verify', { token });
  console.log(`  POST /v1/tokens/verify → valid=${verified.valid} version=v${verified.version} state=${verified.state}`);
  const back = await call<{ items: Array<{ value?: string }> }>('POST', `/v1/keyrings/${keyring}/detokenize`, { purpose: 'demo', items: [{ reference: 'row-1', token }] });
  console.log(`  POST /v1/keyrings/${keyring}/detokenize (audited) → ${back.items[0]?.value === '1020304050' ? 'normalised value returned' : 'unexpected answer'}`);
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exit(1);
});
