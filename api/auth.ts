/**
 * CONTRACT (implemented by the auth work): authentication and authorisation for routes.
 *
 * createAuth(deps) returns `requireScope(scope, keyringFrom?)`, a fastify preHandler that
 *  - reads `Authorization: Bearer <key>`; missing/malformed/unknown/revoked → 401 `unauthenticated`;
 *  - checks `isAllowed(principal, scope, keyring)` where keyring = keyringFrom?.(req);
 *    not allowed → 403 `forbidden`;
 *  - writes an AccessEvent for every denial (actor = key id or 'anonymous', action = route id,
 *    outcome 'denied') — never the presented secret;
 *  - on success sets `req.principal`.
 *
 * Implementation notes:
 *  - the hook works in `onRequest` (preferred: it refuses before the body is even read) as well as
 *    in `preHandler`; it needs only the route's params and pattern, which both stages have;
 *  - action = `<METHOD> <route pattern>`, e.g. `POST /v1/keyrings/:keyring/seeds`;
 *  - ADMIN_API_KEY (principal `bootstrap-admin`, admin on every keyring) is compared in constant
 *    time on SHA-256 hashes; stored keys are looked up by the hash of the presented secret
 *    (an index lookup on a hash of a 256-bit secret leaks nothing worth timing);
 *  - lookups are cached for `cacheTtlMs` (default 5 s). A key revoked through this process is
 *    dropped from the cache at once (`forget`); one revoked through another API instance stops
 *    working there within `cacheTtlMs`. Unknown keys are never cached;
 *  - `lastUsedAt` is written at most once per `touchIntervalMs` (default 60 s) per key, not per request.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, preHandlerAsyncHookHandler } from 'fastify';
import type { Logger } from '../config/logger';
import type { AccessAudit, ApiKeyRecord, ApiKeyStore } from '../domain/accessPorts';
import { BOOTSTRAP_ADMIN, hashApiKey, parseAuthorization } from '../domain/apiKeys';
import { ALL_KEYRINGS, isAllowed, type Principal, type Scope } from '../domain/auth';
import { DomainError } from '../domain/errors';
import { KEYRING_NAME_PATTERN } from '../domain/keyring';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type KeyringFrom = (req: FastifyRequest) => string | undefined;

/** Usable as an `onRequest` or a `preHandler` hook. */
export type AuthHook = preHandlerAsyncHookHandler & onRequestAsyncHookHandler;

export interface Auth {
  requireScope(scope: Scope, keyringFrom?: KeyringFrom): AuthHook;
}

/** The keyring named in the route's `:keyring` parameter. */
export const keyringParam: KeyringFrom = (req) => (req.params as { keyring?: string } | undefined)?.keyring;

/** For operations over every keyring (managing API keys): only keys with keyrings ["*"] pass. */
export const everyKeyring: KeyringFrom = () => ALL_KEYRINGS;

export class UnauthenticatedError extends DomainError {
  readonly status = 401;
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
}

export interface AuthDeps {
  keys: ApiKeyStore;
  audit: AccessAudit;
  /** ADMIN_API_KEY from config/env.ts. */
  adminApiKey: string;
  logger: Logger;
  now?: () => Date;
  cacheTtlMs?: number;
  touchIntervalMs?: number;
}

export interface AuthService extends Auth {
  /**
   * For a keyring known only once the resource is loaded (e.g. `GET /v1/seeds/:id`): throws a
   * 403 `forbidden`, audited, unless the request's principal has `scope` on `keyring`.
   */
  requireKeyring(req: FastifyRequest, scope: Scope, keyring: string): Promise<void>;
  /** Drops cached lookups of a key, so its revocation takes effect at once in this process. */
  forget(keyId: string): void;
}

const MAX_CACHED_KEYS = 10_000;
const REALM = 'Bearer realm="saludtech"';

type DenialReason = 'missing_credentials' | 'malformed_credentials' | 'unknown_key' | 'revoked_key' | 'insufficient_scope' | 'keyring_not_allowed';

export function createAuth(deps: AuthDeps): AuthService {
  const now = deps.now ?? (() => new Date());
  const cacheTtlMs = deps.cacheTtlMs ?? 5_000;
  const touchIntervalMs = deps.touchIntervalMs ?? 60_000;
  const adminHash = Buffer.from(hashApiKey(deps.adminApiKey), 'hex');
  const cache = new Map<string, { record: ApiKeyRecord; expiresAt: number }>();
  const lastTouched = new Map<string, number>();

  async function lookup(keyHash: string): Promise<ApiKeyRecord | null> {
    const at = now().getTime();
    const hit = cache.get(keyHash);
    if (hit && hit.expiresAt > at) return hit.record;
    const record = await deps.keys.findByHash(keyHash);
    if (record && cacheTtlMs > 0) {
      if (cache.size >= MAX_CACHED_KEYS) cache.clear();
      cache.set(keyHash, { record, expiresAt: at + cacheTtlMs });
    } else cache.delete(keyHash);
    return record;
  }

  async function touch(record: ApiKeyRecord): Promise<void> {
    const at = now();
    const last = lastTouched.get(record.id) ?? record.lastUsedAt?.getTime() ?? 0;
    if (at.getTime() - last < touchIntervalMs) return;
    lastTouched.set(record.id, at.getTime());
    // Bookkeeping only: a failed write must not fail the request it describes.
    await deps.keys.touch(record.id, at, touchIntervalMs).catch((err: unknown) => {
      deps.logger.warn({ keyId: record.id, err: { name: (err as Error).name } }, 'could not record API key use');
    });
  }

  async function deny(req: FastifyRequest, actor: string, keyring: string | undefined, reason: DenialReason): Promise<void> {
    const action = actionOf(req);
    const where = auditKeyring(keyring);
    req.log.info({ actor, action, reason }, 'access denied');
    await deps.audit.record({ actor, action, outcome: 'denied', keyring: where.keyring, detail: { reason, ...where.detail } });
  }

  async function authenticate(req: FastifyRequest, reply: FastifyReply, keyring: string | undefined): Promise<Principal> {
    const credentials = parseAuthorization(req.headers.authorization);
    if (credentials.kind !== 'bearer') {
      void reply.header('www-authenticate', credentials.kind === 'missing' ? REALM : `${REALM}, error="invalid_request"`);
      await deny(req, 'anonymous', keyring, credentials.kind === 'missing' ? 'missing_credentials' : 'malformed_credentials');
      throw new UnauthenticatedError('unauthenticated', 'Send an API key as "Authorization: Bearer <key>".');
    }
    const keyHash = hashApiKey(credentials.secret);
    if (timingSafeEqual(Buffer.from(keyHash, 'hex'), adminHash)) return BOOTSTRAP_ADMIN;

    const record = await lookup(keyHash);
    if (!record || record.revokedAt) {
      void reply.header('www-authenticate', `${REALM}, error="invalid_token"`);
      await deny(req, record?.id ?? 'anonymous', keyring, record ? 'revoked_key' : 'unknown_key');
      throw new UnauthenticatedError('unauthenticated', 'The API key is unknown or revoked.');
    }
    await touch(record);
    return { keyId: record.id, name: record.name, scopes: [...record.scopes], keyrings: [...record.keyrings] };
  }

  async function authorize(req: FastifyRequest, principal: Principal, scope: Scope, keyring: string | undefined): Promise<void> {
    if (isAllowed(principal, scope, keyring)) return;
    const scoped = principal.scopes.includes(scope) || principal.scopes.includes('admin');
    await deny(req, principal.keyId, keyring, scoped ? 'keyring_not_allowed' : 'insufficient_scope');
    const what = keyring === ALL_KEYRINGS ? 'every keyring' : `keyring ${printable(keyring)}`;
    throw new ForbiddenError('forbidden', scoped ? `This API key may not act on ${what}.` : `This API key lacks the "${scope}" scope${keyring === undefined ? '' : ` on ${what}`}.`);
  }

  return {
    requireScope(scope, keyringFrom) {
      const hook = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
        const keyring = keyringFrom?.(req);
        const principal = await authenticate(req, reply, keyring);
        await authorize(req, principal, scope, keyring);
        req.principal = principal;
      };
      return hook;
    },
    async requireKeyring(req, scope, keyring) {
      if (!req.principal) throw new Error('requireKeyring needs requireScope to have run first.');
      await authorize(req, req.principal, scope, keyring);
    },
    forget(keyId) {
      for (const [hash, entry] of cache) if (entry.record.id === keyId) cache.delete(hash);
      lastTouched.delete(keyId);
    },
  };
}

/** `POST /v1/keyrings/:keyring/seeds`: the route pattern, never the raw URL (which could carry anything). */
export function actionOf(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url ?? 'unknown-route'}`;
}

/** Only well-formed keyring names go into the audit's keyring column. */
function auditKeyring(keyring: string | undefined): { keyring: string | null; detail: Record<string, unknown> } {
  if (keyring === undefined) return { keyring: null, detail: {} };
  if (keyring === ALL_KEYRINGS) return { keyring: null, detail: { requires: 'every keyring' } };
  if (KEYRING_NAME_PATTERN.test(keyring)) return { keyring, detail: {} };
  return { keyring: null, detail: { invalidKeyringName: true } };
}

function printable(keyring: string | undefined): string {
  return keyring && KEYRING_NAME_PATTERN.test(keyring) ? keyring : '(invalid name)';
}
