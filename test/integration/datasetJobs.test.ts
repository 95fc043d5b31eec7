import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createPrismaClient, type Db } from '../../adapters/db/prismaClient';
import { PulsarAdmin, PulsarConsumer, type ConsumedMessage } from '../../adapters/pulsar';
import { loadConfig } from '../../config/env';
import { ADMIN_API_KEY, asAdmin, postSeed, waitForSeed } from '../support/http';
import { ROOT, sleep, startAll, startTokenWorker, uniqueKeyring, type AppServices } from '../support/services';

/**
 * Dataset jobs over real HTTP against the real stack: the API, the HSM worker and
 * the token worker (which hosts the dataset-job workflow and activities) run as
 * processes; the token worker is SIGKILLed in the middle of a 100k-row job.
 */
const PORT = 3131;
const ROWS = 100_000;
const TOKEN = /^tk_v\d+_[A-Za-z0-9_-]{32}_[A-Za-z0-9_-]{8}$/;
const config = loadConfig();
const execFileAsync = promisify(execFile);

let services: AppServices;
let db: Db;
let ring: string;
let tmp: string;
let consumer: PulsarConsumer;
const events: Array<Record<string, unknown>> = [];

interface JobView {
  jobId: string;
  workflowId: string;
  statusUrl: string;
  totalRows: number;
  state: string;
  error: string | null;
  progress: { rowsDone: number; totalRows: number; rowsFailed: number; rowsPerSecond: number | null };
}

async function submit(keyring: string, body: Buffer | string, query: string, contentType: string, key = ADMIN_API_KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${services.apiUrl}/v1/keyrings/${keyring}/jobs?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function getJob(id: string): Promise<JobView> {
  const res = await fetch(`${services.apiUrl}/v1/jobs/${id}`, { headers: asAdmin() });
  if (res.status !== 200) throw new Error(`GET job answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as JobView;
}

async function waitForJob(id: string, predicate: (j: JobView) => boolean, timeoutMs: number): Promise<JobView> {
  const started = Date.now();
  let last: JobView | null = null;
  while (Date.now() - started < timeoutMs) {
    last = await getJob(id).catch(() => last);
    if (last && predicate(last)) return last;
    if (last?.state === 'failed') throw new Error(`job failed: ${last.error}`);
    await sleep(250);
  }
  throw new Error(`job ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

function nameOf(i: number): string {
  return i % 10_000 === 5 ? 'R2D2' : `Paciente ${String.fromCharCode(65 + (i % 26))}${String.fromCharCode(65 + (Math.floor(i / 26) % 20))}`;
}

function jobDirs(): string[] {
  return fs.existsSync(config.JOBS_DIR) ? fs.readdirSync(config.JOBS_DIR) : [];
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dataset-it-'));
  db = createPrismaClient(config.DATABASE_URL, 2);
  services = await startAll(PORT);

  ring = uniqueKeyring('jobs');
  const seed = await postSeed(services.apiUrl, ring);
  expect(seed.status).toBe(202);
  await waitForSeed(services.apiUrl, seed.body.seedId, (s) => s.state === 'active', 90_000);
  const mode = await fetch(`${services.apiUrl}/v1/keyrings/${ring}`, { method: 'PUT', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify({ mode: 'deterministic' }) });
  expect(mode.status).toBe(200);

  // Subscribe before any job runs, so its DatasetTokenized event cannot be missed.
  const pulsar = { webServiceUrl: config.PULSAR_WEB_URL, tenant: config.PULSAR_TENANT, namespace: config.PULSAR_NAMESPACE };
  const admin = new PulsarAdmin(pulsar);
  const subscription = `it-${Date.now().toString(36)}`;
  await admin.ensureTopic(config.PULSAR_DATASET_TOPIC);
  await admin.ensureSubscription(config.PULSAR_DATASET_TOPIC, subscription, 'latest');
  consumer = new PulsarConsumer({
    ...pulsar,
    topic: config.PULSAR_DATASET_TOPIC,
    subscription,
    subscriptionType: 'Exclusive',
    handler: async (m: ConsumedMessage) => {
      events.push(JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>);
    },
  });
  await consumer.start();
}, 300_000);

afterAll(async () => {
  // The jobs' files (input, output: ~20 MB) are not needed after the run.
  const jobs = ring ? await db.datasetJob.findMany({ where: { keyringName: ring }, select: { id: true } }) : [];
  for (const { id } of jobs) fs.rmSync(path.join(config.JOBS_DIR, id), { recursive: true, force: true });
  await consumer?.close();
  await services?.stop();
  await db?.$disconnect();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('dataset jobs over HTTP', () => {
  it(
    'tokenizes a 100k-row NDJSON job in order, exactly once, across a SIGKILL of the token worker',
    async () => {
      // 100k rows; 20k distinct documents and 520 names, so identical values recur across chunks.
      // Every 10,000th row has a name that fails normalisation (digits): kept, with that field null.
      const file = path.join(tmp, 'patients.ndjson');
      const out = fs.createWriteStream(file);
      for (let i = 0; i < ROWS; i++) out.write(`{"row":${i},"documento_id":"CC${1_000_000 + (i % 20_000)}","nombre":"${nameOf(i)}","edad":${i % 90}}\n`);
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));

      const t0 = Date.now();
      const res = await fetch(`${services.apiUrl}/v1/keyrings/${ring}/jobs?fields=documento_id,nombre&format=ndjson`, {
        method: 'POST',
        headers: asAdmin({ 'content-type': 'application/x-ndjson', 'idempotency-key': `it-${ring}` }),
        body: Readable.toWeb(fs.createReadStream(file)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      const submitted = (await res.json()) as JobView & { outputUrl: string };
      expect(res.status).toBe(202);
      expect(submitted).toMatchObject({ totalRows: ROWS, workflowId: `dataset-${submitted.jobId}`, statusUrl: `/v1/jobs/${submitted.jobId}` });

      const early = await fetch(`${services.apiUrl}${submitted.outputUrl}`, { headers: asAdmin() });
      expect(early.status).toBe(409);

      // Let a few chunks finish, then kill the worker mid-job, without any chance to clean up.
      const before = await waitForJob(submitted.jobId, (j) => j.progress.rowsDone >= 15_000, 300_000);
      const victim = services.tokenWorker!;
      await victim.kill();
      const doneAtKill = await db.datasetJobChunk.findMany({ where: { jobId: submitted.jobId }, orderBy: { index: 'asc' } });
      expect(before.progress.rowsDone).toBeLessThan(ROWS);
      expect(doneAtKill.length).toBeLessThan(ROWS / 5_000);

      services.tokenWorker = await startTokenWorker();
      const done = await waitForJob(submitted.jobId, (j) => j.state === 'completed', 480_000);
      const seconds = (Date.now() - t0) / 1000;
      console.log(`100k-row job: ${seconds.toFixed(1)} s end to end (upload, kill at ${before.progress.rowsDone} rows, restart, resume), ${done.progress.rowsPerSecond} rows/s reported`);
      expect(done.progress).toMatchObject({ rowsDone: ROWS, totalRows: ROWS, rowsFailed: ROWS / 10_000 });

      // Chunks recorded before the kill were not redone: same rows, same timestamps.
      const chunks = await db.datasetJobChunk.findMany({ where: { jobId: submitted.jobId }, orderBy: { index: 'asc' } });
      expect(chunks.map((c) => c.index)).toEqual([...Array(ROWS / 5_000).keys()]);
      expect(chunks.reduce((n, c) => n + c.rows, 0)).toBe(ROWS);
      for (const c of doneAtKill) expect(chunks[c.index]?.completedAt).toEqual(c.completedAt);

      // The output: every row once, in input order, named fields tokenized, the rest untouched.
      const output = await fetch(`${services.apiUrl}${submitted.outputUrl}`, { headers: asAdmin() });
      expect(output.status).toBe(200);
      expect(output.headers.get('content-type')).toContain('application/x-ndjson');
      const lines = (await output.text()).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(ROWS);
      const tokenOf = new Map<string, string>();
      const valueOf = new Map<string, string>();
      lines.forEach((line, i) => {
        const row = JSON.parse(line) as { row: number; documento_id: string; nombre: string; edad: number };
        if (row.row !== i) throw new Error(`line ${i} holds row ${row.row}`);
        expect(row.edad).toBe(i % 90);
        if (i % 10_000 === 5) expect(row.nombre).toBeNull();
        for (const [field, value] of [
          ['documento_id', `CC${1_000_000 + (i % 20_000)}`],
          ['nombre', nameOf(i)],
        ] as const) {
          if (i % 10_000 === 5 && field === 'nombre') continue;
          const token = row[field];
          if (!TOKEN.test(token)) throw new Error(`line ${i}: ${field} is not a token`);
          const key = `${field}:${value}`;
          if ((tokenOf.get(key) ?? token) !== token || (valueOf.get(token) ?? key) !== key) throw new Error(`line ${i}: ${field} tokenized inconsistently`);
          tokenOf.set(key, token);
          valueOf.set(token, key);
        }
      });
      expect(tokenOf.size).toBe(20_000 + 520);

      // The summary event: counts, no values.
      const started = Date.now();
      while (!events.some((e) => e.jobId === submitted.jobId) && Date.now() - started < 30_000) await sleep(200);
      const event = events.find((e) => e.jobId === submitted.jobId);
      console.log(`DatasetTokenized observed ${((Date.now() - t0) / 1000).toFixed(1)} s after submission`);
      expect(event).toMatchObject({ type: 'DatasetTokenized', keyring: ring, totalRows: ROWS, rowsDone: ROWS, rowsFailed: ROWS / 10_000, fields: ['documento_id', 'nombre'] });
      expect(JSON.stringify(event)).not.toMatch(/CC1\d{6}|Paciente|R2D2/);
      // Neither did any log line of the workers or the API.
      for (const proc of [services.api, victim, services.tokenWorker!]) expect(proc.lines.join('\n')).not.toMatch(/CC1\d{6}|Paciente|R2D2/);

      // Replaying the upload with its Idempotency-Key answers with the same job.
      // (Retried once if the client's pooled connection was closed under it: safe, that is what the key is for.)
      const replayOnce = () =>
        fetch(`${services.apiUrl}/v1/keyrings/${ring}/jobs?fields=documento_id,nombre&format=ndjson`, {
          method: 'POST',
          headers: asAdmin({ 'content-type': 'application/x-ndjson', 'idempotency-key': `it-${ring}` }),
          body: '{"documento_id":"x"}\n',
        });
      const replay = await replayOnce().catch(replayOnce);
      expect(replay.status).toBe(202);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(((await replay.json()) as JobView).jobId).toBe(submitted.jobId);
    },
    900_000,
  );

  it('runs a CSV job from the CLI (npx saludtech) and keeps the CSV byte for byte except the tokenized cells', async () => {
    const rows = 2_000;
    const file = path.join(tmp, 'pacientes.csv');
    const lines = ['nota,documento_id,nombre'];
    for (let i = 0; i < rows; i++) lines.push(`"nota ${i}, con ""comillas""",CC${2_000_000 + (i % 300)},"${nameOf(i + 1)}"`);
    fs.writeFileSync(file, `${lines.join('\r\n')}\r\n`);

    const cli = (...args: string[]) =>
      execFileAsync(process.execPath, [path.join(ROOT, 'cli', 'saludtech.cjs'), ...args, '--api', services.apiUrl], {
        env: { ...process.env, SALUDTECH_API_KEY: ADMIN_API_KEY },
        maxBuffer: 64 * 1024 * 1024,
      });
    const submitted = await cli('jobs', 'submit', file, '--keyring', ring, '--fields', 'documento_id,nombre');
    expect(submitted.stderr).toMatch(/submitted job [0-9a-f-]{36} \(2,000 rows\)/);
    expect(submitted.stderr).toMatch(/progress 100% rows=2000\/2000 .*state=completed/);
    const outputUrl = submitted.stdout.trim();
    expect(outputUrl).toMatch(new RegExp(`^${services.apiUrl}/v1/jobs/[0-9a-f-]{36}/output$`));

    const { stdout } = await cli('jobs', 'output', outputUrl.split('/').at(-2)!);
    const out = stdout.split('\r\n');
    expect(out.pop()).toBe('');
    expect(out).toHaveLength(rows + 1);
    expect(out[0]).toBe('nota,documento_id,nombre');
    const token = TOKEN.source.slice(1, -1);
    out.slice(1).forEach((line, i) => {
      // Row 4's name (R2D2) fails normalisation: its cell is left empty.
      const nombre = nameOf(i + 1) === 'R2D2' ? '' : token;
      if (!new RegExp(`^"nota ${i}, con ""comillas""",${token},${nombre}$`).test(line)) throw new Error(`output line ${i + 1} is not the input with tokens`);
    });

    const missing = await cli('jobs', 'status', '00000000-0000-4000-8000-000000000000').catch((err: { code: number; stderr: string }) => err);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('job_not_found') });
  }, 300_000);

  describe('bad input gets a 4xx, no job row, no workflow, no file', () => {
    const cases: Array<[string, string, string, string, number, string]> = [
      ['a truncated CSV', 'documento_id,nombre\n1,Ana\n2,"Luis Pe', 'fields=documento_id,nombre', 'text/csv', 400, 'unterminated_quote'],
      ['a CSV without the named column', 'documento_id,nota\n1,a\n', 'fields=documento_id,nombre', 'text/csv', 400, 'missing_field'],
      ['an unknown field', '{"documento_id":"1"}\n', 'fields=documento_id,telefono&format=ndjson', 'application/x-ndjson', 400, 'unknown_field'],
      ['malformed NDJSON', '{"documento_id":"1"}\n{"documento_id":\n', 'fields=documento_id', 'application/x-ndjson', 400, 'invalid_json'],
      ['a JSON body', '{"documento_id":"1"}', 'fields=documento_id&format=ndjson', 'application/json', 415, 'unsupported_media_type'],
    ];

    it.each(cases)('rejects %s', async (_name, body, query, type, status, code) => {
      const dirsBefore = jobDirs().length;
      const rowsBefore = await db.datasetJob.count({ where: { keyringName: ring } });
      const res = await submit(ring, body, query, type);
      expect(res.status).toBe(status);
      expect((res.body.error as { code: string }).code).toBe(code);
      if (status === 400 && code !== 'unknown_field') expect(res.body.error).toMatchObject({ line: expect.any(Number) });
      expect(JSON.stringify(res.body)).not.toMatch(/Luis|Ana/);
      expect(await db.datasetJob.count({ where: { keyringName: ring } })).toBe(rowsBefore);
      expect(jobDirs().length).toBe(dirsBefore);
    });

    it('answers 404 for an unknown keyring', async () => {
      const res = await submit(uniqueKeyring('nojobs'), '{"documento_id":"1"}\n', 'fields=documento_id&format=ndjson', 'application/x-ndjson');
      expect(res).toMatchObject({ status: 404, body: { error: { code: 'keyring_not_found' } } });
    });

    it('needs the tokenize scope on the keyring, for the upload and for reading a job', async () => {
      const issued = await fetch(`${services.apiUrl}/v1/api-keys`, {
        method: 'POST',
        headers: asAdmin({ 'content-type': 'application/json' }),
        body: JSON.stringify({ name: 'jobs-it-other', scopes: ['tokenize'], keyrings: ['some-other-ring'] }),
      });
      const { key } = (await issued.json()) as { key: string };
      const upload = await submit(ring, '{"documento_id":"1"}\n', 'fields=documento_id&format=ndjson', 'application/x-ndjson', key);
      expect(upload.status).toBe(403);
      const anyJob = await db.datasetJob.findFirstOrThrow({ where: { keyringName: ring } });
      const read = await fetch(`${services.apiUrl}/v1/jobs/${anyJob.id}`, { headers: { authorization: `Bearer ${key}` } });
      expect(read.status).toBe(403);
      const anonymous = await fetch(`${services.apiUrl}/v1/jobs/${anyJob.id}`);
      expect(anonymous.status).toBe(401);
    });
  });
});
