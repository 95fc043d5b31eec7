import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * All configuration is read and validated here, once, at a composition root
 * (API, worker, CLI), then passed down. Nothing else reads process.env.
 * Local defaults match scripts/stack/lib.sh so `npm run stack:up` needs no .env.
 */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(start: string): string {
  // Works both from sources (config/) and from the compiled tree (dist/config/).
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
  return dir;
}

const durationMs = z.coerce.number().int().positive();

/** ADMIN_API_KEY's default, for the local stack only (the API warns when it runs with it). */
export const LOCAL_ADMIN_API_KEY = 'stk_local_admin_change_me';

const schema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),

  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_URL: z.string().default('http://127.0.0.1:8233'),
  HSM_TASK_QUEUE: z.string().default('hsm-service'),

  DATABASE_URL: z.string().default('postgresql://saludtech:saludtech-local@127.0.0.1:15432/saludtech'),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),

  PULSAR_WEB_URL: z.string().url().default('http://127.0.0.1:8080'),
  PULSAR_TENANT: z.string().default('saludtech'),
  PULSAR_NAMESPACE: z.string().default('keys'),
  PULSAR_SEED_TOPIC: z.string().default('seed-events'),
  PULSAR_TOKEN_SERVICE_SUBSCRIPTION: z.string().default('token-service'),
  PULSAR_MAX_REDELIVERIES: z.coerce.number().int().positive().default(10),

  PKCS11_MODULE: z.string().default('/usr/lib/softhsm/libsofthsm2.so'),
  HSM_TOKEN_LABEL: z.string().default('saludtech'),
  HSM_PIN: z.string().min(1).default('1234'),
  SOFTHSM2_CONF: z.string().default(path.join(PROJECT_ROOT, '.cache', 'softhsm', 'softhsm2.conf')),

  SEED_ACCEPTANCE_TIMEOUT_MS: durationMs.default(10 * 60 * 1000),

  // Token service.
  /** Largest tokenize batch (items per request); a larger one is refused whole with 413 batch_too_large. */
  TOKENIZE_MAX_ITEMS: z.coerce.number().int().positive().default(10_000),
  /** Largest detokenize batch. */
  DETOKENIZE_MAX_ITEMS: z.coerce.number().int().positive().default(10_000),
  /** Body limit of the tokenize/detokenize routes (other routes keep the API's small default). */
  TOKENS_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(32 * 1024 * 1024),
  /** How often cached working keys are checked against the seeds table (destroyed/compromised → zeroised). */
  WORKING_KEYS_RECONCILE_MS: durationMs.default(30_000),

  /** Bootstrap admin key (principal `bootstrap-admin`). The default is for the local stack only. */
  ADMIN_API_KEY: z.string().min(20, 'must be at least 20 characters').default(LOCAL_ADMIN_API_KEY),
  /** How long the API reuses an API-key lookup: a revocation made through another instance takes up to this long. */
  API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  // Dataset jobs.
  /** Task queue of the dataset-job workflow and its activities (hosted by the token worker). */
  TOKEN_TASK_QUEUE: z.string().default('token-service'),
  /** Job storage (uploads, parts, outputs); shared by the API and the token workers. */
  JOBS_DIR: z.string().default(path.join(PROJECT_ROOT, '.cache', 'jobs')),
  DATASET_CHUNK_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(5_000),
  /** Chunks of one job tokenized at once. */
  DATASET_CHUNK_PARALLELISM: z.coerce.number().int().min(1).max(64).default(2),
  DATASET_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(10 * 1024 ** 3),
  PULSAR_DATASET_TOPIC: z.string().default('dataset-events'),
  /** Fault injection for the crash tests only: pause between handling and ack. */
  TOKEN_SERVICE_ACK_DELAY_MS: z.coerce.number().int().min(0).default(0),
});

export type AppConfig = z.infer<typeof schema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`Invalid configuration (${problems}). Fix the environment variables named and restart.`);
  }
  return parsed.data;
}

/** The PKCS#11 library of SoftHSM reads SOFTHSM2_CONF from the environment at load time. */
export function exportHsmEnvironment(config: AppConfig): void {
  if (config.PKCS11_MODULE.includes('softhsm')) process.env.SOFTHSM2_CONF = config.SOFTHSM2_CONF;
}
