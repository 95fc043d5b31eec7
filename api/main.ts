/** HTTP API composition root: `npm run api`. */
import { PrismaSeedRepository } from '../adapters/db/prismaSeedRepository';
import { createPrismaClient } from '../adapters/db/prismaClient';
import { connectTemporalClient } from '../adapters/temporal/connection';
import { TemporalSeedLifecycleStarter } from '../adapters/temporal/seedWorkflows';
import { loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { onShutdown } from '../workers/shutdown';
import { buildApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const db = createPrismaClient(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const temporal = await connectTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  const app = buildApi({
    logger,
    seeds: new PrismaSeedRepository(db, 'api'),
    lifecycles: new TemporalSeedLifecycleStarter(temporal, config.HSM_TASK_QUEUE, config.SEED_ACCEPTANCE_TIMEOUT_MS),
    temporalUiUrl: config.TEMPORAL_UI_URL,
    temporalNamespace: config.TEMPORAL_NAMESPACE,
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  onShutdown(logger, async () => {
    await app.close();
    await temporal.connection.close();
    await db.$disconnect();
  });
}

main().catch((err: unknown) => {
  console.error(`api failed to start: ${(err as Error).message}`);
  process.exit(1);
});
