import { Prisma } from '../../generated/prisma/client';
import type { DatasetJob as DatasetJobRow } from '../../generated/prisma/client';
import type { DatasetFormat } from '../../domain/datasetFormats';
import { datasetWorkflowId, DatasetJobState, type ChunkRecord, type DatasetJob, type DatasetJobRepository, type NewDatasetJob } from '../../domain/datasetJob';
import type { Db } from './prismaClient';

/** Dataset jobs and their finished chunks in PostgreSQL (metadata and counts only, never a value). */
export class PrismaDatasetJobRepository implements DatasetJobRepository {
  constructor(private readonly db: Db) {}

  async keyringMode(keyring: string): Promise<{ mode: string | null } | null> {
    const row = await this.db.keyring.findUnique({ where: { name: keyring }, select: { mode: true } });
    return row ? { mode: row.mode } : null;
  }

  async findByIdempotencyKey(keyring: string, idempotencyKey: string): Promise<DatasetJob | null> {
    const row = await this.db.datasetJob.findUnique({ where: { keyringName_idempotencyKey: { keyringName: keyring, idempotencyKey } } });
    return row ? toJob(row) : null;
  }

  async create(job: NewDatasetJob): Promise<{ job: DatasetJob; created: boolean }> {
    try {
      const row = await this.db.datasetJob.create({
        data: {
          id: job.id,
          keyringName: job.keyring,
          workflowId: datasetWorkflowId(job.id),
          format: job.format,
          fields: job.fields,
          state: DatasetJobState.Queued,
          inputPath: job.inputPath,
          inputBytes: BigInt(job.inputBytes),
          totalRows: job.totalRows,
          chunkRows: job.chunkRows,
          idempotencyKey: job.idempotencyKey,
          createdBy: job.createdBy,
        },
      });
      return { job: toJob(row), created: true };
    } catch (err) {
      // Two concurrent uploads with one idempotency key: the loser answers with the winner's job.
      if (job.idempotencyKey && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        const winner = await this.findByIdempotencyKey(job.keyring, job.idempotencyKey);
        if (winner) return { job: winner, created: false };
      }
      throw err;
    }
  }

  async get(id: string): Promise<DatasetJob | null> {
    const row = await this.db.datasetJob.findUnique({ where: { id } });
    return row ? toJob(row) : null;
  }

  async markRunning(id: string, at: Date): Promise<void> {
    await this.db.datasetJob.updateMany({ where: { id, state: DatasetJobState.Queued }, data: { state: DatasetJobState.Running, startedAt: at } });
  }

  async findChunk(jobId: string, index: number): Promise<ChunkRecord | null> {
    const row = await this.db.datasetJobChunk.findUnique({ where: { jobId_index: { jobId, index } } });
    return row ? { index: row.index, rows: row.rows, rowsFailed: row.rowsFailed } : null;
  }

  async recordChunk(jobId: string, chunk: ChunkRecord): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      // The chunk row and the job's counters move together, and only the first time.
      const { count } = await tx.datasetJobChunk.createMany({ data: [{ jobId, index: chunk.index, rows: chunk.rows, rowsFailed: chunk.rowsFailed }], skipDuplicates: true });
      if (count === 0) return false;
      await tx.datasetJob.update({ where: { id: jobId }, data: { rowsDone: { increment: chunk.rows }, rowsFailed: { increment: chunk.rowsFailed } } });
      return true;
    });
  }

  async complete(id: string, outputPath: string, at: Date): Promise<DatasetJob> {
    await this.db.datasetJob.updateMany({ where: { id, state: { not: DatasetJobState.Completed } }, data: { state: DatasetJobState.Completed, outputPath, completedAt: at, error: null } });
    return toJob(await this.db.datasetJob.findUniqueOrThrow({ where: { id } }));
  }

  async fail(id: string, error: string, at: Date): Promise<void> {
    await this.db.datasetJob.updateMany({ where: { id, state: { notIn: [DatasetJobState.Completed, DatasetJobState.Failed] } }, data: { state: DatasetJobState.Failed, error: error.slice(0, 1000), completedAt: at } });
  }
}

function toJob(row: DatasetJobRow): DatasetJob {
  return {
    id: row.id,
    keyring: row.keyringName,
    workflowId: row.workflowId,
    format: row.format as DatasetFormat,
    fields: row.fields,
    state: row.state as DatasetJobState,
    inputBytes: Number(row.inputBytes),
    totalRows: row.totalRows,
    rowsDone: row.rowsDone,
    rowsFailed: row.rowsFailed,
    chunkRows: row.chunkRows,
    idempotencyKey: row.idempotencyKey,
    createdBy: row.createdBy,
    error: row.error,
    outputPath: row.outputPath,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
  };
}
