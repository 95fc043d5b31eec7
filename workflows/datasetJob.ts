import {
  CancellationScope,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { DatasetJobActivities } from '../activities/datasetJobs';
import { DatasetJobState, describeProgress, type DatasetJobProgress } from '../domain/datasetJob';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';
import { KeyringAttribute } from './searchAttributes';

export interface DatasetJobInput {
  jobId: string;
  /** Chunks tokenized at once. */
  parallelism: number;
  /** Chunks per workflow run before continue-as-new (bounds the history). */
  chunksPerRun?: number;
  /** Set by continue-as-new: where the previous run stopped. */
  resume?: DatasetJobCheckpoint;
}

export interface DatasetJobCheckpoint {
  keyring: string;
  totalRows: number;
  chunksTotal: number;
  nextChunk: number;
  rowsDone: number;
  rowsFailed: number;
}

export interface DatasetJobResult {
  jobId: string;
  totalRows: number;
  rowsDone: number;
  rowsFailed: number;
  chunksTotal: number;
  outputBytes: number;
}

export const datasetProgressQuery = defineQuery<DatasetJobProgress>('progress');

export const DEFAULT_CHUNKS_PER_RUN = 100;

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES, 'DatasetJobNotFound', 'DatasetPlanMismatch', 'DatasetInputMissing'],
};

// No maximumAttempts: an outage of the database, the broker or the token service delays a job, it
// does not fail it. Heartbeats let a crashed worker's chunk be retried elsewhere within seconds.
const chunkActs = proxyActivities<DatasetJobActivities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '20 seconds', retry });
const fileActs = proxyActivities<DatasetJobActivities>({ startToCloseTimeout: '4 hours', heartbeatTimeout: '1 minute', retry });
const acts = proxyActivities<DatasetJobActivities>({ startToCloseTimeout: '1 minute', retry });

/**
 * Dataset job (DESIGN.md "Tokenization"): plan chunks → tokenize them (a few at a
 * time, each an idempotent, heartbeating activity; continue-as-new every
 * `chunksPerRun` chunks) → assemble the output in input order → mark the job
 * completed → publish DatasetTokenized. A permanent failure marks the job failed.
 * Payloads carry the job id, chunk indexes and counts: never a value.
 */
export async function datasetJob(input: DatasetJobInput): Promise<DatasetJobResult> {
  const { jobId } = input;
  const chunksPerRun = input.chunksPerRun ?? DEFAULT_CHUNKS_PER_RUN;
  const progress: DatasetJobProgress = {
    state: input.resume ? DatasetJobState.Running : DatasetJobState.Queued,
    rowsDone: input.resume?.rowsDone ?? 0,
    rowsFailed: input.resume?.rowsFailed ?? 0,
    totalRows: input.resume?.totalRows ?? 0,
    chunksDone: input.resume?.nextChunk ?? 0,
    chunksTotal: input.resume?.chunksTotal ?? 0,
  };
  setHandler(datasetProgressQuery, () => ({ ...progress }));
  const report = (state: DatasetJobState = progress.state): void => {
    progress.state = state;
    setCurrentDetails(describeProgress(progress));
  };

  let checkpoint: DatasetJobCheckpoint;
  let outputBytes = 0;
  try {
    if (input.resume) {
      checkpoint = { ...input.resume };
    } else {
      const started = await fileActs.startDatasetJob(jobId);
      upsertSearchAttributes([{ key: KeyringAttribute, value: started.keyring }]);
      checkpoint = { ...started, nextChunk: 0, rowsDone: 0, rowsFailed: 0 };
      progress.totalRows = started.totalRows;
      progress.chunksTotal = started.chunksTotal;
    }
    report(DatasetJobState.Running);

    checkpoint.nextChunk = await tokenizeChunks(input, checkpoint.nextChunk, Math.min(checkpoint.chunksTotal, checkpoint.nextChunk + chunksPerRun), progress, report);
    checkpoint.rowsDone = progress.rowsDone;
    checkpoint.rowsFailed = progress.rowsFailed;

    if (checkpoint.nextChunk >= checkpoint.chunksTotal) {
      report(DatasetJobState.Assembling);
      ({ outputBytes } = await fileActs.assembleOutput(jobId));
      await acts.completeDatasetJob(jobId);
      report(DatasetJobState.Completed);
      await acts.publishDatasetTokenized(jobId);
    }
  } catch (err) {
    report(DatasetJobState.Failed);
    const reason = isCancellation(err) ? 'cancelled' : err instanceof Error ? rootMessage(err) : String(err);
    // Recording the failure must happen even when the workflow is being cancelled.
    await CancellationScope.nonCancellable(() => acts.failDatasetJob(jobId, reason));
    throw err;
  }

  if (checkpoint.nextChunk < checkpoint.chunksTotal) {
    return continueAsNew<typeof datasetJob>({ ...input, resume: checkpoint });
  }
  return { jobId, totalRows: checkpoint.totalRows, rowsDone: progress.rowsDone, rowsFailed: progress.rowsFailed, chunksTotal: checkpoint.chunksTotal, outputBytes };
}

/**
 * Runs chunks [from, to) with `parallelism` lanes; stops early (after the chunks in
 * flight) when Temporal suggests continuing as new. Returns the first chunk not done.
 */
async function tokenizeChunks(input: DatasetJobInput, from: number, to: number, progress: DatasetJobProgress, report: () => void): Promise<number> {
  let next = from;
  let stopAt = to;
  const lane = async (): Promise<void> => {
    while (next < stopAt) {
      const index = next++;
      const chunk = await chunkActs.tokenizeChunk(input.jobId, index);
      progress.rowsDone += chunk.rows;
      progress.rowsFailed += chunk.rowsFailed;
      progress.chunksDone += 1;
      report();
      if (workflowInfo().continueAsNewSuggested) stopAt = Math.min(stopAt, next);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.parallelism) }, lane));
  return next;
}

function rootMessage(err: Error): string {
  let e: Error = err;
  while (e.cause instanceof Error) e = e.cause;
  return e.message;
}
