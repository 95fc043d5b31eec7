import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AccessAudit, AccessEvent } from '../../domain/accessPorts';
import { DomainError, NotFoundError } from '../../domain/errors';
import { assertKeyringName, KEYRING_NAME_PATTERN } from '../../domain/keyring';
import { parseToken } from '../../domain/token';
import type { DetokenizeItem, DetokenizeOutcome, TokenizeItem, TokenModeName, TokenService } from '../../domain/tokenPorts';
import { actionOf, keyringParam, type Auth } from '../auth';

/** Batch limits of the token endpoints (config/env.ts: TOKENIZE_MAX_ITEMS, DETOKENIZE_MAX_ITEMS, TOKENS_BODY_LIMIT_BYTES). */
export interface TokenLimits {
  maxTokenizeItems: number;
  maxDetokenizeItems: number;
  /** Largest JSON body of tokenize/detokenize, in bytes. */
  bodyLimitBytes: number;
}

export const DEFAULT_TOKEN_LIMITS: TokenLimits = { maxTokenizeItems: 10_000, maxDetokenizeItems: 10_000, bodyLimitBytes: 32 * 1024 * 1024 };

export interface TokenRouteDeps {
  auth: Auth;
  audit: AccessAudit;
  /** Absent only in unit tests of other route modules: then these routes are not registered. */
  tokens?: TokenService;
  tokenLimits?: Partial<TokenLimits>;
}

export class BatchTooLargeError extends DomainError {
  readonly status = 413;
  constructor(max: number) {
    super('batch_too_large', `A batch holds at most ${max} items; split it (nothing was processed).`);
  }
}

const reference = { type: 'string', minLength: 1, maxLength: 200 } as const;
const tokenString = { type: 'string', minLength: 1, maxLength: 100 } as const;
const keyringParams = { type: 'object', properties: { keyring: { type: 'string' } }, required: ['keyring'] } as const;

const modeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['mode'],
  properties: { mode: { type: 'string', enum: ['deterministic', 'random'] } },
} as const;

// Field names are not an enum here: an unknown field is a per-item error (unknown_field), not a failed batch.
const tokenizeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['reference', 'field', 'value'],
        properties: { reference, field: { type: 'string', minLength: 1, maxLength: 100 }, value: { type: 'string', maxLength: 1000 } },
      },
    },
  },
} as const;

const detokenizeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['purpose', 'items'],
  properties: {
    purpose: { type: 'string', minLength: 1, maxLength: 200 },
    items: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', additionalProperties: false, required: ['reference', 'token'], properties: { reference, token: tokenString } },
    },
  },
} as const;

const verifyBody = { type: 'object', additionalProperties: false, required: ['token'], properties: { token: tokenString } } as const;

/**
 * Token endpoints. Authentication runs in `onRequest`, before the body is read: an
 * unauthorised caller gets 401/403 (audited by requireScope) whatever it sent, and
 * never makes us parse a 32 MB batch. Values travel only in request and response
 * bodies, which are never logged; error messages never repeat them.
 *
 * Detokenize is audited item by item (who, keyring, token, purpose, result) before
 * any value is sent: if the audit write fails, no value leaves. An authorised
 * attempt that fails validation is audited once by the onResponse hook.
 */
export function registerTokenRoutes(app: FastifyInstance, deps: TokenRouteDeps): void {
  const tokens = deps.tokens;
  if (!tokens) return;
  const limits = { ...DEFAULT_TOKEN_LIMITS, ...deps.tokenLimits };
  const requireScope = (scope: 'admin' | 'tokenize' | 'detokenize', keyring = true) => deps.auth.requireScope(scope, keyring ? keyringParam : undefined) as unknown as onRequestAsyncHookHandler;
  const audited = new WeakSet<FastifyRequest>();
  const maxItems = (max: number) => async (req: FastifyRequest) => {
    const items = (req.body as { items?: unknown } | null | undefined)?.items;
    if (Array.isArray(items) && items.length > max) throw new BatchTooLargeError(max);
  };
  const event = (req: FastifyRequest, fields: Omit<AccessEvent, 'actor' | 'action'>): AccessEvent => ({
    actor: req.principal?.keyId ?? 'anonymous',
    action: actionOf(req),
    ...fields,
    detail: { requestId: req.id, ...fields.detail },
  });

  app.put<{ Params: { keyring: string }; Body: { mode: TokenModeName } }>(
    '/v1/keyrings/:keyring',
    { onRequest: requireScope('admin'), schema: { params: keyringParams, body: modeBody } },
    async (req) => {
      const keyring = assertKeyringName(req.params.keyring);
      const result = await tokens.setMode(keyring, req.body.mode);
      await deps.audit.record(event(req, { outcome: 'allowed', keyring, detail: { result: 'mode_set', mode: result.mode } }));
      return result;
    },
  );

  app.post<{ Params: { keyring: string }; Body: { items: TokenizeItem[] } }>(
    '/v1/keyrings/:keyring/tokenize',
    { onRequest: requireScope('tokenize'), preValidation: maxItems(limits.maxTokenizeItems), bodyLimit: limits.bodyLimitBytes, schema: { params: keyringParams, body: tokenizeBody } },
    async (req) => {
      const keyring = assertKeyringName(req.params.keyring);
      return { items: await tokens.tokenize(keyring, req.body.items) };
    },
  );

  app.post<{ Params: { keyring: string }; Body: { purpose: string; items: DetokenizeItem[] } }>(
    '/v1/keyrings/:keyring/detokenize',
    {
      onRequest: requireScope('detokenize'),
      preValidation: maxItems(limits.maxDetokenizeItems),
      bodyLimit: limits.bodyLimitBytes,
      schema: { params: keyringParams, body: detokenizeBody },
      onResponse: async (req, reply) => auditRejectedDetokenize(req, reply),
    },
    async (req, reply) => {
      const keyring = assertKeyringName(req.params.keyring);
      const { purpose, items } = req.body;
      const outcomes = await tokens.detokenize(keyring, items);
      await deps.audit.recordMany(outcomes.map((o, i) => event(req, { outcome: 'allowed', keyring, purpose, token: auditableToken(items[i]!.token), detail: { result: detokenizeResult(o) } })));
      audited.add(req);
      void reply.header('cache-control', 'no-store');
      return { items: outcomes };
    },
  );

  app.post<{ Body: { token: string } }>('/v1/tokens/verify', { onRequest: requireScope('tokenize', false), schema: { body: verifyBody } }, async (req) => tokens.verify(req.body.token));

  app.delete<{ Params: { keyring: string; token: string } }>(
    '/v1/keyrings/:keyring/tokens/:token',
    { onRequest: requireScope('admin'), schema: { params: { type: 'object', properties: { keyring: { type: 'string' }, token: tokenString }, required: ['keyring', 'token'] } } },
    async (req, reply) => {
      const keyring = assertKeyringName(req.params.keyring);
      const erased = await tokens.erase(keyring, req.params.token);
      await deps.audit.record(event(req, { outcome: 'allowed', keyring, token: req.params.token, detail: { result: erased ? 'erased' : 'token_not_found' } }));
      if (!erased) throw new NotFoundError('token_not_found', 'No such token in this keyring.');
      return reply.code(204).send();
    },
  );

  /** An authorised detokenize that ended in an error before its items were audited (bad body, unknown keyring, …). */
  async function auditRejectedDetokenize(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (audited.has(req) || !req.principal || reply.statusCode < 400) return;
    const body = req.body as { purpose?: unknown } | undefined;
    const purpose = typeof body?.purpose === 'string' && body.purpose.length <= 200 ? body.purpose : null;
    const keyring = req.params && typeof (req.params as { keyring?: unknown }).keyring === 'string' ? (req.params as { keyring: string }).keyring : null;
    try {
      await deps.audit.record(event(req, { outcome: 'allowed', keyring: keyring && KEYRING_NAME_PATTERN.test(keyring) ? keyring : null, purpose, detail: { result: 'rejected', status: reply.statusCode } }));
    } catch (err) {
      req.log.error({ err: { name: (err as Error).name } }, 'could not audit a rejected detokenize request');
    }
  }
}

/** Only well-formed tokens go into the audit log: a caller could put anything, even a patient value, in `token`. */
function auditableToken(token: string): string | null {
  return parseToken(token).ok ? token : null;
}

function detokenizeResult(outcome: DetokenizeOutcome): string {
  return 'error' in outcome ? outcome.error.code : 'revealed';
}
