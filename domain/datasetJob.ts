import { InvalidInputError } from './errors';
import { DATASET_FORMATS, type DatasetFormat } from './datasetFormats';
import { SALUDTECH_FIELDS } from './normalize';

/**
 * A dataset job: a bulk tokenization of one uploaded NDJSON or CSV file
 * (DESIGN.md "Tokenization"). The file is cut into chunks of whole rows by byte
 * offset; each chunk is tokenized by an activity, written as its own part file and
 * then recorded; the parts are concatenated, in order, into the output.
 *
 * States: queued (row written, workflow starting) → running (chunks being
 * tokenized) → completed, or failed. The workflow reports a finer `assembling`
 * state in its progress query while it concatenates the parts.
 */
export const DatasetJobState = {
  Queued: 'queued',
  Running: 'running',
  Assembling: 'assembling',
  Completed: 'completed',
  Failed: 'failed',
} as const;
export type DatasetJobState = (typeof DatasetJobState)[keyof typeof DatasetJobState];

export const DEFAULT_CHUNK_ROWS = 5_000;
/** A chunk also stops at this many bytes, so a file of very wide rows keeps activities small. */
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

export function datasetWorkflowId(jobId: string): string {
  return `dataset-${jobId}`;
}

export interface DatasetJob {
  id: string;
  keyring: string;
  workflowId: string;
  format: DatasetFormat;
  fields: string[];
  state: DatasetJobState;
  inputBytes: number;
  totalRows: number;
  rowsDone: number;
  rowsFailed: number;
  chunkRows: number;
  idempotencyKey: string | null;
  createdBy: string;
  error: string | null;
  outputPath: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

export type NewDatasetJob = Pick<DatasetJob, 'id' | 'keyring' | 'format' | 'fields' | 'inputBytes' | 'totalRows' | 'chunkRows' | 'idempotencyKey' | 'createdBy'> & {
  inputPath: string;
};

/** A finished chunk, as recorded after its part file is durably in place. */
export interface ChunkRecord {
  index: number;
  rows: number;
  rowsFailed: number;
}

export interface DatasetJobRepository {
  /** null: no such keyring; otherwise its token mode (null while unset). */
  keyringMode(keyring: string): Promise<{ mode: string | null } | null>;
  findByIdempotencyKey(keyring: string, idempotencyKey: string): Promise<DatasetJob | null>;
  /** Inserts the job; a concurrent request with the same idempotency key gets the winner's job and created=false. */
  create(job: NewDatasetJob): Promise<{ job: DatasetJob; created: boolean }>;
  get(id: string): Promise<DatasetJob | null>;
  markRunning(id: string, at: Date): Promise<void>;
  findChunk(jobId: string, index: number): Promise<ChunkRecord | null>;
  /** Records a chunk once and adds its counts to the job; false if it was already recorded. */
  recordChunk(jobId: string, chunk: ChunkRecord): Promise<boolean>;
  complete(id: string, outputPath: string, at: Date): Promise<DatasetJob>;
  fail(id: string, error: string, at: Date): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Request parameters

/** `fields=documento_id,nombre`: 1-5 distinct SaludTech fields (domain/normalize.ts). */
export function parseFieldsParam(raw: unknown): string[] {
  if (typeof raw !== 'string' || raw.trim() === '') throw new InvalidInputError('missing_fields', 'Name the fields to tokenize: ?fields=documento_id,nombre');
  const fields = raw.split(',').map((f) => f.trim());
  for (const f of fields) {
    if (!(SALUDTECH_FIELDS as readonly string[]).includes(f)) {
      throw new InvalidInputError('unknown_field', `Unknown field "${f.slice(0, 40)}"; fields are ${SALUDTECH_FIELDS.join(', ')}.`);
    }
  }
  if (new Set(fields).size !== fields.length) throw new InvalidInputError('duplicate_field', 'A field is named more than once.');
  return fields;
}

const CONTENT_TYPE_FORMATS: Record<string, DatasetFormat> = { 'application/x-ndjson': 'ndjson', 'text/csv': 'csv' };

/** `format=` wins; without it the Content-Type decides (application/octet-stream needs `format=`). */
export function resolveFormat(param: unknown, contentType: string | undefined): DatasetFormat {
  if (param !== undefined) {
    if (typeof param !== 'string' || !(DATASET_FORMATS as readonly string[]).includes(param)) {
      throw new InvalidInputError('invalid_format', `format must be one of ${DATASET_FORMATS.join(', ')}.`);
    }
    return param as DatasetFormat;
  }
  const fromType = CONTENT_TYPE_FORMATS[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
  if (!fromType) throw new InvalidInputError('missing_format', 'Say the file format: ?format=ndjson|csv (or send Content-Type application/x-ndjson or text/csv).');
  return fromType;
}

// ---------------------------------------------------------------------------------------------
// Chunk plan

export interface ChunkSpec {
  index: number;
  /** 0-based index of the chunk's first data row in the file. */
  firstRow: number;
  rows: number;
  /** Byte range [start, end) of whole rows. */
  start: number;
  end: number;
}

export interface ChunkPlan {
  format: DatasetFormat;
  /** Bytes [0, dataStart) are the CSV header (copied to the output as is). */
  dataStart: number;
  totalRows: number;
  chunks: ChunkSpec[];
}

/** Groups consecutive rows into chunks of at most maxRows rows and (unless one row is larger) maxBytes bytes. */
export class ChunkPlanner {
  private readonly chunks: ChunkSpec[] = [];
  private current: ChunkSpec | null = null;
  private rows = 0;

  constructor(
    private readonly maxRows: number,
    private readonly maxBytes = MAX_CHUNK_BYTES,
  ) {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError('maxRows must be a positive integer');
  }

  addRow(start: number, end: number): void {
    const c = this.current;
    if (c && (c.rows >= this.maxRows || end - c.start > this.maxBytes)) {
      this.chunks.push(c);
      this.current = null;
    }
    if (this.current) {
      this.current.rows += 1;
      this.current.end = end;
    } else {
      this.current = { index: this.chunks.length, firstRow: this.rows, rows: 1, start, end };
    }
    this.rows += 1;
  }

  finish(): ChunkSpec[] {
    if (this.current) this.chunks.push(this.current);
    this.current = null;
    return this.chunks;
  }
}

// ---------------------------------------------------------------------------------------------
// Progress

/** What the workflow's `progress` query answers (and the Web UI shows). */
export interface DatasetJobProgress {
  state: DatasetJobState;
  rowsDone: number;
  rowsFailed: number;
  totalRows: number;
  chunksDone: number;
  chunksTotal: number;
}

/** Rows per second since the job started (null before it starts). */
export function rowsPerSecond(job: Pick<DatasetJob, 'rowsDone' | 'startedAt' | 'completedAt'>, now: Date): number | null {
  if (!job.startedAt) return null;
  const seconds = ((job.completedAt ?? now).getTime() - job.startedAt.getTime()) / 1000;
  return seconds > 0 ? Math.round(job.rowsDone / seconds) : null;
}

/** One-line summary for the Temporal Web UI's "current details". */
export function describeProgress(p: DatasetJobProgress): string {
  const pct = p.totalRows > 0 ? Math.floor((p.rowsDone / p.totalRows) * 100) : 0;
  return `**${p.state}** — ${p.rowsDone.toLocaleString('en')} / ${p.totalRows.toLocaleString('en')} rows (${pct} %), chunk ${p.chunksDone} / ${p.chunksTotal}, ${p.rowsFailed} rows with a field that failed normalisation`;
}

// ---------------------------------------------------------------------------------------------
// Event

/** Published on Pulsar when a job completes: counts and ids only, never a value. */
export interface DatasetTokenizedEvent {
  type: 'DatasetTokenized';
  eventId: string;
  jobId: string;
  workflowId: string;
  keyring: string;
  format: DatasetFormat;
  fields: string[];
  totalRows: number;
  rowsDone: number;
  rowsFailed: number;
  inputBytes: number;
  occurredAt: string;
}

export interface DatasetEventPublisher {
  publish(event: DatasetTokenizedEvent): Promise<{ messageId: string }>;
}

export function datasetTokenizedEvent(job: DatasetJob, occurredAt: Date): DatasetTokenizedEvent {
  return {
    type: 'DatasetTokenized',
    eventId: `DatasetTokenized:${job.id}`,
    jobId: job.id,
    workflowId: job.workflowId,
    keyring: job.keyring,
    format: job.format,
    fields: job.fields,
    totalRows: job.totalRows,
    rowsDone: job.rowsDone,
    rowsFailed: job.rowsFailed,
    inputBytes: job.inputBytes,
    occurredAt: occurredAt.toISOString(),
  };
}

/** What the API needs from the workflow engine for jobs (kept small so tests can fake it). */
export interface DatasetJobStarter {
  /** Starts `dataset-<jobId>`; starting one that already ran or runs is not an error. */
  start(job: DatasetJob): Promise<void>;
}
