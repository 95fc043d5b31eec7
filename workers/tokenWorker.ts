/**
 * Token service: subscribes to seed events on Pulsar, checks each new seed in
 * the HSM and tells the waiting lifecycle workflow its verdict, pre-derives the
 * working keys of a newly activated version, and runs the dataset jobs.
 */
import { hostname } from 'node:os';
import { PrismaSeedRepository } from '../adapters/db/prismaSeedRepository';
import { createPrismaClient } from '../adapters/db/prismaClient';
import { Pkcs11Hsm } from '../adapters/hsm/pkcs11Hsm';
import { PulsarAdmin, PulsarConsumer } from '../adapters/pulsar';
import { connectTemporalClient } from '../adapters/temporal/connection';
import { TemporalSeedVerdictSink } from '../adapters/temporal/seedWorkflows';
import { exportHsmEnvironment, loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createSeedEventHandler } from '../tokenService/seedEvents';
import { createTokenServiceRuntime } from '../tokenService/runtime';
import { startDatasetJobWorker } from './datasetJobWorker';
import { pulsarConfig } from './pulsarConfig';
import { onShutdown } from './shutdown';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('token-worker', config.LOG_LEVEL);
  exportHsmEnvironment(config);

  const hsm = new Pkcs11Hsm({ modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN });
  const db = createPrismaClient(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const seeds = new PrismaSeedRepository(db, 'token-service');
  const temporal = await connectTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  // Working keys derived in the HSM, held in memory, zeroised at shutdown (docs/KEYS.md).
  const tokenService = createTokenServiceRuntime({ db, config, logger });
  const datasetJobs = await startDatasetJobWorker({ config, logger, db, tokens: tokenService.tokens });

  const handler = createSeedEventHandler({
    hsm,
    seeds,
    verdicts: new TemporalSeedVerdictSink(temporal),
    workingKeys: tokenService.keys,
    logger,
    instanceId: `token-service@${hostname()}:${process.pid}`,
    ackDelayMs: config.TOKEN_SERVICE_ACK_DELAY_MS,
  });
  // A subscription created now must still see seeds announced while no token service ran.
  await new PulsarAdmin(pulsarConfig(config)).ensureSubscription(config.PULSAR_SEED_TOPIC, config.PULSAR_TOKEN_SERVICE_SUBSCRIPTION, 'earliest');
  const consumer = new PulsarConsumer({
    ...pulsarConfig(config),
    topic: config.PULSAR_SEED_TOPIC,
    subscription: config.PULSAR_TOKEN_SERVICE_SUBSCRIPTION,
    subscriptionType: 'Shared',
    maxRedeliverCount: config.PULSAR_MAX_REDELIVERIES,
    deadLetterTopic: `${config.PULSAR_SEED_TOPIC}-${config.PULSAR_TOKEN_SERVICE_SUBSCRIPTION}-DLQ`,
    negativeAckRedeliveryDelayMs: 1_000,
    ackTimeoutMillis: 60_000,
    handler,
    logger,
  });
  await consumer.start();
  logger.info({ topic: config.PULSAR_SEED_TOPIC, subscription: config.PULSAR_TOKEN_SERVICE_SUBSCRIPTION }, 'token worker ready');

  onShutdown(logger, async () => {
    await consumer.close();
    await datasetJobs.stop();
    await tokenService.close();
    await temporal.connection.close();
    await db.$disconnect();
    await hsm.close();
  });
}

main().catch((err: unknown) => {
  console.error(`token worker failed to start: ${(err as Error).message}`);
  process.exit(1);
});
