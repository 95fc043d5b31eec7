import type { FastifyInstance } from 'fastify';
import { SCOPES } from '../domain/auth';
import { KEYRING_NAME_PATTERN } from '../domain/keyring';
import { SALUDTECH_FIELDS } from '../domain/normalize';

/**
 * The HTTP API as OpenAPI 3.1, hand-written: served at `GET /docs` and `GET /docs/openapi.json`.
 * test/unit/api/openapi.test.ts fails when a registered route is missing here, so a new route
 * and its description land together. Each operation names the scope it needs in `x-scope`.
 */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const ok = (description: string, schema: object, extra: object = {}) => ({ description, content: json(schema), ...extra });
const keyringParam = { $ref: '#/components/parameters/keyring' };
const uuidParam = (name: string, what: string) => ({ name, in: 'path', required: true, description: what, schema: { type: 'string', format: 'uuid' } });
const secured = (scope: string, keyring: 'route' | 'every' | 'any') => ({
  security: [{ bearer: [] }],
  'x-scope': { scope, keyring: keyring === 'route' ? 'the path keyring' : keyring === 'every' ? 'every keyring ("*")' : 'any' },
});
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' }, description: 'A repeat with the same key replays the first answer and starts nothing new.' };

const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: { code: { type: 'string', description: 'Stable, machine-readable (e.g. unauthenticated, forbidden, invalid_keyring_name).' }, message: { type: 'string' } },
      },
    },
  },
  ItemError: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
  Scope: { type: 'string', enum: [...SCOPES], description: '`admin` implies the others.' },
  KeyringName: { type: 'string', pattern: KEYRING_NAME_PATTERN.source, minLength: 3, maxLength: 64 },
  Field: { type: 'string', enum: [...SALUDTECH_FIELDS] },
  Token: { type: 'string', pattern: '^tk_v[0-9]+_', description: 'Carries the seed version that issued it, e.g. `tk_v3_…`.' },
  NewApiKey: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'scopes', 'keyrings'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      scopes: { type: 'array', minItems: 1, items: ref('Scope') },
      keyrings: { type: 'array', minItems: 1, maxItems: 100, items: { anyOf: [ref('KeyringName'), { const: '*' }] }, description: '["*"] for every keyring.' },
    },
  },
  IssuedApiKey: {
    type: 'object',
    required: ['id', 'key', 'name', 'prefix', 'scopes', 'keyrings', 'createdAt'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      key: { type: 'string', pattern: '^stk_[A-Za-z0-9_-]{43}$', description: 'The secret. Shown only in this answer; stored only as a SHA-256 hash.' },
      name: { type: 'string' },
      prefix: { type: 'string', description: 'Non-secret start of the key, for recognising it.' },
      scopes: { type: 'array', items: ref('Scope') },
      keyrings: { type: 'array', items: { type: 'string' } },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
  ApiKey: {
    type: 'object',
    required: ['id', 'name', 'prefix', 'scopes', 'keyrings', 'createdBy', 'createdAt', 'lastUsedAt', 'revokedAt'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      name: { type: 'string' },
      prefix: { type: 'string' },
      scopes: { type: 'array', items: ref('Scope') },
      keyrings: { type: 'array', items: { type: 'string' } },
      createdBy: { type: 'string', description: 'Key id of the creator, or `bootstrap-admin`.' },
      createdAt: { type: 'string', format: 'date-time' },
      lastUsedAt: { type: ['string', 'null'], format: 'date-time', description: 'Updated at most once a minute.' },
      revokedAt: { type: ['string', 'null'], format: 'date-time' },
    },
  },
  Seed: {
    type: 'object',
    required: ['seedId', 'keyring', 'version', 'state', 'workflowId', 'statusUrl'],
    properties: {
      seedId: { type: 'string', format: 'uuid' },
      keyring: ref('KeyringName'),
      version: { type: 'integer', minimum: 1 },
      state: { type: 'string', enum: ['requested', 'pre_active', 'active', 'suspended', 'deactivated', 'compromised', 'destroyed'] },
      kcv: { type: ['string', 'null'], pattern: '^[0-9a-f]{6}$' },
      stateReason: { type: ['string', 'null'] },
      requestedAt: { type: 'string', format: 'date-time' },
      activatedAt: { type: ['string', 'null'], format: 'date-time' },
      deactivatedAt: { type: ['string', 'null'], format: 'date-time' },
      destroyedAt: { type: ['string', 'null'], format: 'date-time' },
      workflowId: { type: 'string' },
      statusUrl: { type: 'string' },
      temporalUiUrl: { type: 'string', format: 'uri' },
    },
  },
  SeedDetail: {
    allOf: [
      ref('Seed'),
      {
        type: 'object',
        properties: {
          workflowStatus: { type: ['string', 'null'] },
          history: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' }, actor: { type: 'string' }, at: { type: 'string', format: 'date-time' }, detail: { type: 'object' } } } },
        },
      },
    ],
  },
  Job: {
    type: 'object',
    required: ['jobId', 'keyring', 'state'],
    properties: {
      jobId: { type: 'string', format: 'uuid' },
      keyring: ref('KeyringName'),
      workflowId: { type: 'string' },
      statusUrl: { type: 'string' },
      outputUrl: { type: 'string' },
      state: { type: 'string', description: 'e.g. running, completed, failed.' },
      format: { type: 'string', enum: ['ndjson', 'csv'] },
      fields: { type: 'array', items: ref('Field') },
      progress: { type: 'object', properties: { rowsDone: { type: 'integer' }, rowsTotal: { type: 'integer' }, rowsFailed: { type: 'integer' }, rowsPerSecond: { type: 'number' } } },
      temporalUiUrl: { type: 'string', format: 'uri' },
    },
  },
};

const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'SaludTech tokenization API',
    version: '0.2.0',
    description:
      'Seeds (HSM key material, lifecycle in Temporal), API keys, tokenization of patient identifiers, and dataset jobs. ' +
      'Every error is `{ "error": { "code", "message" } }`. Authenticate with `Authorization: Bearer <API key>`; ' +
      'a key has scopes (`tokenize`, `detokenize`, `admin`; `admin` implies the others) on a list of keyrings or on every keyring ("*"). ' +
      'Missing, unknown or revoked key → 401 `unauthenticated`; a key without the scope or keyring → 403 `forbidden`. Every denial is audited.',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  tags: [{ name: 'seeds' }, { name: 'api-keys' }, { name: 'tokens' }, { name: 'jobs' }, { name: 'meta' }],
  paths: {
    '/healthz': { get: { tags: ['meta'], summary: 'Liveness', security: [], responses: { 200: ok('Up.', { type: 'object', properties: { status: { const: 'ok' } } }) } } },
    '/docs': { get: { tags: ['meta'], summary: 'This document', security: [], responses: { 200: ok('OpenAPI 3.1 document.', { type: 'object' }) } } },
    '/docs/openapi.json': { get: { tags: ['meta'], summary: 'This document', security: [], responses: { 200: ok('OpenAPI 3.1 document.', { type: 'object' }) } } },

    '/v1/api-keys': {
      post: {
        tags: ['api-keys'],
        summary: 'Issue an API key (the secret is shown once)',
        ...secured('admin', 'every'),
        requestBody: { required: true, content: json(ref('NewApiKey')) },
        responses: { 201: ok('Issued; `Cache-Control: no-store`.', ref('IssuedApiKey')), ...errors(400, 401, 403, 413, 415) },
      },
      get: {
        tags: ['api-keys'],
        summary: 'List API keys (never the secret or its hash)',
        ...secured('admin', 'every'),
        responses: { 200: ok('Every key, revoked ones included.', { type: 'object', properties: { apiKeys: { type: 'array', items: ref('ApiKey') } } }), ...errors(401, 403) },
      },
    },
    '/v1/api-keys/{id}': {
      delete: {
        tags: ['api-keys'],
        summary: 'Revoke an API key (effective at once on this instance, within 5 s on others)',
        ...secured('admin', 'every'),
        parameters: [uuidParam('id', 'API key id')],
        responses: { 204: { description: 'Revoked (also when it already was).' }, ...errors(400, 401, 403, 404) },
      },
    },

    '/v1/keyrings/{keyring}/seeds': {
      post: {
        tags: ['seeds'],
        summary: 'Create the next seed version of a keyring (starts its lifecycle workflow)',
        ...secured('admin', 'route'),
        parameters: [keyringParam, idempotencyKey],
        requestBody: { required: false, content: json({ type: 'object', additionalProperties: false }) },
        responses: { 202: ok('Accepted; `Location` is the status URL. A replay carries `idempotent-replayed: true`.', ref('Seed')), ...errors(400, 401, 403, 413, 415, 503) },
      },
      get: {
        tags: ['seeds'],
        summary: 'Every seed version of a keyring',
        ...secured('admin', 'route'),
        parameters: [keyringParam],
        responses: { 200: ok('Versions and the active one.', { type: 'object', properties: { keyring: ref('KeyringName'), activeVersion: { type: ['integer', 'null'] }, seeds: { type: 'array', items: ref('Seed') } } }), ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/seeds/{id}': {
      get: {
        tags: ['seeds'],
        summary: 'A seed: state, KCV, workflow status and audit history',
        ...secured('admin', 'any'),
        description: 'Needs `admin` on the seed’s keyring (checked once the seed is found).',
        parameters: [uuidParam('id', 'Seed id')],
        responses: { 200: ok('The seed.', ref('SeedDetail')), ...errors(400, 401, 403, 404) },
      },
    },

    '/v1/keyrings/{keyring}': {
      put: {
        tags: ['tokens'],
        summary: 'Set the keyring’s token mode (fixed once it has tokens)',
        ...secured('admin', 'route'),
        parameters: [keyringParam],
        requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, required: ['mode'], properties: { mode: { type: 'string', enum: ['deterministic', 'random'] } } }) },
        responses: { 200: ok('The mode.', { type: 'object', properties: { keyring: ref('KeyringName'), mode: { type: 'string', enum: ['deterministic', 'random'] } } }), ...errors(400, 401, 403, 404, 409) },
      },
    },
    '/v1/keyrings/{keyring}/tokenize': {
      post: {
        tags: ['tokens'],
        summary: 'Tokenize a batch (one bad item never fails the others)',
        ...secured('tokenize', 'route'),
        parameters: [keyringParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            additionalProperties: false,
            required: ['items'],
            properties: { items: { type: 'array', minItems: 1, maxItems: 10000, items: { type: 'object', additionalProperties: false, required: ['reference', 'field', 'value'], properties: { reference: { type: 'string' }, field: ref('Field'), value: { type: 'string' } } } } },
          }),
        },
        responses: {
          200: ok('One outcome per item, in order.', { type: 'object', properties: { items: { type: 'array', items: { oneOf: [{ type: 'object', required: ['reference', 'token'], properties: { reference: { type: 'string' }, token: ref('Token') } }, { type: 'object', required: ['reference', 'error'], properties: { reference: { type: 'string' }, error: ref('ItemError') } }] } } } }),
          ...errors(400, 401, 403, 404, 409, 413, 415, 503),
        },
      },
    },
    '/v1/keyrings/{keyring}/detokenize': {
      post: {
        tags: ['tokens'],
        summary: 'Recover values (every attempt, allowed or denied, is audited; never the value)',
        ...secured('detokenize', 'route'),
        parameters: [keyringParam],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            additionalProperties: false,
            required: ['purpose', 'items'],
            properties: { purpose: { type: 'string', minLength: 1 }, items: { type: 'array', minItems: 1, items: { type: 'object', additionalProperties: false, required: ['reference', 'token'], properties: { reference: { type: 'string' }, token: ref('Token') } } } },
          }),
        },
        responses: {
          200: ok('One outcome per item, in order.', { type: 'object', properties: { items: { type: 'array', items: { oneOf: [{ type: 'object', required: ['reference', 'value', 'field'], properties: { reference: { type: 'string' }, value: { type: 'string' }, field: ref('Field') } }, { type: 'object', required: ['reference', 'error'], properties: { reference: { type: 'string' }, error: ref('ItemError') } }] } } } }),
          ...errors(400, 401, 403, 404, 413, 415, 503),
        },
      },
    },
    '/v1/tokens/verify': {
      post: {
        tags: ['tokens'],
        summary: 'Is this token genuine, who issued it, is it still valid (reveals nothing about the value)',
        ...secured('tokenize', 'any'),
        requestBody: { required: true, content: json({ type: 'object', additionalProperties: false, required: ['token'], properties: { token: { type: 'string' } } }) },
        responses: {
          200: ok('Verdict.', { type: 'object', required: ['valid', 'keyring', 'version', 'state'], properties: { valid: { type: 'boolean' }, keyring: { type: ['string', 'null'] }, version: { type: ['integer', 'null'] }, state: { type: 'string', description: 'Seed state of the issuing version, or erased / unknown.' } } }),
          ...errors(400, 401, 403),
        },
      },
    },
    '/v1/keyrings/{keyring}/tokens/{token}': {
      delete: {
        tags: ['tokens'],
        summary: 'Erase a token’s vault entry (right to erasure; audited)',
        ...secured('admin', 'route'),
        parameters: [keyringParam, { name: 'token', in: 'path', required: true, schema: ref('Token') }],
        responses: { 204: { description: 'Erased.' }, ...errors(400, 401, 403, 404) },
      },
    },

    '/v1/keyrings/{keyring}/jobs': {
      post: {
        tags: ['jobs'],
        summary: 'Submit a dataset file for durable, chunked tokenization (streamed body)',
        ...secured('tokenize', 'route'),
        parameters: [
          keyringParam,
          { name: 'fields', in: 'query', required: true, description: 'Comma-separated fields to tokenize.', schema: { type: 'string' }, example: 'documento_id,nombre' },
          { name: 'format', in: 'query', required: true, schema: { type: 'string', enum: ['ndjson', 'csv'] } },
          idempotencyKey,
        ],
        requestBody: { required: true, content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } }, 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: { 202: ok('Accepted; `Location` is the status URL.', ref('Job')), ...errors(400, 401, 403, 404, 413, 415, 503) },
      },
    },
    '/v1/jobs/{id}': {
      get: {
        tags: ['jobs'],
        summary: 'Job state and progress',
        ...secured('tokenize', 'any'),
        description: 'Needs `tokenize` on the job’s keyring.',
        parameters: [uuidParam('id', 'Job id')],
        responses: { 200: ok('The job.', ref('Job')), ...errors(400, 401, 403, 404) },
      },
    },
    '/v1/jobs/{id}/output': {
      get: {
        tags: ['jobs'],
        summary: 'The tokenized file, in input order (streamed)',
        ...secured('tokenize', 'any'),
        description: 'Needs `tokenize` on the job’s keyring.',
        parameters: [uuidParam('id', 'Job id')],
        responses: { 200: { description: 'The output file.', content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } } }, ...errors(400, 401, 403, 404, 409) },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `stk_…` (or ADMIN_API_KEY).' } },
    parameters: { keyring: { name: 'keyring', in: 'path', required: true, schema: ref('KeyringName') } },
    schemas,
    responses: {
      E400: errorResponse('Bad input (codes such as invalid_keyring_name, unknown_fields, invalid_body, malformed_json).'),
      E401: { ...errorResponse('`unauthenticated`: no, malformed, unknown or revoked API key.'), headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="saludtech"' } } },
      E403: errorResponse('`forbidden`: the key lacks the scope or the keyring.'),
      E404: errorResponse('Not found (e.g. seed_not_found, keyring_not_found, api_key_not_found, route_not_found).'),
      E409: errorResponse('Conflict with the current state.'),
      E413: errorResponse('`payload_too_large`.'),
      E415: errorResponse('`unsupported_media_type`.'),
      E503: errorResponse('`temporarily_unavailable`: a backing service is down; retry (with the same Idempotency-Key).'),
    },
  },
} as const;

/** `GET /docs` and `GET /docs/openapi.json`: public, like /healthz. */
export function registerDocsRoutes(app: FastifyInstance): void {
  const body = JSON.stringify(openApiDocument);
  for (const url of ['/docs', '/docs/openapi.json']) {
    app.get(url, async (_req, reply) => reply.type('application/json; charset=utf-8').send(body));
  }
}
