import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { hashApiKey } from '../../../domain/apiKeys';
import { buildTestApi, testAuth, type TestAuth } from '../../support/fakes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let security: TestAuth;
let app: FastifyInstance;

beforeEach(async () => {
  security = testAuth();
  app = buildTestApi(security);
  await app.ready();
});

afterEach(async () => {
  await app.close();
});

const create = (payload: unknown, headers: Record<string, string> = security.adminHeaders) =>
  app.inject({ method: 'POST', url: '/v1/api-keys', headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
const list = (headers: Record<string, string> = security.adminHeaders) => app.inject({ method: 'GET', url: '/v1/api-keys', headers });
const revoke = (id: string, headers: Record<string, string> = security.adminHeaders) => app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers });

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
}

describe('POST /v1/api-keys', () => {
  it('issues a key: 201 with the secret once, stored only as its SHA-256 hash', async () => {
    const res = await create({ name: 'research export', scopes: ['tokenize'], keyrings: ['patients'] });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toEqual({
      id: expect.stringMatching(UUID),
      key: expect.stringMatching(/^stk_[A-Za-z0-9_-]{43}$/),
      name: 'research export',
      prefix: body.key.slice(0, 12),
      scopes: ['tokenize'],
      keyrings: ['patients'],
      createdAt: expect.any(String),
    });
    const stored = security.keys.stored(body.id)!;
    expect(stored.keyHash).toBe(hashApiKey(body.key));
    expect(JSON.stringify(stored)).not.toContain(body.key.slice(4));
    expect(stored.createdBy).toBe('bootstrap-admin');
  });

  it('audits the issue without the secret', async () => {
    const body = (await create({ name: 'ops', scopes: ['admin'], keyrings: ['*'] })).json();
    expect(security.audit.events).toEqual([
      { actor: 'bootstrap-admin', action: 'POST /v1/api-keys', outcome: 'allowed', detail: { keyId: body.id, name: 'ops', prefix: body.prefix, scopes: ['admin'], keyrings: ['*'] } },
    ]);
    expect(JSON.stringify(security.audit.events)).not.toContain(body.key);
  });

  it('issues keys that work, records who created them, and never issues the same secret twice', async () => {
    const ops = (await create({ name: 'ops', scopes: ['admin'], keyrings: ['*'] })).json();
    const child = (await create({ name: 'child', scopes: ['tokenize'], keyrings: ['labs'] }, { authorization: `Bearer ${ops.key}` })).json();
    expect(security.keys.stored(child.id)?.createdBy).toBe(ops.id);
    expect(child.key).not.toBe(ops.key);
  });

  describe('refuses bad requests with 400 and creates nothing', () => {
    it.each([
      ['unknown fields', { name: 'a', scopes: ['tokenize'], keyrings: ['patients'], expiresAt: 'never' }, 'unknown_fields'],
      ['a missing name', { scopes: ['tokenize'], keyrings: ['patients'] }, 'invalid_name'],
      ['an empty name', { name: '', scopes: ['tokenize'], keyrings: ['patients'] }, 'invalid_name'],
      ['a 101-character name', { name: 'x'.repeat(101), scopes: ['tokenize'], keyrings: ['patients'] }, 'invalid_name'],
      ['a scope outside SCOPES', { name: 'a', scopes: ['superuser'], keyrings: ['patients'] }, 'invalid_scopes'],
      ['an invalid keyring name', { name: 'a', scopes: ['tokenize'], keyrings: ['Bad_Name'] }, 'invalid_keyrings'],
      ['a JSON array', [], 'invalid_body'],
    ])('%s', async (_what, payload, code) => {
      expectError(await create(payload), 400, code);
      expect((await list()).json().apiKeys).toEqual([]);
    });

    it('malformed JSON', async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: { ...security.adminHeaders, 'content-type': 'application/json' }, payload: '{"name":' });
      expectError(res, 400, 'malformed_json');
    });

    it('no body', async () => {
      expectError(await app.inject({ method: 'POST', url: '/v1/api-keys', headers: security.adminHeaders }), 400, 'invalid_body');
    });
  });
});

describe('GET /v1/api-keys', () => {
  it('lists keys without the secret or its hash', async () => {
    const issued = (await create({ name: 'reader', scopes: ['detokenize'], keyrings: ['patients', 'labs'] })).json();
    const res = await list();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      apiKeys: [
        {
          id: issued.id,
          name: 'reader',
          prefix: issued.prefix,
          scopes: ['detokenize'],
          keyrings: ['patients', 'labs'],
          createdBy: 'bootstrap-admin',
          createdAt: issued.createdAt,
          lastUsedAt: null,
          revokedAt: null,
        },
      ],
    });
    expect(res.body).not.toContain(issued.key.slice(4));
    expect(res.body).not.toContain(hashApiKey(issued.key));
  });
});

describe('DELETE /v1/api-keys/:id', () => {
  it('revokes: 204, the key answers 401 at once, the listing shows revokedAt, and a repeat is idempotent', async () => {
    const issued = (await create({ name: 'temp', scopes: ['admin'], keyrings: ['*'] })).json();
    const asTemp = { authorization: `Bearer ${issued.key}` };
    expect((await list(asTemp)).statusCode).toBe(200);

    expect((await revoke(issued.id)).statusCode).toBe(204);
    expectError(await list(asTemp), 401, 'unauthenticated');
    const revokedAt = (await list()).json().apiKeys[0].revokedAt;
    expect(revokedAt).toEqual(expect.any(String));

    expect((await revoke(issued.id)).statusCode).toBe(204);
    expect((await list()).json().apiKeys[0].revokedAt).toBe(revokedAt);
  });

  it('answers 404 for an unknown key and 400 for a malformed id', async () => {
    expectError(await revoke('6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11'), 404, 'api_key_not_found');
    expectError(await revoke('bootstrap-admin'), 400, 'invalid_api_key_id');
  });
});

describe('key management needs admin of every keyring', () => {
  it('answers 401 without a key', async () => {
    expectError(await list({}), 401, 'unauthenticated');
    expectError(await create({ name: 'a', scopes: ['admin'], keyrings: ['*'] }, {}), 401, 'unauthenticated');
  });

  it('answers 403 to a tokenize key and to an admin of some keyrings only (no escalation to "*")', async () => {
    const tokenizer = (await create({ name: 't', scopes: ['tokenize'], keyrings: ['*'] })).json();
    const ringAdmin = (await create({ name: 'r', scopes: ['admin'], keyrings: ['patients'] })).json();
    for (const key of [tokenizer.key, ringAdmin.key]) {
      const as = { authorization: `Bearer ${key}` };
      expectError(await create({ name: 'x', scopes: ['admin'], keyrings: ['*'] }, as), 403, 'forbidden');
      expectError(await list(as), 403, 'forbidden');
      expectError(await revoke(tokenizer.id, as), 403, 'forbidden');
    }
    expect((await list()).json().apiKeys).toHaveLength(2);
    const denied = security.audit.events.filter((e) => e.outcome === 'denied');
    expect(denied.map((e) => e.action)).toEqual(['POST /v1/api-keys', 'GET /v1/api-keys', 'DELETE /v1/api-keys/:id', 'POST /v1/api-keys', 'GET /v1/api-keys', 'DELETE /v1/api-keys/:id']);
    expect(denied.map((e) => e.detail?.reason)).toEqual(['insufficient_scope', 'insufficient_scope', 'insufficient_scope', 'keyring_not_allowed', 'keyring_not_allowed', 'keyring_not_allowed']);
  });
});
