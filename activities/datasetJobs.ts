import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { JobFiles } from '../adapters/files/jobFiles';
import type { Logger } from '../config/logger';
import { createRowCodec, renderRows } from '../domain/datasetRows';
import { datasetTokenizedEvent, type ChunkPlan, type DatasetEventPublisher, type DatasetJob, type DatasetJobRepository } from '../domain/datasetJob';
import type { TokenizeItem, TokenService } from '../domain/tokenPorts';
import { DomainError } from '../domain/errors';
import { asTemporalFailure } from './failures';

export interface DatasetJobActivityDeps {
  jobs: DatasetJobRepository;
  files: JobFiles;
  tokens: TokenService;
  events: DatasetEventPublisher;
  logger: Logger;
  /** Items per TokenService.tokenize call (each call is one atomic write in the vault). */
  tokenizeBatchSize?: number;
  now?: () => Date;
  /** Reports liveness and progress to Temporal; defaults to the running activity's heartbeat. */
  heartbeat?: (details: unknown) => void;
}

export interface StartedJob {
  keyring: string;
  totalRows: number;
  chunksTotal: number;
}

export interface ChunkResult {
  index: number;
  rows: number;
  rowsFailed: number;
  /** True when the chunk was already recorded (a retry after a crash): nothing was redone. */
  skipped: boolean;
}

export const DEFAULT_TOKENIZE_BATCH = 2_000;

/**
 * Dataset job activities. Arguments and results carry the job id, chunk indexes and
 * counts only: values stay in files and in memory, never in Temporal payloads.
 *
 * Idempotency: the plan is computed once and kept; a chunk is done when its row is
 * in dataset_job_chunks, which is written only after its part file is durably in
 * place, so a retried tokenizeChunk either skips (row present) or rewrites the same
 * part (tokenize is idempotent: same value, same token) and records it once.
 */
export function createDatasetJobActivities(deps: DatasetJobActivityDeps) {
  const { jobs, files, tokens, events, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const heartbeat = deps.heartbeat ?? ((details: unknown) => Context.current().heartbeat(details));
  const batchSize = deps.tokenizeBatchSize ?? DEFAULT_TOKENIZE_BATCH;
  const plans = new PlanCache(files);

  const loadJob = async (jobId: string): Promise<DatasetJob> => {
    const job = await jobs.get(jobId);
    if (!job) throw ApplicationFailure.nonRetryable(`No dataset job ${jobId}`, 'DatasetJobNotFound');
    return job;
  };

  return {
    /** Marks the job running and computes (or reloads) its chunk plan. */
    async startDatasetJob(jobId: string): Promise<StartedJob> {
      return asTemporalFailure(async () => {
        const job = await loadJob(jobId);
        await jobs.markRunning(jobId, now());
        const plan = await withInput(jobId, () => files.plan(jobId, job.format, job.fields, job.chunkRows, (bytes) => heartbeat({ scannedBytes: bytes })));
        if (plan.totalRows !== job.totalRows) throw ApplicationFailure.nonRetryable(`Job ${jobId}: the input has ${plan.totalRows} rows, ${job.totalRows} were counted at upload`, 'DatasetPlanMismatch');
        logger.info({ jobId, keyring: job.keyring, totalRows: plan.totalRows, chunks: plan.chunks.length }, 'dataset job planned');
        return { keyring: job.keyring, totalRows: plan.totalRows, chunksTotal: plan.chunks.length };
      });
    },

    /** Tokenizes one chunk into its part file, then records it (skips a recorded chunk). */
    async tokenizeChunk(jobId: string, index: number): Promise<ChunkResult> {
      return asTemporalFailure(async () => {
        const recorded = await jobs.findChunk(jobId, index);
        if (recorded) {
          logger.info({ jobId, index }, 'chunk already recorded: skipped');
          return { ...recorded, skipped: true };
        }
        const job = await loadJob(jobId);
        const plan = await withInput(jobId, () => plans.get(jobId));
        const spec = plan.chunks[index];
        if (!spec) throw ApplicationFailure.nonRetryable(`Job ${jobId} has no chunk ${index}`, 'DatasetPlanMismatch');

        const header = plan.dataStart > 0 ? (await files.readRange(jobId, 0, plan.dataStart)).toString('utf8') : undefined;
        const codec = createRowCodec(job.format, job.fields, header);
        const rows = codec.parseRows((await withInput(jobId, () => files.readRange(jobId, spec.start, spec.end))).toString('utf8'));
        if (rows.length !== spec.rows) throw ApplicationFailure.nonRetryable(`Job ${jobId} chunk ${index}: ${rows.length} rows, plan says ${spec.rows}`, 'DatasetPlanMismatch');

        const slots = rows.flatMap((r) => r.slots);
        const issued: (string | null)[] = new Array<string | null>(slots.length).fill(null);
        const failures: Record<string, number> = {};
        for (let from = 0; from < slots.length; from += batchSize) {
          const items: TokenizeItem[] = [];
          for (let k = from; k < Math.min(from + batchSize, slots.length); k++) {
            const slot = slots[k]!;
            if (slot.value === null) failures.invalid_type = (failures.invalid_type ?? 0) + 1;
            else items.push({ reference: String(k), field: slot.field, value: slot.value });
          }
          if (items.length > 0) {
            for (const outcome of await tokens.tokenize(job.keyring, items).catch(retryDuringRotation)) {
              if ('token' in outcome) issued[Number(outcome.reference)] = outcome.token;
              else failures[outcome.error.code] = (failures[outcome.error.code] ?? 0) + 1;
            }
          }
          heartbeat({ index, slotsDone: Math.min(from + batchSize, slots.length), slots: slots.length });
        }

        let k = 0;
        let rowsFailed = 0;
        for (const row of rows) {
          let failed = false;
          for (let s = 0; s < row.slots.length; s++) if (issued[k++] === null) failed = true;
          if (failed) rowsFailed += 1;
        }
        await files.writePart(jobId, spec, renderRows(rows, (slot) => codec.renderSlot(issued[slot] ?? null)));
        await jobs.recordChunk(jobId, { index, rows: rows.length, rowsFailed });
        // Counts per error code only: the values that failed are patient data.
        logger.info({ jobId, index, rows: rows.length, rowsFailed, failures }, 'chunk tokenized');
        return { index, rows: rows.length, rowsFailed, skipped: false };
      });
    },

    /** Concatenates the parts in order into the output file (atomically; idempotent). */
    async assembleOutput(jobId: string): Promise<{ outputBytes: number }> {
      return asTemporalFailure(async () => {
        const plan = await plans.get(jobId);
        const { bytes } = await files.assemble(jobId, plan, (index) => heartbeat({ assembled: index + 1 }));
        plans.forget(jobId);
        return { outputBytes: bytes };
      });
    },

    async completeDatasetJob(jobId: string): Promise<{ rowsDone: number; rowsFailed: number }> {
      return asTemporalFailure(async () => {
        const job = await jobs.complete(jobId, files.outputPath(jobId), now());
        logger.info({ jobId, keyring: job.keyring, rowsDone: job.rowsDone, rowsFailed: job.rowsFailed }, 'dataset job completed');
        return { rowsDone: job.rowsDone, rowsFailed: job.rowsFailed };
      });
    },

    /** DatasetTokenized (counts only). The event id is the job's, so a re-publish is recognisable. */
    async publishDatasetTokenized(jobId: string): Promise<string> {
      return asTemporalFailure(async () => {
        const job = await loadJob(jobId);
        const { messageId } = await events.publish(datasetTokenizedEvent(job, job.completedAt ?? now()));
        logger.info({ jobId, messageId }, 'DatasetTokenized published');
        return messageId;
      });
    },

    async failDatasetJob(jobId: string, reason: string): Promise<void> {
      await asTemporalFailure(() => jobs.fail(jobId, reason, now()));
      logger.warn({ jobId, reason }, 'dataset job failed');
    },
  };
}

export type DatasetJobActivities = ReturnType<typeof createDatasetJobActivities>;

/**
 * While a keyring changes its active seed the token service briefly has none
 * (`no_active_seed`): that is worth waiting for, not a reason to fail the job.
 */
function retryDuringRotation(err: unknown): never {
  if (err instanceof DomainError && err.code === 'no_active_seed') throw ApplicationFailure.retryable(err.message, 'NoActiveSeed');
  throw err;
}

/** A missing input file will not come back by retrying. */
async function withInput<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw ApplicationFailure.nonRetryable(`The input of job ${jobId} is missing from the job storage`, 'DatasetInputMissing');
    throw err;
  }
}

/** Plans are read once per job and worker (a few entries; jobs run for minutes to hours). */
class PlanCache {
  private readonly plans = new Map<string, Promise<ChunkPlan>>();
  constructor(private readonly files: JobFiles) {}

  get(jobId: string): Promise<ChunkPlan> {
    let plan = this.plans.get(jobId);
    if (!plan) {
      plan = this.files.readPlan(jobId);
      void plan.catch(() => this.plans.delete(jobId));
      this.plans.set(jobId, plan);
      if (this.plans.size > 16) this.plans.delete(this.plans.keys().next().value!);
    }
    return plan;
  }

  forget(jobId: string): void {
    this.plans.delete(jobId);
  }
}
