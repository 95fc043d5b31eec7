import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createDatasetJobActivities } from '../../../activities/datasetJobs';
import { JobFiles } from '../../../adapters/files/jobFiles';
import type { DatasetFormat } from '../../../domain/datasetFormats';
import type { ChunkRecord, DatasetJob, DatasetJobRepository, DatasetTokenizedEvent, NewDatasetJob } from '../../../domain/datasetJob';
import type { TokenizeItem, TokenizeOutcome, TokenService } from '../../../domain/tokenPorts';
import { silentLogger } from '../../support/fakes';

/** Mirrors PrismaDatasetJobRepository: a chunk is recorded once and moves the job's counters once. */
class InMemoryDatasetJobs implements DatasetJobRepository {
  readonly jobs = new Map<string, DatasetJob>();
  readonly chunks = new Map<string, ChunkRecord>();
  async keyringMode() {
    return { mode: 'deterministic' };
  }
  async findByIdempotencyKey() {
    return null;
  }
  async create(job: NewDatasetJob) {
    const row: DatasetJob = { ...job, workflowId: `dataset-${job.id}`, state: 'queued', rowsDone: 0, rowsFailed: 0, error: null, outputPath: null, createdAt: new Date(), startedAt: null, completedAt: null };
    this.jobs.set(job.id, row);
    return { job: row, created: true };
  }
  async get(id: string) {
    return this.jobs.get(id) ?? null;
  }
  async markRunning(id: string, at: Date) {
    const j = this.jobs.get(id)!;
    if (j.state === 'queued') Object.assign(j, { state: 'running', startedAt: at });
  }
  async findChunk(jobId: string, index: number) {
    return this.chunks.get(`${jobId}:${index}`) ?? null;
  }
  async recordChunk(jobId: string, chunk: ChunkRecord) {
    if (this.chunks.has(`${jobId}:${chunk.index}`)) return false;
    this.chunks.set(`${jobId}:${chunk.index}`, chunk);
    const j = this.jobs.get(jobId)!;
    j.rowsDone += chunk.rows;
    j.rowsFailed += chunk.rowsFailed;
    return true;
  }
  async complete(id: string, outputPath: string, at: Date) {
    return Object.assign(this.jobs.get(id)!, { state: 'completed' as const, outputPath, completedAt: at });
  }
  async fail(id: string, error: string) {
    Object.assign(this.jobs.get(id)!, { state: 'failed', error });
  }
}

/** Deterministic fake: token = field + value; values containing "!" fail normalisation. */
class FakeTokens implements Pick<TokenService, 'tokenize'> {
  calls: TokenizeItem[][] = [];
  async tokenize(_keyring: string, items: TokenizeItem[]): Promise<TokenizeOutcome[]> {
    this.calls.push(items);
    return items.map((i) =>
      i.value.includes('!') ? { reference: i.reference, error: { code: 'invalid_value', message: `${i.field} is invalid` } } : { reference: i.reference, token: `tk_v1_${i.field}_${i.value}` },
    );
  }
}

describe('dataset job activities', () => {
  let root: string;
  let files: JobFiles;
  let jobs: InMemoryDatasetJobs;
  let tokens: FakeTokens;
  let events: DatasetTokenizedEvent[];
  let activities: ReturnType<typeof createDatasetJobActivities>;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-'));
    files = new JobFiles(root);
    jobs = new InMemoryDatasetJobs();
    tokens = new FakeTokens();
    events = [];
    activities = createDatasetJobActivities({
      jobs,
      files,
      tokens: tokens as unknown as TokenService,
      events: { publish: async (e) => (events.push(e), { messageId: 'm1' }) },
      logger: silentLogger(),
      tokenizeBatchSize: 3,
      heartbeat: () => undefined,
    });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  async function submit(format: DatasetFormat, text: string, fields: string[], chunkRows = 2): Promise<string> {
    const id = `00000000-0000-4000-8000-${String(jobs.jobs.size + 1).padStart(12, '0')}`;
    const summary = await files.receive(id, Readable.from([Buffer.from(text)]), format, fields, 1 << 20);
    await jobs.create({ id, keyring: 'patients', format, fields, inputPath: files.inputPath(id), inputBytes: summary.bytes, totalRows: summary.rows, chunkRows, idempotencyKey: null, createdBy: 'test' });
    return id;
  }

  it('tokenizes every chunk and assembles the output in input order (CSV header first)', async () => {
    const id = await submit('csv', 'documento_id,nota,nombre\n1,a,Ana\n2,"b,c",Luis\n3,,Eva\n4,d,Bad!\n5,e,Ana\n', ['documento_id', 'nombre']);
    const started = await activities.startDatasetJob(id);
    expect(started).toEqual({ keyring: 'patients', totalRows: 5, chunksTotal: 3 });
    // Chunks may finish in any order; the output is still in input order.
    for (const index of [2, 0, 1]) await activities.tokenizeChunk(id, index);
    await activities.assembleOutput(id);
    await activities.completeDatasetJob(id);

    expect(fs.readFileSync(files.outputPath(id), 'utf8')).toBe(
      'documento_id,nota,nombre\n' +
        'tk_v1_documento_id_1,a,tk_v1_nombre_Ana\n' +
        'tk_v1_documento_id_2,"b,c",tk_v1_nombre_Luis\n' +
        'tk_v1_documento_id_3,,tk_v1_nombre_Eva\n' +
        'tk_v1_documento_id_4,d,\n' +
        'tk_v1_documento_id_5,e,tk_v1_nombre_Ana\n',
    );
    expect(jobs.jobs.get(id)).toMatchObject({ state: 'completed', rowsDone: 5, rowsFailed: 1 });
    // Sub-batches of at most 3 items per tokenize call.
    expect(Math.max(...tokens.calls.map((c) => c.length))).toBeLessThanOrEqual(3);
    // Parts are gone once the output is in place.
    expect(fs.readdirSync(files.dir(id)).filter((f) => f.startsWith('part-'))).toEqual([]);
  });

  it('skips a chunk that is already recorded, without tokenizing it again', async () => {
    const id = await submit('ndjson', '{"nombre":"Ana"}\n{"nombre":"Eva"}\n{"nombre":"Luis"}\n', ['nombre']);
    await activities.startDatasetJob(id);
    const first = await activities.tokenizeChunk(id, 0);
    const callsAfterFirst = tokens.calls.length;
    const again = await activities.tokenizeChunk(id, 0);
    expect(first).toEqual({ index: 0, rows: 2, rowsFailed: 0, skipped: false });
    expect(again).toEqual({ index: 0, rows: 2, rowsFailed: 0, skipped: true });
    expect(tokens.calls.length).toBe(callsAfterFirst);
    expect(jobs.jobs.get(id)?.rowsDone).toBe(2);
  });

  it('redoes a chunk whose part was written but not recorded (crash in between), counting it once', async () => {
    const id = await submit('ndjson', '{"nombre":"Ana"}\n{"nombre":"Eva"}\n{"nombre":"Luis"}\n', ['nombre']);
    await activities.startDatasetJob(id);
    const realRecord = jobs.recordChunk.bind(jobs);
    jobs.recordChunk = async () => {
      throw new Error('worker killed before recording');
    };
    await expect(activities.tokenizeChunk(id, 1)).rejects.toThrow('worker killed');
    jobs.recordChunk = realRecord;

    await activities.tokenizeChunk(id, 1);
    await activities.tokenizeChunk(id, 0);
    await activities.assembleOutput(id);
    expect(fs.readFileSync(files.outputPath(id), 'utf8').split('\n').filter(Boolean)).toEqual([
      '{"nombre":"tk_v1_nombre_Ana"}',
      '{"nombre":"tk_v1_nombre_Eva"}',
      '{"nombre":"tk_v1_nombre_Luis"}',
    ]);
    expect(jobs.jobs.get(id)?.rowsDone).toBe(3);
  });

  it('keeps the plan computed at start, and assembling twice is harmless', async () => {
    const id = await submit('ndjson', '{"nombre":"Ana"}\n{"nombre":"Eva"}\n{"nombre":"Luis"}\n', ['nombre'], 1);
    await activities.startDatasetJob(id);
    expect(await activities.startDatasetJob(id)).toMatchObject({ chunksTotal: 3 });
    for (const i of [0, 1, 2]) await activities.tokenizeChunk(id, i);
    const a = await activities.assembleOutput(id);
    const b = await activities.assembleOutput(id);
    expect(b).toEqual(a);
  });

  it('publishes a DatasetTokenized summary with counts and no values', async () => {
    const id = await submit('ndjson', '{"documento_id":"79123456!"}\n{"documento_id":"80123456"}\n', ['documento_id']);
    await activities.startDatasetJob(id);
    await activities.tokenizeChunk(id, 0);
    await activities.assembleOutput(id);
    await activities.completeDatasetJob(id);
    await activities.publishDatasetTokenized(id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'DatasetTokenized', eventId: `DatasetTokenized:${id}`, jobId: id, totalRows: 2, rowsDone: 2, rowsFailed: 1 });
    expect(JSON.stringify(events[0])).not.toMatch(/79123456|80123456/);
  });

  it('fails for good (non-retryable) when the input file is gone', async () => {
    const id = await submit('ndjson', '{"nombre":"Ana"}\n', ['nombre']);
    fs.rmSync(files.inputPath(id));
    await expect(activities.startDatasetJob(id)).rejects.toMatchObject({ type: 'DatasetInputMissing', nonRetryable: true });
  });
});

describe('uploads to job storage', () => {
  it('removes the partial file when the upload is structurally wrong', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-'));
    try {
      const files = new JobFiles(root);
      const id = '00000000-0000-4000-8000-000000000001';
      await expect(files.receive(id, Readable.from([Buffer.from('documento_id\n1\n"2')]), 'csv', ['documento_id'], 1 << 20)).rejects.toMatchObject({ code: 'unterminated_quote', line: 3 });
      expect(fs.existsSync(files.dir(id))).toBe(false);
      await expect(files.receive(id, Readable.from([Buffer.alloc(64, 0x61)]), 'csv', ['documento_id'], 10)).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
      expect(fs.existsSync(files.dir(id))).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
