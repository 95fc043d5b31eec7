import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { nodeRandom } from '../../adapters/crypto/nodeRandom';
import type { AccessAudit, ApiKeyRecord, ApiKeyStore } from '../../domain/accessPorts';
import { API_KEY_RANDOM_BYTES, issueApiKeySecret, parseNewApiKeyRequest } from '../../domain/apiKeys';
import { InvalidInputError, NotFoundError } from '../../domain/errors';
import type { RandomSource } from '../../domain/keyPorts';
import { actionOf, everyKeyring, type AuthService } from '../auth';

export interface ApiKeyRouteDeps {
  auth: AuthService;
  apiKeys: ApiKeyStore;
  audit: AccessAudit;
  random?: RandomSource;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Key management. Only an admin of every keyring may use it: a key limited to some keyrings
 * could otherwise issue itself a key for all of them. Each change is written to the access audit.
 */
export function registerApiKeyRoutes(app: FastifyInstance, deps: ApiKeyRouteDeps): void {
  const random = deps.random ?? nodeRandom;
  const adminOnly = { onRequest: deps.auth.requireScope('admin', everyKeyring) };

  const allowed = (req: FastifyRequest, detail: Record<string, unknown>) =>
    deps.audit.record({ actor: req.principal!.keyId, action: actionOf(req), outcome: 'allowed', detail });

  app.post('/v1/api-keys', adminOnly, async (req, reply) => {
    const request = parseNewApiKeyRequest(req.body);
    const secret = issueApiKeySecret(random.bytes(API_KEY_RANDOM_BYTES));
    const record = await deps.apiKeys.create({ id: randomUUID(), ...request, prefix: secret.prefix, keyHash: secret.keyHash, createdBy: req.principal!.keyId });
    await allowed(req, { keyId: record.id, name: record.name, prefix: record.prefix, scopes: record.scopes, keyrings: record.keyrings });
    // The secret is in this answer only: no cache may keep it.
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ id: record.id, key: secret.key, name: record.name, prefix: record.prefix, scopes: record.scopes, keyrings: record.keyrings, createdAt: record.createdAt.toISOString() });
  });

  app.get('/v1/api-keys', adminOnly, async () => ({ apiKeys: (await deps.apiKeys.list()).map(view) }));

  app.delete<{ Params: { id: string } }>('/v1/api-keys/:id', adminOnly, async (req, reply) => {
    if (!UUID.test(req.params.id)) throw new InvalidInputError('invalid_api_key_id', 'API key ids are UUIDs.');
    const record = await deps.apiKeys.revoke(req.params.id, new Date());
    if (!record) throw new NotFoundError('api_key_not_found', `No API key ${req.params.id}.`);
    deps.auth.forget(record.id);
    await allowed(req, { keyId: record.id, name: record.name, prefix: record.prefix });
    return reply.code(204).send();
  });
}

/** What listings show: never the secret, never its hash. */
function view(r: ApiKeyRecord) {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    keyrings: r.keyrings,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
  };
}
