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
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Principal, Scope } from '../domain/auth';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type KeyringFrom = (req: FastifyRequest) => string | undefined;

export interface Auth {
  requireScope(scope: Scope, keyringFrom?: KeyringFrom): preHandlerAsyncHookHandler;
}

/** The keyring named in the route's `:keyring` parameter. */
export const keyringParam: KeyringFrom = (req) => (req.params as { keyring?: string } | undefined)?.keyring;
