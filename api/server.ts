import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../config/logger';
import { installErrorHandling } from './errors';
import { registerSeedRoutes, type SeedRouteDeps } from './routes/seeds';

export interface ApiDeps extends SeedRouteDeps {
  logger: Logger;
  /** Largest accepted JSON body, in bytes. */
  bodyLimit?: number;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit ?? 16 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  // JSON only: anything else is a 415, not a string body that fails validation later.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app, deps.logger);
  app.get('/healthz', async () => ({ status: 'ok' }));
  registerSeedRoutes(app, deps);
  return app;
}
