import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { UploadTooLargeError, type JobFiles } from '../../adapters/files/jobFiles';
import { DatasetFormatError, type DatasetFormat } from '../../domain/datasetFormats';
import {
  DatasetJobState,
  parseFieldsParam,
  resolveFormat,
  rowsPerSecond,
  type DatasetJob,
  type DatasetJobRepository,
  type DatasetJobStarter,
} from '../../domain/datasetJob';
import { ConflictError, DomainError, InvalidInputError, NotFoundError } from '../../domain/errors';
import { assertKeyringName } from '../../domain/keyring';
import { keyringParam, type AuthService } from '../auth';

/** Everything the job routes need besides auth; optional so an API can run without jobs. */
export interface DatasetJobsApi {
  repository: DatasetJobRepository;
  files: JobFiles;
  workflows: DatasetJobStarter;
  maxUploadBytes: number;
  chunkRows: number;
}

export interface JobRouteDeps {
  auth: AuthService;
  datasetJobs?: DatasetJobsApi;
}

/** Upload media types; the body of these is streamed to disk, never buffered. */
const UPLOAD_TYPES = ['application/x-ndjson', 'text/csv', 'application/octet-stream'];
const OUTPUT_TYPES: Record<DatasetFormat, string> = { ndjson: 'application/x-ndjson; charset=utf-8', csv: 'text/csv; charset=utf-8' };
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UnsupportedUploadTypeError extends DomainError {
  readonly status = 415;
  constructor() {
    super('unsupported_media_type', `Send the file as ${UPLOAD_TYPES.join(', ')}.`);
  }
}

type JobQuery = { fields?: unknown; format?: unknown };

/**
 * Dataset jobs (README "Dataset jobs"). The routes live in their own plugin so the
 * pass-through body parser applies to them only: every other route stays JSON-only.
 * Authentication runs in onRequest, before a byte of the upload is read.
 */
export function registerJobRoutes(app: FastifyInstance, { auth, datasetJobs }: JobRouteDeps): void {
  if (!datasetJobs) return;
  const deps = { auth, ...datasetJobs };
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // The raw request stream goes to the handler, which validates it while writing it to disk.
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    registerRoutes(scope, deps);
  });
}

function registerRoutes(app: FastifyInstance, deps: DatasetJobsApi & { auth: AuthService }): void {
  const requireTokenize = (keyring: boolean) => deps.auth.requireScope('tokenize', keyring ? keyringParam : undefined) as unknown as onRequestAsyncHookHandler;

  app.post<{ Params: { keyring: string }; Querystring: JobQuery }>(
    '/v1/keyrings/:keyring/jobs',
    { onRequest: requireTokenize(true), bodyLimit: deps.maxUploadBytes },
    async (req, reply) => {
      const keyring = assertKeyringName(req.params.keyring);
      const fields = parseFieldsParam(req.query.fields);
      const format = resolveFormat(req.query.format, req.headers['content-type']);
      const idempotencyKey = readIdempotencyKey(req.headers['idempotency-key']);
      const body = uploadStream(req);
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > deps.maxUploadBytes) throw new UploadTooLargeError(deps.maxUploadBytes);

      if (idempotencyKey) {
        const existing = await deps.repository.findByIdempotencyKey(keyring, idempotencyKey);
        if (existing) return replay(reply, body, existing, format, fields);
      }
      await assertKeyringReady(deps.repository, keyring);

      const jobId = randomUUID();
      let summary;
      try {
        summary = await deps.files.receive(jobId, body, format, fields, deps.maxUploadBytes);
      } catch (err) {
        body.resume(); // discard the rest of a rejected upload
        if (err instanceof DatasetFormatError) {
          return reply.code(400).send({ error: { code: err.code, message: err.message, line: err.line } });
        }
        throw err;
      }
      const { job, created } = await deps.repository.create({
        id: jobId,
        keyring,
        format,
        fields,
        inputPath: deps.files.inputPath(jobId),
        inputBytes: summary.bytes,
        totalRows: summary.rows,
        chunkRows: deps.chunkRows,
        idempotencyKey,
        createdBy: req.principal?.keyId ?? 'anonymous',
      });
      if (!created) {
        await deps.files.discard(jobId);
        return replay(reply, body, job, format, fields);
      }
      // If this fails (Temporal down: 503), a retry with the same Idempotency-Key starts it.
      await deps.workflows.start(job);
      return reply.code(202).header('location', statusUrl(job)).send(submitted(job));
    },
  );

  async function replay(reply: FastifyReply, body: Readable, job: DatasetJob, format: DatasetFormat, fields: string[]): Promise<FastifyReply> {
    body.resume();
    if (job.format !== format || job.fields.join(',') !== fields.join(',')) {
      throw new ConflictError('idempotency_key_reused', 'This Idempotency-Key was used for a job with another format or other fields.');
    }
    // Heals a first request that died between recording the job and starting its workflow.
    await deps.workflows.start(job);
    return reply.code(202).header('location', statusUrl(job)).header('idempotent-replayed', 'true').send(submitted(job));
  }

  /** Loads the job named in the URL and checks the caller may use `tokenize` on its keyring. */
  async function authorizedJob(req: FastifyRequest<{ Params: { id: string } }>): Promise<DatasetJob> {
    if (!UUID.test(req.params.id)) throw new InvalidInputError('invalid_job_id', 'Job ids are UUIDs.');
    const job = await deps.repository.get(req.params.id.toLowerCase());
    if (!job) throw new NotFoundError('job_not_found', `No job ${req.params.id}.`);
    await deps.auth.requireKeyring(req, 'tokenize', job.keyring);
    return job;
  }

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { onRequest: requireTokenize(false) }, async (req) => {
    return jobView(await authorizedJob(req), new Date());
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/output', { onRequest: requireTokenize(false) }, async (req, reply) => {
    const job = await authorizedJob(req);
    if (job.state !== DatasetJobState.Completed) {
      throw new ConflictError('job_not_completed', `Job ${job.id} is ${job.state}; its output is available once it is completed.`);
    }
    const { stream, bytes } = deps.files.openOutput(job.id);
    return reply
      .header('content-type', OUTPUT_TYPES[job.format])
      .header('content-length', String(await bytes))
      .header('content-disposition', `attachment; filename="${job.id}.${job.format}"`)
      .send(stream);
  });
}

async function assertKeyringReady(jobs: DatasetJobRepository, keyring: string): Promise<void> {
  const ring = await jobs.keyringMode(keyring);
  if (!ring) throw new NotFoundError('keyring_not_found', `No keyring ${keyring}.`);
  if (!ring.mode) throw new ConflictError('keyring_mode_unset', `Keyring ${keyring} has no token mode yet; set it with PUT /v1/keyrings/${keyring}.`);
}

function uploadStream(req: FastifyRequest): Readable {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!UPLOAD_TYPES.includes(type)) throw new UnsupportedUploadTypeError();
  if (!(req.body instanceof Readable)) throw new DatasetFormatError('empty_dataset', 0, 'The request has no body: send the file.');
  return req.body;
}

function readIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (Array.isArray(header) || !IDEMPOTENCY_KEY.test(header)) {
    throw new InvalidInputError('invalid_idempotency_key', 'Idempotency-Key must be one header of 1-128 characters from A-Z a-z 0-9 . _ : -');
  }
  return header;
}

function statusUrl(job: DatasetJob): string {
  return `/v1/jobs/${job.id}`;
}

function submitted(job: DatasetJob) {
  return { jobId: job.id, workflowId: job.workflowId, statusUrl: statusUrl(job), outputUrl: `${statusUrl(job)}/output`, totalRows: job.totalRows, state: job.state };
}

function jobView(job: DatasetJob, now: Date) {
  return {
    ...submitted(job),
    keyring: job.keyring,
    format: job.format,
    fields: job.fields,
    inputBytes: job.inputBytes,
    progress: {
      rowsDone: job.rowsDone,
      totalRows: job.totalRows,
      rowsFailed: job.rowsFailed,
      percent: job.totalRows > 0 ? Math.floor((job.rowsDone / job.totalRows) * 1000) / 10 : 0,
      rowsPerSecond: rowsPerSecond(job, now),
    },
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    completedAt: job.completedAt?.toISOString() ?? null,
    error: job.error,
  };
}
