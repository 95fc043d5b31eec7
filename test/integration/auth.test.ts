import { createPrismaClient, type Db } from '../../adapters/db/prismaClient';
import { loadConfig } from '../../config/env';
import { ADMIN_API_KEY, asAdmin } from '../support/http';
import { scanValue } from '../support/secretScan';
import { startApi, uniqueKeyring, type ServiceProcess } from '../support/services';

/**
 * API keys, scopes and the audit of denied calls over real HTTP, against the
 * real API process and PostgreSQL. Only the API runs: every seed request here
 * is refused or touches a keyring that does not exist, so no workflow starts.
 */
describe('API authentication and authorisation', () => {
  const port = 3111;
  const apiUrl = `http://127.0.0.1:${port}`;
  let api: ServiceProcess;
  let db: Db;
  const startedAt = new Date();
  const issued: Array<{ id: string; key: string }> = [];
  const wrongKey = `stk_${'W'.repeat(20)}${Date.now().toString(36)}`;

  beforeAll(async () => {
    db = createPrismaClient(loadConfig().DATABASE_URL, 2);
    api = await startApi(port);
  }, 120_000);

  afterAll(async () => {
    for (const k of issued) await fetch(`${apiUrl}/v1/api-keys/${k.id}`, { method: 'DELETE', headers: asAdmin() }).catch(() => undefined);
    await api?.stop();
    await db?.$disconnect();
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  async function issue(name: string, scopes: string[], keyrings: string[]): Promise<{ id: string; key: string; prefix: string }> {
    const res = await fetch(`${apiUrl}/v1/api-keys`, { method: 'POST', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify({ name, scopes, keyrings }) });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; key: string; prefix: string };
    issued.push(body);
    return body;
  }

  const deniedRows = (keyring: string) => db.accessEvent.findMany({ where: { keyringName: keyring, outcome: 'denied', at: { gte: startedAt } }, orderBy: { id: 'asc' } });

  it('answers 401 with WWW-Authenticate to a request without a key, and audits it', async () => {
    const keyring = uniqueKeyring('noauth');
    const res = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, { method: 'POST' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    const rows = await deniedRows(keyring);
    expect(rows.map((r) => [r.actor, r.action, r.outcome, r.detail])).toEqual([['anonymous', 'POST /v1/keyrings/:keyring/seeds', 'denied', { reason: 'missing_credentials' }]]);
    // Refused before anything was reserved.
    expect(await db.keyring.count({ where: { name: keyring } })).toBe(0);
  });

  it('answers 401 to a wrong key, and audits it', async () => {
    const keyring = uniqueKeyring('wrongkey');
    const res = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, { method: 'POST', headers: bearer(wrongKey) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    expect((await deniedRows(keyring)).map((r) => [r.actor, r.detail])).toEqual([['anonymous', { reason: 'unknown_key' }]]);
  });

  it('answers 403 to a tokenize-only key on the seed endpoint, and audits it under the key id', async () => {
    const keyring = uniqueKeyring('tokonly');
    const tokenizer = await issue('tokenize only', ['tokenize'], ['*']);
    const res = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, { method: 'POST', headers: bearer(tokenizer.key) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await deniedRows(keyring)).map((r) => [r.actor, r.action, r.detail])).toEqual([[tokenizer.id, 'POST /v1/keyrings/:keyring/seeds', { reason: 'insufficient_scope' }]]);
    expect(await db.keyring.count({ where: { name: keyring } })).toBe(0);
  });

  it('answers 403 to a key of keyring A used on keyring B, and lets it act on A', async () => {
    const a = uniqueKeyring('ringa');
    const b = uniqueKeyring('ringb');
    const adminOfA = await issue('admin of A', ['admin'], [a]);
    const onB = await fetch(`${apiUrl}/v1/keyrings/${b}/seeds`, { headers: bearer(adminOfA.key) });
    expect(onB.status).toBe(403);
    expect((await deniedRows(b)).map((r) => [r.actor, r.detail])).toEqual([[adminOfA.id, { reason: 'keyring_not_allowed' }]]);
    // Past authorisation on A: the keyring simply has no seeds yet.
    const onA = await fetch(`${apiUrl}/v1/keyrings/${a}/seeds`, { headers: bearer(adminOfA.key) });
    expect(onA.status).toBe(404);
    expect(((await onA.json()) as { error: { code: string } }).error.code).toBe('keyring_not_found');
    // Nor may it manage keys: that would let it issue itself a key for every keyring.
    expect((await fetch(`${apiUrl}/v1/api-keys`, { headers: bearer(adminOfA.key) })).status).toBe(403);
  });

  it('issues a key that works, lists it without its secret, and revokes it with immediate effect', async () => {
    const keyring = uniqueKeyring('lifecycle');
    const key = await issue('integration admin', ['admin'], [keyring]);
    expect(key.key).toMatch(/^stk_[A-Za-z0-9_-]{43}$/);

    const works = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, { headers: bearer(key.key) });
    expect(works.status).toBe(404); // authenticated and authorised; no such keyring yet

    const listRes = await fetch(`${apiUrl}/v1/api-keys`, { headers: asAdmin() });
    expect(listRes.status).toBe(200);
    const listText = await listRes.text();
    const listed = (JSON.parse(listText) as { apiKeys: Array<Record<string, unknown>> }).apiKeys.find((k) => k.id === key.id);
    expect(listed).toMatchObject({ id: key.id, name: 'integration admin', prefix: key.prefix, scopes: ['admin'], keyrings: [keyring], createdBy: 'bootstrap-admin', revokedAt: null, lastUsedAt: expect.any(String) });
    expect(Object.keys(listed!).sort()).toEqual(['createdAt', 'createdBy', 'id', 'keyrings', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes']);
    expect(listText).not.toContain(key.key.slice(4));
    const stored = await db.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(listText).not.toContain(stored.keyHash);
    expect(JSON.stringify(stored)).not.toContain(key.key.slice(4));

    const revoked = await fetch(`${apiUrl}/v1/api-keys/${key.id}`, { method: 'DELETE', headers: asAdmin() });
    expect(revoked.status).toBe(204);
    const after = await fetch(`${apiUrl}/v1/keyrings/${keyring}/seeds`, { headers: bearer(key.key) });
    expect(after.status).toBe(401);
    expect((await deniedRows(keyring)).map((r) => [r.actor, r.detail])).toEqual([[key.id, { reason: 'revoked_key' }]]);
  });

  it('keeps /healthz and /docs public', async () => {
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
    const docs = await fetch(`${apiUrl}/docs`);
    expect(docs.status).toBe(200);
    expect(((await docs.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('never stores or logs a presented secret', async () => {
    // One more attempt with a real key in a malformed header.
    await fetch(`${apiUrl}/v1/api-keys`, { headers: { authorization: `Basic ${issued[0]!.key}` } });
    const rows = await db.accessEvent.findMany({ where: { at: { gte: startedAt } } });
    expect(rows.length).toBeGreaterThanOrEqual(6);
    const text = JSON.stringify(rows.map((r) => ({ ...r, id: r.id.toString() })));
    const secrets = [ADMIN_API_KEY, wrongKey, ...issued.map((k) => k.key)];
    expect(issued.length).toBeGreaterThanOrEqual(3);
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(api.lines.join('\n')).not.toContain(secret);
    }
    for (const k of issued) expect(text).not.toContain(k.key.slice(4, 20));
    expect(scanValue('access_events', JSON.parse(text))).toEqual([]);
  });
});
