import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError } from '../domain/errors';
import type { Logger } from '../config/logger';

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Fastify's own client errors, each mapped to one stable code. */
const FASTIFY_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'malformed_json', message: 'The request body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'malformed_json', message: 'Content-Type is application/json but the body is empty; send {} or no Content-Type.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'The request body is larger than this endpoint accepts.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', message: 'Send the body as application/json.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length', message: 'Content-Length does not match the body.' },
};

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('route_not_found', `No route ${req.method} ${req.url.split('?')[0]}.`));
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof DomainError) return reply.code(err.status).send(errorBody(err.code, err.message));
    const known = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (known) return reply.code(known.status).send(errorBody(known.code, known.message));
    if (err.validation) return reply.code(400).send(errorBody('invalid_request', err.message));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody('invalid_request', err.message));
    }
    if (isUnavailable(err)) {
      logger.error({ reqId: req.id, err: { name: err.name, code: err.code } }, 'dependency unavailable');
      return reply.code(503).header('retry-after', '5').send(errorBody('temporarily_unavailable', 'A backing service is unavailable; retry with the same Idempotency-Key.'));
    }
    logger.error({ reqId: req.id, err: { name: err.name, message: err.message, stack: err.stack } }, 'unhandled error');
    return reply.code(500).send(errorBody('internal_error', 'Unexpected error; it has been logged.'));
  });
}

// Errors that mean "a backing service is down", not "this request is wrong".
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'P1001', 'P1002', 'P1017', 'P2024', '57P01', '25006']);

function isUnavailable(err: Error & { code?: unknown; cause?: unknown }): boolean {
  if (typeof err.code === 'string' && UNAVAILABLE_CODES.has(err.code)) return true;
  // Temporal client: gRPC UNAVAILABLE / DEADLINE_EXCEEDED surface as ServiceError.
  if (err.name === 'ServiceError' || err.name === 'ConnectionError') return true;
  // Prisma driver adapter wraps the pg error; its message carries the reason.
  if (err.name === 'DriverAdapterError' || err.name === 'PrismaClientInitializationError') return true;
  const cause = err.cause as (Error & { code?: unknown }) | undefined;
  return cause instanceof Error ? isUnavailable(cause) : false;
}
