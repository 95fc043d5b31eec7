/** HTTP API composition root: `npm run api`. */
import { PrismaAccessAudit } from '../adapters/db/prismaAccessAudit';
import { PrismaApiKeyRepository } from '../adapters/db/prismaApiKeyRepository';
import { PrismaDatasetJobRepository } from '../adapters/db/prismaDatasetJobs';
import { JobFiles } from '../adapters/files/jobFiles';
import { TemporalDatasetJobStarter } from '../adapters/temporal/datasetWorkflows';
import { PrismaSeedRepository } from '../adapters/db/prismaSeedRepository';
import { createPrismaClient } from '../adapters/db/prismaClient';
import { connectTemporalClient } from '../adapters/temporal/connection';
import { TemporalSeedLifecycleStarter } from '../adapters/temporal/seedWorkflows';
import { exportHsmEnvironment, loadConfig, LOCAL_ADMIN_API_KEY } from '../config/env';
import { createLogger } from '../config/logger';
import { CoalescingTokenService } from '../tokenService/coalescingTokenService';
import { createTokenServiceRuntime } from '../tokenService/runtime';
import { onShutdown } from '../workers/shutdown';
import { createAuth } from './auth';
import { buildApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const db = createPrismaClient(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const temporal = await connectTemporalClient({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE });
  if (config.ADMIN_API_KEY === LOCAL_ADMIN_API_KEY) logger.warn('ADMIN_API_KEY is the local default: set your own outside the local stack');
  const apiKeys = new PrismaApiKeyRepository(db);
  const audit = new PrismaAccessAudit(db);
  // Token service: working keys derived in the HSM on first use, held in memory (docs/KEYS.md).
  exportHsmEnvironment(config);
  const tokenService = createTokenServiceRuntime({ db, config, logger });
  const tokenLimits = { maxTokenizeItems: config.TOKENIZE_MAX_ITEMS, maxDetokenizeItems: config.DETOKENIZE_MAX_ITEMS, bodyLimitBytes: config.TOKENS_BODY_LIMIT_BYTES };
  const auth = createAuth({ keys: apiKeys, audit, adminApiKey: config.ADMIN_API_KEY, cacheTtlMs: config.API_KEY_CACHE_TTL_MS, logger });
  const app = buildApi({
    logger,
    auth,
    apiKeys,
    audit,
    // Small concurrent tokenize requests share one batch (group commit).
    tokens: new CoalescingTokenService(tokenService.tokens),
    tokenLimits,
    seeds: new PrismaSeedRepository(db, 'api'),
    lifecycles: new TemporalSeedLifecycleStarter(temporal, config.HSM_TASK_QUEUE, config.SEED_ACCEPTANCE_TIMEOUT_MS),
    temporalUiUrl: config.TEMPORAL_UI_URL,
    temporalNamespace: config.TEMPORAL_NAMESPACE,
    datasetJobs: {
      repository: new PrismaDatasetJobRepository(db),
      files: new JobFiles(config.JOBS_DIR),
      workflows: new TemporalDatasetJobStarter(temporal, config.TOKEN_TASK_QUEUE, config.DATASET_CHUNK_PARALLELISM),
      maxUploadBytes: config.DATASET_MAX_UPLOAD_BYTES,
      chunkRows: config.DATASET_CHUNK_ROWS,
    },
  });
  await app.listen({ host: config.HOST, port: config.PORT });
  onShutdown(logger, async () => {
    await app.close();
    await tokenService.close();
    await temporal.connection.close();
    await db.$disconnect();
  });
}

main().catch((err: unknown) => {
  console.error(`api failed to start: ${(err as Error).message}`);
  process.exit(1);
});
