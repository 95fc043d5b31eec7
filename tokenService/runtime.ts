import { InMemoryTokenCrypto } from '../adapters/crypto/inMemoryTokenCrypto';
import { nodeRandom } from '../adapters/crypto/nodeRandom';
import type { Db } from '../adapters/db/prismaClient';
import { createVaultPool, PostgresVault } from '../adapters/db/postgresVault';
import { Pkcs11KeyDerivation } from '../adapters/hsm/pkcs11KeyDerivation';
import type { AppConfig } from '../config/env';
import type { Logger } from '../config/logger';
import { Tokenizer } from './tokenizer';
import { WorkingKeyCache } from './workingKeys';

export interface TokenServiceRuntime {
  tokens: Tokenizer;
  keys: WorkingKeyCache;
  /** Stops reconciling, zeroises every working key, releases the HSM. */
  close(): Promise<void>;
}

/**
 * Builds the token service for a composition root (the API, the token worker):
 * working keys derived in the HSM and held in memory (docs/KEYS.md, decision (b)),
 * the PostgreSQL vault, and a periodic check that zeroises the keys of seeds
 * destroyed or compromised elsewhere. Call exportHsmEnvironment(config) first.
 */
export function createTokenServiceRuntime(deps: { db: Db; config: AppConfig; logger: Logger }): TokenServiceRuntime {
  const { config, logger } = deps;
  const derivation = new Pkcs11KeyDerivation({ modulePath: config.PKCS11_MODULE, tokenLabel: config.HSM_TOKEN_LABEL, pin: config.HSM_PIN });
  const keys = new WorkingKeyCache(async (hsmLabel) => new InMemoryTokenCrypto(await derivation.exportWorkingKeys(hsmLabel)));
  const pool = createVaultPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const vault = new PostgresVault(deps.db, pool);
  const tokens = new Tokenizer({ vault, keys, random: nodeRandom, logger });

  const timer = setInterval(() => {
    keys.reconcile((ids) => vault.seedStates(ids)).then(
      (evicted) => {
        if (evicted.length > 0) logger.info({ seedIds: evicted }, 'working keys zeroised: seed destroyed or compromised');
      },
      (err: unknown) => logger.warn({ err: { name: (err as Error).name, message: (err as Error).message } }, 'could not reconcile working keys'),
    );
  }, config.WORKING_KEYS_RECONCILE_MS);
  timer.unref();

  return {
    tokens,
    keys,
    async close() {
      clearInterval(timer);
      keys.zeroizeAll();
      await derivation.close();
      await pool.end();
    },
  };
}
