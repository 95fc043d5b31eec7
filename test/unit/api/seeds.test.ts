import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../../api/server';
import { FakeLifecycleStarter, InMemorySeedRepository, silentLogger, testAuth, type TestAuth } from '../../support/fakes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let seeds: InMemorySeedRepository;
let lifecycles: FakeLifecycleStarter;
let app: FastifyInstance;
let auth: TestAuth;

beforeEach(async () => {
  seeds = new InMemorySeedRepository();
  lifecycles = new FakeLifecycleStarter();
  auth = testAuth();
  app = buildApi({ seeds, lifecycles, auth: auth.auth, apiKeys: auth.keys, audit: auth.audit, logger: silentLogger(), temporalUiUrl: 'http://ui.test', temporalNamespace: 'default', bodyLimit: 1024 });
  await app.ready();
});

afterEach(async () => {
  await app.close();
});

const createSeed = (keyring = 'patients', headers: Record<string, string> = {}, payload?: string) =>
  app.inject({ method: 'POST', url: `/v1/keyrings/${keyring}/seeds`, headers: { ...auth.adminHeaders, ...headers }, ...(payload === undefined ? {} : { payload }) });
const get = (url: string) => app.inject({ method: 'GET', url, headers: auth.adminHeaders });

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

function expectNothingReservedOrStarted(): void {
  expect(seeds.reservationCount()).toBe(0);
  expect(lifecycles.startCalls).toEqual([]);
}

describe('POST /v1/keyrings/:keyring/seeds', () => {
  it('answers 202 with a Location and the requested seed, and starts its lifecycle', async () => {
    const res = await createSeed();
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({
      seedId: expect.stringMatching(UUID),
      keyring: 'patients',
      version: 1,
      state: 'requested',
      kcv: null,
      stateReason: null,
      requestedAt: expect.any(String),
      activatedAt: null,
      deactivatedAt: null,
      destroyedAt: null,
      workflowId: 'seed-patients-v1',
      statusUrl: `/v1/seeds/${body.seedId}`,
      temporalUiUrl: 'http://ui.test/namespaces/default/workflows/seed-patients-v1',
    });
    expect(new Date(body.requestedAt).toISOString()).toBe(body.requestedAt);
    expect(res.headers.location).toBe(body.statusUrl);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(lifecycles.startCalls).toEqual([expect.objectContaining({ seedId: body.seedId, keyring: 'patients', version: 1, workflowId: 'seed-patients-v1', created: true })]);
  });

  it('accepts an empty JSON object as the body', async () => {
    const res = await createSeed('patients', { 'content-type': 'application/json' }, '{}');
    expect(res.statusCode).toBe(202);
  });

  it('gives each new request of a keyring the next version', async () => {
    const first = (await createSeed()).json();
    const second = (await createSeed()).json();
    const other = (await createSeed('labs')).json();
    expect([first.version, second.version, other.version]).toEqual([1, 2, 1]);
    expect(second.workflowId).toBe('seed-patients-v2');
  });

  it('replays a repeated Idempotency-Key: same seed and version, marked replayed, lifecycle started again idempotently', async () => {
    const first = await createSeed('patients', { 'idempotency-key': 'req-42' });
    const replay = await createSeed('patients', { 'idempotency-key': 'req-42' });
    expect(replay.statusCode).toBe(202);
    expect(replay.json().seedId).toBe(first.json().seedId);
    expect(replay.json().version).toBe(first.json().version);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers.location).toBe(first.headers.location);
    expect(seeds.reservationCount()).toBe(1);
    expect(lifecycles.startCalls.map((r) => r.workflowId)).toEqual(['seed-patients-v1', 'seed-patients-v1']);
    expect(lifecycles.running.size).toBe(1);
  });

  it('scopes Idempotency-Keys to their keyring', async () => {
    const a = (await createSeed('patients', { 'idempotency-key': 'same' })).json();
    const b = (await createSeed('labs', { 'idempotency-key': 'same' })).json();
    expect(b.seedId).not.toBe(a.seedId);
  });

  it('shows the seed’s current state on a replay after the lifecycle made progress', async () => {
    const first = (await createSeed('patients', { 'idempotency-key': 'k1' })).json();
    await seeds.recordPreActive({ seedId: first.seedId, keyring: 'patients', version: 1 }, 'label', 'a1b2c3');
    const replay = (await createSeed('patients', { 'idempotency-key': 'k1' })).json();
    expect(replay).toMatchObject({ seedId: first.seedId, state: 'pre_active', kcv: 'a1b2c3' });
  });

  it('answers 503 when the workflow engine is unreachable, and a replay with the same key then starts the lifecycle', async () => {
    lifecycles.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7233'), { name: 'ServiceError' });
    const failed = await createSeed('patients', { 'idempotency-key': 'retry-me' });
    expectError(failed, 503, 'temporarily_unavailable');
    expect(failed.headers['retry-after']).toBe('5');

    lifecycles.failWith = null;
    const replay = await createSeed('patients', { 'idempotency-key': 'retry-me' });
    expect(replay.statusCode).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect([...lifecycles.running.keys()]).toEqual(['seed-patients-v1']);
  });

  describe('refuses bad requests with a 400 and reserves or starts nothing', () => {
    it.each(['Patients', 'ab', 'pat_ients', 'abc-', '1abc', 'x'.repeat(65)])('a bad keyring name: %s', async (keyring) => {
      expectError(await createSeed(keyring), 400, 'invalid_keyring_name');
      expectNothingReservedOrStarted();
    });

    it('unknown body fields', async () => {
      const res = await createSeed('patients', { 'content-type': 'application/json' }, JSON.stringify({ algorithm: 'aes' }));
      expectError(res, 400, 'unknown_fields');
      expect(res.json().error.message).toContain('algorithm');
      expectNothingReservedOrStarted();
    });

    it.each([
      ['an array', '[]'],
      ['a number', '42'],
      ['a string', '"hello"'],
      ['a boolean', 'true'],
      ['null', 'null'],
    ])('a JSON body that is %s, not an object', async (_what, payload) => {
      expectError(await createSeed('patients', { 'content-type': 'application/json' }, payload), 400, 'invalid_body');
      expectNothingReservedOrStarted();
    });

    it('a plain-text body (415: JSON only)', async () => {
      expectError(await createSeed('patients', { 'content-type': 'text/plain' }, 'make me a seed'), 415, 'unsupported_media_type');
      expectNothingReservedOrStarted();
    });

    it('malformed JSON', async () => {
      expectError(await createSeed('patients', { 'content-type': 'application/json' }, '{"a":'), 400, 'malformed_json');
      expectNothingReservedOrStarted();
    });

    it('an empty body declared as JSON', async () => {
      expectError(await createSeed('patients', { 'content-type': 'application/json' }, ''), 400, 'malformed_json');
      expectNothingReservedOrStarted();
    });

    it.each([
      ['a space', 'has space'],
      ['a slash', 'a/b'],
      ['129 characters', 'k'.repeat(129)],
      ['an empty value', ''],
    ])('an Idempotency-Key with %s', async (_why, key) => {
      expectError(await createSeed('patients', { 'idempotency-key': key }), 400, 'invalid_idempotency_key');
      expectNothingReservedOrStarted();
    });
  });

  it('refuses an oversized body with 413 and reserves nothing', async () => {
    const res = await createSeed('patients', { 'content-type': 'application/json' }, JSON.stringify({ padding: 'x'.repeat(2048) }));
    expectError(res, 413, 'payload_too_large');
    expectNothingReservedOrStarted();
  });

  it('refuses a body in an unsupported media type with 415 and reserves nothing', async () => {
    const res = await createSeed('patients', { 'content-type': 'application/xml' }, '<seed/>');
    expectError(res, 415, 'unsupported_media_type');
    expectNothingReservedOrStarted();
  });
});

describe('GET /v1/seeds/:id', () => {
  it('reports the seed with its workflow status and audit history', async () => {
    const created = (await createSeed()).json();
    const ref = { seedId: created.seedId, keyring: 'patients', version: 1 };
    await seeds.recordPreActive(ref, 'label', 'a1b2c3');
    await seeds.activate(ref);

    const res = await get(created.statusUrl);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ seedId: created.seedId, state: 'active', kcv: 'a1b2c3', workflowStatus: 'RUNNING', activatedAt: expect.any(String) });
    expect(body.history.map((h: { type: string }) => h.type)).toEqual(['SeedRequested', 'SeedGenerated', 'SeedActivated']);
  });

  it('answers 400 for a seed id that is not a UUID', async () => {
    expectError(await get('/v1/seeds/not-a-uuid'), 400, 'invalid_seed_id');
  });

  it('answers 404 for an unknown seed', async () => {
    expectError(await get('/v1/seeds/6f1c1c5e-7f36-4b43-9b8e-0d7f1f0a2b11'), 404, 'seed_not_found');
  });

  it('still answers when the workflow engine cannot say how the workflow is doing', async () => {
    const created = (await createSeed()).json();
    lifecycles.status = async () => {
      throw new Error('unavailable');
    };
    const res = await get(created.statusUrl);
    expect(res.statusCode).toBe(200);
    expect(res.json().workflowStatus).toBeNull();
  });
});

describe('GET /v1/keyrings/:keyring/seeds', () => {
  it('lists every version with the active one called out', async () => {
    const v1 = (await createSeed()).json();
    const v2 = (await createSeed()).json();
    for (const s of [v1, v2]) await seeds.recordPreActive({ seedId: s.seedId, keyring: 'patients', version: s.version }, `l${s.version}`, 'a1b2c3');
    await seeds.activate({ seedId: v1.seedId, keyring: 'patients', version: 1 });
    await seeds.activate({ seedId: v2.seedId, keyring: 'patients', version: 2 });

    const res = await get('/v1/keyrings/patients/seeds');
    expect(res.statusCode).toBe(200);
    expect(res.json().activeVersion).toBe(2);
    expect(res.json().seeds.map((s: { version: number; state: string }) => [s.version, s.state])).toEqual([
      [1, 'deactivated'],
      [2, 'active'],
    ]);
  });

  it('answers 404 for an unknown keyring', async () => {
    expectError(await get('/v1/keyrings/unknown/seeds'), 404, 'keyring_not_found');
  });

  it('answers 400 for a bad keyring name', async () => {
    expectError(await get('/v1/keyrings/BAD/seeds'), 400, 'invalid_keyring_name');
  });
});

describe('seed endpoints need admin on the keyring', () => {
  async function keyFor(scopes: string[], keyrings: string[]): Promise<Record<string, string>> {
    const res = await app.inject({ method: 'POST', url: '/v1/api-keys', headers: auth.adminHeaders, payload: { name: 'test', scopes, keyrings } });
    expect(res.statusCode).toBe(201);
    return { authorization: `Bearer ${res.json().key}` };
  }

  it('answers 401 without a key, audits it, and reserves nothing', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/keyrings/patients/seeds' });
    expectError(res, 401, 'unauthenticated');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expectNothingReservedOrStarted();
    expect(auth.audit.events).toEqual([
      { actor: 'anonymous', action: 'POST /v1/keyrings/:keyring/seeds', outcome: 'denied', keyring: 'patients', detail: { reason: 'missing_credentials' } },
    ]);
  });

  it('refuses an unauthenticated request before reading its body', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/keyrings/patients/seeds', headers: { 'content-type': 'application/json' }, payload: '{"a":' });
    expectError(res, 401, 'unauthenticated');
  });

  it('answers 403 to a tokenize-only key and to an admin of another keyring', async () => {
    expectError(await createSeed('patients', await keyFor(['tokenize'], ['*'])), 403, 'forbidden');
    expectError(await createSeed('patients', await keyFor(['admin'], ['labs'])), 403, 'forbidden');
    expectNothingReservedOrStarted();
    expect(auth.audit.events.filter((e) => e.outcome === 'denied').map((e) => e.detail?.reason)).toEqual(['insufficient_scope', 'keyring_not_allowed']);
  });

  it('lets an admin of the keyring create and read its seeds, but not read another keyring’s seed by id', async () => {
    const patientsAdmin = await keyFor(['admin'], ['patients']);
    expect((await createSeed('patients', patientsAdmin)).statusCode).toBe(202);
    const labs = (await createSeed('labs')).json();
    const res = await app.inject({ method: 'GET', url: labs.statusUrl, headers: patientsAdmin });
    expectError(res, 403, 'forbidden');
    expect(auth.audit.events.at(-1)).toMatchObject({ action: 'GET /v1/seeds/:id', outcome: 'denied', keyring: 'labs', detail: { reason: 'keyring_not_allowed' } });
    expect((await app.inject({ method: 'GET', url: '/v1/keyrings/patients/seeds', headers: patientsAdmin })).statusCode).toBe(200);
  });
});

describe('unknown routes', () => {
  it('answer 404 with the same error body', async () => {
    expectError(await app.inject({ method: 'GET', url: '/v1/nothing-here?x=1' }), 404, 'route_not_found');
    expectError(await app.inject({ method: 'DELETE', url: '/v1/keyrings/patients/seeds' }), 404, 'route_not_found');
  });
});
