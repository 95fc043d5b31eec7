import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../config/logger';
import type { AuthService } from './auth';
import { installErrorHandling } from './errors';
import { registerDocsRoutes } from './openapi';
import { registerApiKeyRoutes, type ApiKeyRouteDeps } from './routes/apiKeys';
import { registerJobRoutes, type JobRouteDeps } from './routes/jobs';
import { registerSeedRoutes, type SeedRouteDeps } from './routes/seeds';
import { registerTokenRoutes, type TokenRouteDeps } from './routes/tokens';

/** Route modules take `auth: Auth` (or the fuller AuthService) and call `deps.auth.requireScope(…)`. */
export interface ApiDeps extends SeedRouteDeps, ApiKeyRouteDeps, TokenRouteDeps, JobRouteDeps {
  auth: AuthService;
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
  // Public: /healthz and /docs. Every other route authenticates in its own onRequest hook.
  app.get('/healthz', async () => ({ status: 'ok' }));
  registerDocsRoutes(app);
  registerSeedRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerTokenRoutes(app, deps);
  registerJobRoutes(app, deps);
  return app;
}
