import { createPrismaClient, type Db } from '../../adapters/db/prismaClient';
import { loadConfig } from '../../config/env';
import { ADMIN_API_KEY, postSeed, waitForSeed } from '../support/http';
import { startAll, uniqueKeyring, type AppServices } from '../support/services';

/**
 * Tokenization over real HTTP: the API, the HSM worker and the token worker as
 * processes, against the local stack (Temporal, Pulsar, PostgreSQL, SoftHSM).
 * Seeds are made through the seed API; callers authenticate with API keys.
 */
const PORT = 3121;
let services: AppServices;
let db: Db;

type Json = Record<string, unknown> & { items?: Array<Record<string, unknown>> };

async function call(method: string, path: string, body?: unknown, key: string | null = ADMIN_API_KEY, raw?: string): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${services.apiUrl}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function activeSeed(keyring: string): Promise<number> {
  const { status, body } = await postSeed(services.apiUrl, keyring);
  expect(status).toBe(202);
  await waitForSeed(services.apiUrl, body.seedId, (s) => s.state === 'active', 90_000);
  return body.version;
}

async function keyring(mode: 'deterministic' | 'random'): Promise<string> {
  const name = uniqueKeyring(`tok-${mode.slice(0, 3)}`);
  await activeSeed(name);
  expect(await call('PUT', `/v1/keyrings/${name}`, { mode })).toEqual({ status: 200, body: { keyring: name, mode } });
  return name;
}

async function apiKey(scopes: string[], keyrings: string[]): Promise<{ id: string; key: string }> {
  const { status, body } = await call('POST', '/v1/api-keys', { name: `tokens-test-${scopes.join('-')}`, scopes, keyrings });
  expect(status).toBe(201);
  return body as unknown as { id: string; key: string };
}

async function tokenize(ring: string, items: Array<{ reference: string; field: string; value: string }>, key: string = ADMIN_API_KEY): Promise<string[]> {
  const res = await call('POST', `/v1/keyrings/${ring}/tokenize`, { items }, key);
  expect(res.status).toBe(200);
  return res.body.items!.map((i) => (i.token as string | undefined) ?? `error:${(i.error as { code: string }).code}`);
}

const vaultRows = (ring: string) => db.token.count({ where: { keyringName: ring } });

beforeAll(async () => {
  services = await startAll(PORT);
  db = createPrismaClient(loadConfig().DATABASE_URL, 2);
}, 240_000);

afterAll(async () => {
  await services?.stop();
  await db?.$disconnect();
});

describe('tokens over HTTP', () => {
  let det: string;
  let other: string;
  let rnd: string;

  beforeAll(async () => {
    [det, other, rnd] = await Promise.all([keyring('deterministic'), keyring('deterministic'), keyring('random')]);
  }, 240_000);

  it('tokenizes deterministically and separates keyrings and fields', async () => {
    const [a, b, doc, pid] = await tokenize(det, [
      { reference: 'r1', field: 'nombre', value: 'José Peña' },
      { reference: 'r2', field: 'nombre', value: '  jose   PEÑA ' },
      { reference: 'r3', field: 'documento_id', value: 'AB-12.345' },
      { reference: 'r4', field: 'id_paciente', value: 'AB12345' },
    ]);
    const [again] = await tokenize(det, [{ reference: 'x', field: 'nombre', value: 'JOSE PENA' }]);
    const [elsewhere] = await tokenize(other, [{ reference: 'x', field: 'nombre', value: 'José Peña' }]);
    expect(a).toMatch(/^tk_v1_[A-Za-z0-9_-]{32}_[A-Za-z0-9_-]{8}$/);
    expect(b).toBe(a);
    expect(again).toBe(a);
    expect(new Set([a, doc, pid, elsewhere]).size).toBe(4);
    expect(await vaultRows(det)).toBe(3);
  });

  it('returns one token and one row for a value tokenized repeatedly, even concurrently, in a random keyring', async () => {
    const value = `Calle ${Date.now()} # 4-20`;
    const concurrent = await Promise.all(Array.from({ length: 6 }, (_, i) => tokenize(rnd, [{ reference: `c${i}`, field: 'direccion', value }])));
    const tokens = new Set(concurrent.map(([t]) => t));
    expect(tokens.size).toBe(1);
    const [later] = await tokenize(rnd, [{ reference: 'later', field: 'direccion', value: value.toLowerCase() }]);
    expect(tokens.has(later!)).toBe(true);
    expect(await db.token.count({ where: { keyringName: rnd, token: later! } })).toBe(1);
  });

  it('embeds the version in every token and verifies it without revealing the value', async () => {
    const [token] = await tokenize(det, [{ reference: 'v', field: 'nombre', value: 'Verifica Me' }]);
    const res = await call('POST', '/v1/tokens/verify', { token });
    expect(res).toEqual({ status: 200, body: { valid: true, keyring: det, version: 1, state: 'active' } });
    expect(JSON.stringify(res.body)).not.toContain('VERIFICA');
    const forged = `tk_v1_${'A'.repeat(32)}_${'A'.repeat(8)}`;
    expect((await call('POST', '/v1/tokens/verify', { token: forged })).body).toEqual({ valid: false, keyring: null, version: null, state: 'unknown' });
    expect(await call('POST', '/v1/tokens/verify', { token: 'tk_v1_short' })).toMatchObject({ status: 400, body: { error: { code: 'invalid_token_format' } } });
  });

  it('issues under a newly activated version without a restart, and old tokens still detokenize', async () => {
    const ring = await keyring('deterministic');
    const [v1] = await tokenize(ring, [{ reference: 'a', field: 'documento_id', value: '99887766' }]);
    expect(await activeSeed(ring)).toBe(2);
    const [v2] = await tokenize(ring, [{ reference: 'a', field: 'documento_id', value: '99887766' }]);
    expect(v1).toMatch(/^tk_v1_/);
    expect(v2).toMatch(/^tk_v2_/);
    const back = await call('POST', `/v1/keyrings/${ring}/detokenize`, { purpose: 'rotation check', items: [{ reference: 'old', token: v1 }, { reference: 'new', token: v2 }] });
    expect(back).toEqual({ status: 200, body: { items: [{ reference: 'old', value: '99887766', field: 'documento_id' }, { reference: 'new', value: '99887766', field: 'documento_id' }] } });
    expect((await call('POST', '/v1/tokens/verify', { token: v1 })).body).toEqual({ valid: true, keyring: ring, version: 1, state: 'deactivated' });
    await services.tokenWorker!.waitForLine(new RegExp(`"version":2.*working keys derived|working keys derived.*"version":2`), 30_000);
  });

  it('detokenizes only with the detokenize scope on the keyring, and audits every attempt without values', async () => {
    const secret = `Maria ${Date.now().toString(36).replace(/[0-9]/g, 'x')}`;
    const [token] = await tokenize(det, [{ reference: 'p', field: 'nombre', value: secret }]);
    const tokenizer = await apiKey(['tokenize'], [det]);
    const reader = await apiKey(['detokenize'], [det]);
    const body = { purpose: 'care coordination', items: [{ reference: 'p', token }, { reference: 'q', token: 'garbage' }] };
    const path = `/v1/keyrings/${det}/detokenize`;

    expect((await call('POST', path, body, null)).status).toBe(401);
    expect(await call('POST', path, body, tokenizer.key)).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await call('POST', `/v1/keyrings/${other}/detokenize`, body, reader.key)).status).toBe(403);
    const allowed = await call('POST', path, body, reader.key);
    expect(allowed).toEqual({
      status: 200,
      body: { items: [{ reference: 'p', value: secret.toUpperCase(), field: 'nombre' }, { reference: 'q', error: { code: 'invalid_token_format', message: expect.any(String) } }] },
    });
    expect((await call('POST', path, { purpose: 'x', items: [], extra: 1 }, reader.key)).status).toBe(400);

    const events = await db.accessEvent.findMany({ where: { action: `POST /v1/keyrings/:keyring/detokenize`, actor: { in: ['anonymous', tokenizer.id, reader.id] } }, orderBy: { id: 'asc' } });
    const mine = events.filter((e) => e.keyringName === det || e.keyringName === other);
    expect(mine.filter((e) => e.outcome === 'denied').map((e) => e.actor)).toEqual(expect.arrayContaining([tokenizer.id, reader.id]));
    const items = mine.filter((e) => e.actor === reader.id && e.outcome === 'allowed');
    expect(items.map((e) => [e.token, e.purpose, (e.detail as { result: string }).result])).toEqual([
      [token, 'care coordination', 'revealed'],
      [null, 'care coordination', 'invalid_token_format'],
      [null, 'x', 'rejected'],
    ]);
    expect(JSON.stringify(await db.accessEvent.findMany({ where: { keyringName: det } }), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(secret.toUpperCase());
    for (const proc of [services.api, services.tokenWorker!]) expect(proc.lines.join('\n')).not.toContain(secret.split(' ')[1]);
  });

  it('erases a token’s vault entry, audited, so it no longer detokenizes', async () => {
    const [token] = await tokenize(rnd, [{ reference: 'e', field: 'documento_id', value: '55443322' }]);
    const erase = await fetch(`${services.apiUrl}/v1/keyrings/${rnd}/tokens/${token}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_API_KEY}` } });
    expect(erase.status).toBe(204);
    const row = await db.token.findUnique({ where: { token: token! } });
    expect(row).toMatchObject({ sealedValue: null, fingerprint: null, erasedAt: expect.any(Date) });
    expect((await call('POST', `/v1/keyrings/${rnd}/detokenize`, { purpose: 'after erasure', items: [{ reference: 'e', token }] })).body.items).toEqual([{ reference: 'e', error: { code: 'token_erased', message: expect.any(String) } }]);
    expect((await call('POST', '/v1/tokens/verify', { token })).body).toEqual({ valid: false, keyring: rnd, version: 1, state: 'erased' });
    expect((await call('DELETE', `/v1/keyrings/${det}/tokens/${token}`)).status).toBe(404);
    const audit = await db.accessEvent.findMany({ where: { action: 'DELETE /v1/keyrings/:keyring/tokens/:token', token: token! }, orderBy: { id: 'asc' } });
    expect(audit.map((e) => [e.keyringName, (e.detail as { result: string }).result])).toEqual([[rnd, 'erased'], [det, 'token_not_found']]);
    const reader = await apiKey(['detokenize'], [rnd]);
    expect((await call('DELETE', `/v1/keyrings/${rnd}/tokens/${token}`, undefined, reader.key)).status).toBe(403);
  });

  it('locks the mode once the keyring has tokens', async () => {
    expect(await call('PUT', `/v1/keyrings/${det}`, { mode: 'deterministic' })).toEqual({ status: 200, body: { keyring: det, mode: 'deterministic' } });
    expect(await call('PUT', `/v1/keyrings/${det}`, { mode: 'random' })).toMatchObject({ status: 409, body: { error: { code: 'mode_locked' } } });
    expect(await call('PUT', `/v1/keyrings/${uniqueKeyring('nope')}`, { mode: 'random' })).toMatchObject({ status: 404, body: { error: { code: 'keyring_not_found' } } });
    expect((await call('PUT', `/v1/keyrings/${det}`, { mode: 'random', extra: true })).status).toBe(400);
  });

  it('answers bad input with a 4xx and writes nothing', async () => {
    const before = await vaultRows(det);
    const ok = { reference: 'ok', field: 'nombre', value: 'Nadie Escrito' };
    const path = `/v1/keyrings/${det}/tokenize`;
    expect(await call('POST', path, undefined, ADMIN_API_KEY, '{"items": [')).toMatchObject({ status: 400, body: { error: { code: 'malformed_json' } } });
    expect(await call('POST', `/v1/keyrings/${uniqueKeyring('nope')}/tokenize`, { items: [ok] })).toMatchObject({ status: 404, body: { error: { code: 'keyring_not_found' } } });
    expect(await call('POST', path, { items: [ok, { reference: 'big', field: 'direccion', value: 'x'.repeat(1001) }] })).toMatchObject({ status: 400 });
    expect(await call('POST', path, { items: [{ ...ok, extra: 1 }] })).toMatchObject({ status: 400 });
    expect(await call('POST', path, { items: [ok, { reference: '', field: 'nombre', value: 'a' }] })).toMatchObject({ status: 400 });
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ reference: `r${i}`, field: 'documento_id', value: `${10_000_000 + i}` }));
    expect(await call('POST', path, { items: tooMany })).toMatchObject({ status: 413, body: { error: { code: 'batch_too_large' } } });
    expect(await vaultRows(det)).toBe(before);

    const mixed = await call('POST', path, { items: [ok, { reference: 'f', field: 'email', value: 'a@b.c' }, { reference: 'd', field: 'fecha_nacimiento', value: '1990-02-30' }] });
    expect(mixed.status).toBe(200);
    expect(mixed.body.items!.map((i) => (i.error as { code: string } | undefined)?.code ?? 'token')).toEqual(['token', 'unknown_field', 'invalid_date']);
    expect(JSON.stringify(mixed.body)).not.toContain('a@b.c');
    expect(await vaultRows(det)).toBe(before + 1);
    expect(await call('DELETE', `/v1/keyrings/${det}/tokens/not-a-token`)).toMatchObject({ status: 400, body: { error: { code: 'invalid_token_format' } } });
  });

  it('takes a batch of the documented size (10,000 items) in one request', async () => {
    const ring = await keyring('random');
    const items = Array.from({ length: 10_000 }, (_, i) => ({ reference: `r${i}`, field: 'id_paciente', value: `P-${i}` }));
    const started = Date.now();
    const tokens = await tokenize(ring, items);
    expect(tokens.filter((t) => t.startsWith('tk_v1_'))).toHaveLength(10_000);
    expect(await vaultRows(ring)).toBe(10_000);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
