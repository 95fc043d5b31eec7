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

const schema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PUBLIC_BASE_URL: z.string().optional(),

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
