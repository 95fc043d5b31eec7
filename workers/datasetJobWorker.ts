/**
 * The dataset-job part of the token service: a Temporal worker on TOKEN_TASK_QUEUE
 * running the `datasetJob` workflow and its activities with this process's
 * TokenService. Started by workers/tokenWorker.ts (its composition root).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createDatasetJobActivities } from '../activities/datasetJobs';
import type { Db } from '../adapters/db/prismaClient';
import { PrismaDatasetJobRepository } from '../adapters/db/prismaDatasetJobs';
import { JobFiles } from '../adapters/files/jobFiles';
import { PulsarProducer } from '../adapters/pulsar';
import type { AppConfig } from '../config/env';
import type { Logger } from '../config/logger';
import type { DatasetEventPublisher } from '../domain/datasetJob';
import type { TokenService } from '../domain/tokenPorts';
import { pulsarConfig } from './pulsarConfig';

export interface DatasetJobWorker {
  /** Stops polling, lets running activities finish (or time out), closes connections. */
  stop(): Promise<void>;
}

export async function startDatasetJobWorker(deps: { config: AppConfig; logger: Logger; db: Db; tokens: TokenService }): Promise<DatasetJobWorker> {
  const { config, logger } = deps;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const producer = new PulsarProducer({ ...pulsarConfig(config), topic: config.PULSAR_DATASET_TOPIC, logger });
  const events: DatasetEventPublisher = {
    publish: (event) => producer.send({ payload: JSON.stringify(event), key: event.jobId, properties: { type: event.type, eventId: event.eventId, keyring: event.keyring } }),
  };
  const activities = createDatasetJobActivities({
    jobs: new PrismaDatasetJobRepository(deps.db),
    files: new JobFiles(config.JOBS_DIR),
    tokens: deps.tokens,
    events,
    logger,
  });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TOKEN_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities,
    // Each running chunk holds its rows in memory: bound how many run in this process.
    maxConcurrentActivityTaskExecutions: 8,
  });
  const running = worker.run().catch((err: unknown) => {
    logger.fatal({ err: { name: (err as Error).name, message: (err as Error).message } }, 'dataset job worker stopped');
    process.exit(1);
  });
  logger.info({ taskQueue: config.TOKEN_TASK_QUEUE, jobsDir: config.JOBS_DIR }, 'dataset job worker ready');
  return {
    async stop() {
      worker.shutdown();
      await running;
      await producer.close();
      await connection.close();
    },
  };
}
