/**
 * HSM service worker: the composition root of the seed lifecycle. Owns the
 * PKCS#11 session, runs the seed workflows and activities on HSM_TASK_QUEUE.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createSeedActivities } from '../activities/seeds';
import { PrismaSeedRepository } from '../adapters/db/prismaSeedRepository';
import { createPrismaClient } from '../adapters/db/prismaClient';
import { Pkcs11Hsm } from '../adapters/hsm/pkcs11Hsm';
import { PulsarProducer } from '../adapters/pulsar';
import { PulsarSeedEventPublisher } from '../adapters/pulsar/seedEventPublisher';
import { exportHsmEnvironment, loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { pulsarConfig } from './pulsarConfig';
import { onShutdown } from './shutdown';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('hsm-worker', config.LOG_LEVEL);
  exportHsmEnvironment(config);
  Runtime.install({ logger: new DefaultLogger('WARN') });

  const hsm = new Pkcs11Hsm({ modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN });
  const db = createPrismaClient(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const producer = new PulsarProducer({ ...pulsarConfig(config), topic: config.PULSAR_SEED_TOPIC, logger });
  const activities = createSeedActivities({
    hsm,
    seeds: new PrismaSeedRepository(db, 'hsm-service'),
    events: new PulsarSeedEventPublisher(producer),
    logger,
  });

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.HSM_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities,
  });
  onShutdown(logger, async () => worker.shutdown());
  logger.info({ taskQueue: config.HSM_TASK_QUEUE, temporal: config.TEMPORAL_ADDRESS }, 'hsm worker ready');
  try {
    await worker.run();
  } finally {
    await producer.close();
    await connection.close();
    await db.$disconnect();
    await hsm.close();
  }
}

main().catch((err: unknown) => {
  console.error(`hsm worker failed to start: ${(err as Error).message}`);
  process.exit(1);
});
