/**
 * Dataset job benchmark: rows/s and MB/s of a durable tokenization job over an
 * NDJSON file of clinical records (~1 KiB a row: two identifiers to tokenize and
 * a clinical note carried through), with one token worker and then two.
 *   npm run bench:dataset [-- megabytes]      (default 1024; stack up: npm run stack:up)
 * Each run uses its own patients, so neither is helped by the other's tokens.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { asAdmin, postSeed, waitForSeed } from '../test/support/http';
import { startAll, startTokenWorker, uniqueKeyring, type AppServices } from '../test/support/services';

const MEGABYTES = Number(process.argv[2] ?? 1024);
process.env.PULSAR_SEED_TOPIC ??= 'seed-events-bench';
process.env.HSM_TASK_QUEUE ??= 'hsm-service-bench';
process.env.TOKEN_TASK_QUEUE ??= 'token-service-bench';
process.env.PULSAR_DATASET_TOPIC ??= 'dataset-events-bench';
process.env.LOG_LEVEL ??= 'warn';

const NOTE = 'Paciente con antecedentes de hipertension arterial, control trimestral, sin alergias conocidas. '.repeat(9);

/** Writes about `megabytes` of NDJSON; ~1 in 5 rows repeats an earlier patient (joins). */
async function writeDataset(file: string, megabytes: number, patientBase: number): Promise<{ rows: number; bytes: number }> {
  const out = fs.createWriteStream(file);
  const target = megabytes * 1024 * 1024;
  let bytes = 0;
  let rows = 0;
  while (bytes < target) {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++, rows++) {
      const patient = patientBase + (rows % 5 === 4 ? Math.floor(rows / 2) : rows);
      lines.push(JSON.stringify({ documento_id: String(patient), nombre: `PACIENTE NUMERO ${patient}`, servicio: 'cardiologia', nota: NOTE }));
    }
    const chunk = lines.join('\n') + '\n';
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { rows, bytes };
}

function upload(apiUrl: string, keyring: string, file: string): Promise<{ jobId: string; statusUrl: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${apiUrl}/v1/keyrings/${keyring}/jobs?fields=documento_id,nombre&format=ndjson`, { method: 'POST', headers: asAdmin({ 'content-type': 'application/x-ndjson' }) }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(text) as { jobId: string; statusUrl: string }) : reject(new Error(`upload answered ${res.statusCode}: ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

async function runJob(app: AppServices, keyring: string, file: string, bytes: number, rows: number): Promise<Record<string, number>> {
  const t0 = performance.now();
  const { statusUrl } = await upload(app.apiUrl, keyring, file);
  const uploadedMs = performance.now() - t0;
  let last = '';
  for (;;) {
    const job = (await (await fetch(`${app.apiUrl}${statusUrl}`, { headers: asAdmin() })).json()) as { state: string; progress: { rowsDone: number; totalRows: number } };
    const line = `    ${job.state} ${job.progress.rowsDone}/${job.progress.totalRows}`;
    if (line !== last && Math.round(performance.now() / 10_000) !== Math.round((performance.now() - 2_000) / 10_000)) process.stdout.write(`${line}\n`);
    last = line;
    if (job.state === 'completed') break;
    if (job.state === 'failed') throw new Error(`job failed: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const totalS = (performance.now() - t0) / 1000;
  return { rows, megabytes: Math.round(bytes / 1048576), uploadS: Math.round(uploadedMs / 100) / 10, totalS: Math.round(totalS * 10) / 10, rowsPerSec: Math.round(rows / totalS), mbPerSec: Math.round((bytes / 1048576 / totalS) * 100) / 100 };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saludtech-bench-'));
  const app = await startAll(3193);
  const extraWorkers = [];
  try {
    const keyring = uniqueKeyring('benchjob');
    const seed = await postSeed(app.apiUrl, keyring);
    await waitForSeed(app.apiUrl, seed.body.seedId, (s) => s.state === 'active');
    await fetch(`${app.apiUrl}/v1/keyrings/${keyring}`, { method: 'PUT', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify({ mode: 'deterministic' }) });

    const results: Record<string, Record<string, number>> = {};
    for (const workers of [1, 2]) {
      const file = path.join(dir, `dataset-${workers}.ndjson`);
      const { rows, bytes } = await writeDataset(file, MEGABYTES, workers * 100_000_000);
      console.log(`  ${workers} token worker(s): ${rows} rows, ${Math.round(bytes / 1048576)} MB`);
      if (workers === 2) extraWorkers.push(await startTokenWorker());
      results[`workers${workers}`] = await runJob(app, keyring, file, bytes, rows);
      console.log(`  ${workers} token worker(s): ${JSON.stringify(results[`workers${workers}`])}`);
      fs.rmSync(file);
    }
    const out = { bench: 'dataset-job', at: new Date().toISOString(), host: { cores: os.cpus().length, node: process.version }, megabytes: MEGABYTES, ...results };
    const resultFile = path.join(__dirname, 'results', `dataset-job-${out.at.replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(resultFile, JSON.stringify(out, null, 2) + '\n');
    console.log(`  written ${path.relative(process.cwd(), resultFile)}`);
  } finally {
    await Promise.all(extraWorkers.map((w) => w.stop()));
    await app.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).message}`);
  process.exit(1);
});
