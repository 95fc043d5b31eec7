import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { keyringParam } from '../../../api/auth';
import { buildTestApi, TEST_ADMIN_API_KEY, testAuth, type TestAuth } from '../../support/fakes';

/**
 * requireScope as route modules use it, on a probe route, with the real
 * createAuth over in-memory key storage and audit.
 */
let clock: number;
let security: TestAuth;
let app: FastifyInstance;

beforeEach(async () => {
  clock = Date.parse('2026-12-01T10:00:00Z');
  security = testAuth({ now: () => new Date(clock) });
  app = buildTestApi(security);
  app.post('/v1/keyrings/:keyring/probe', { preHandler: security.auth.requireScope('tokenize', keyringParam) }, async (req) => ({ principal: req.principal }));
  // Route modules use the hook in onRequest (before the body is read) or in preHandler: both work.
  app.get('/v1/probe', { onRequest: security.auth.requireScope('detokenize') }, async (req) => ({ principal: req.principal }));
  await app.ready();
});

afterEach(async () => {
  await app.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const probe = (keyring: string, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: `/v1/keyrings/${keyring}/probe`, headers });

async function issue(scopes: string[], keyrings: string[]): Promise<{ id: string; key: string }> {
  const res = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: security.adminHeaders, payload: { name: 'probe key', scopes, keyrings } });
  expect(res.statusCode).toBe(201);
  return res.json();
}

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode).toBe(status);
  expect(res.json()).toEqual({ error: { code, message: expect.any(String) } });
}

const denials = () => security.audit.events.filter((e) => e.outcome === 'denied');

describe('requireScope', () => {
  it('lets a key with the scope on the keyring through and sets req.principal', async () => {
    const { id, key } = await issue(['tokenize'], ['patients']);
    const res = await probe('patients', bearer(key));
    expect(res.statusCode).toBe(200);
    expect(res.json().principal).toEqual({ keyId: id, name: 'probe key', scopes: ['tokenize'], keyrings: ['patients'] });
    expect(denials()).toEqual([]);
  });

  it('treats ADMIN_API_KEY as the bootstrap admin of every keyring', async () => {
    const res = await probe('anything', bearer(TEST_ADMIN_API_KEY));
    expect(res.json().principal).toMatchObject({ keyId: 'bootstrap-admin', scopes: ['admin'], keyrings: ['*'] });
  });

  it.each([
    ['no Authorization header', {}, 'missing_credentials', 'Bearer realm="saludtech"'],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'malformed_credentials', 'Bearer realm="saludtech", error="invalid_request"'],
    ['an unknown key', bearer('stk_' + 'A'.repeat(43)), 'unknown_key', 'Bearer realm="saludtech", error="invalid_token"'],
    ['the admin key with one character changed', bearer(TEST_ADMIN_API_KEY.slice(0, -1) + 'X'), 'unknown_key', 'Bearer realm="saludtech", error="invalid_token"'],
  ])('answers 401 unauthenticated to %s, with WWW-Authenticate, and audits one denial', async (_what, headers, reason, challenge) => {
    const res = await probe('patients', headers);
    expectError(res, 401, 'unauthenticated');
    expect(res.headers['www-authenticate']).toBe(challenge);
    expect(denials()).toEqual([{ actor: 'anonymous', action: 'POST /v1/keyrings/:keyring/probe', outcome: 'denied', keyring: 'patients', detail: { reason } }]);
  });

  it('answers 403 forbidden to a key without the scope, audited under its key id', async () => {
    const { id, key } = await issue(['detokenize'], ['patients']);
    expectError(await probe('patients', bearer(key)), 403, 'forbidden');
    expect(denials()).toEqual([{ actor: id, action: 'POST /v1/keyrings/:keyring/probe', outcome: 'denied', keyring: 'patients', detail: { reason: 'insufficient_scope' } }]);
  });

  it('answers 403 to a key of keyring A used on keyring B', async () => {
    const { key } = await issue(['tokenize'], ['patients']);
    expectError(await probe('labs', bearer(key)), 403, 'forbidden');
    expect(denials()[0]).toMatchObject({ keyring: 'labs', detail: { reason: 'keyring_not_allowed' } });
  });

  it('checks only the scope when the route has no keyring (here as an onRequest hook)', async () => {
    const { key } = await issue(['detokenize'], ['patients']);
    expect((await app.inject({ method: 'GET', url: '/v1/probe', headers: bearer(key) })).statusCode).toBe(200);
    expectError(await app.inject({ method: 'GET', url: '/v1/probe' }), 401, 'unauthenticated');
    expect(denials()[0]).toMatchObject({ action: 'GET /v1/probe', keyring: null });
  });

  it('records the route pattern, not the raw URL, and keeps a malformed keyring name out of the keyring column', async () => {
    const { key } = await issue(['tokenize'], ['patients']);
    await app.inject({ method: 'POST', url: '/v1/keyrings/Not_A_Keyring/probe?x=1', headers: bearer(key) });
    expect(denials()[0]).toMatchObject({ action: 'POST /v1/keyrings/:keyring/probe', keyring: null, detail: { reason: 'keyring_not_allowed', invalidKeyringName: true } });
  });

  it('never writes the presented secret into the audit', async () => {
    const { key } = await issue(['detokenize'], ['patients']);
    const wrong = 'stk_' + 'Z'.repeat(43);
    await probe('patients', bearer(key));
    await probe('patients', bearer(wrong));
    await probe('patients', { authorization: `Basic ${key}` });
    const audit = JSON.stringify(security.audit.events);
    expect(denials()).toHaveLength(3);
    for (const secret of [key, wrong, key.slice(4), TEST_ADMIN_API_KEY]) expect(audit).not.toContain(secret);
  });

  it('refuses with 503 rather than letting a denial go unaudited', async () => {
    security.audit.failWith = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expectError(await probe('patients'), 503, 'temporarily_unavailable');
  });

  it('rejects a key revoked through this API at once', async () => {
    const { id, key } = await issue(['tokenize'], ['patients']);
    expect((await probe('patients', bearer(key))).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: `/v1/api-keys/${id}`, headers: security.adminHeaders })).statusCode).toBe(204);
    expectError(await probe('patients', bearer(key)), 401, 'unauthenticated');
    expect(denials().at(-1)).toMatchObject({ actor: id, detail: { reason: 'revoked_key' } });
  });

  it('caches lookups for 5 s: a key revoked elsewhere stops working within that bound', async () => {
    const { id, key } = await issue(['tokenize'], ['patients']);
    await probe('patients', bearer(key));
    const lookups = security.keys.findByHashCalls;
    await security.keys.revoke(id, new Date(clock)); // another API instance revoked it
    clock += 4_000;
    expect((await probe('patients', bearer(key))).statusCode).toBe(200);
    expect(security.keys.findByHashCalls).toBe(lookups);
    clock += 1_001;
    expectError(await probe('patients', bearer(key)), 401, 'unauthenticated');
  });

  it('writes lastUsedAt at most once a minute per key', async () => {
    const { id, key } = await issue(['tokenize'], ['patients']);
    for (let i = 0; i < 5; i++) {
      await probe('patients', bearer(key));
      clock += 10_000;
    }
    expect(security.keys.touchCalls).toEqual([{ id, at: new Date(Date.parse('2026-12-01T10:00:00Z')) }]);
    clock += 10_000; // 60 s after the first use
    await probe('patients', bearer(key));
    expect(security.keys.touchCalls).toHaveLength(2);
    expect(security.keys.stored(id)?.lastUsedAt).toEqual(new Date(clock));
  });

  it('keeps /healthz and /docs public', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
    expect(security.audit.events).toEqual([]);
  });
});
