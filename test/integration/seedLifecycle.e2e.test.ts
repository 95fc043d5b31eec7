import { asAdmin, getSeed, postSeed, waitForSeed } from '../support/http';
import { startAll, uniqueKeyring, type AppServices } from '../support/services';

/**
 * The seed lifecycle over HTTP against the real stack: Temporal, Pulsar,
 * PostgreSQL and SoftHSM, with the API and both workers as real processes.
 */
describe('seed lifecycle over HTTP', () => {
  let app: AppServices;

  beforeAll(async () => {
    app = await startAll(3101);
  }, 180_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('activates v1, then v2 and deactivates v1', async () => {
    const keyring = uniqueKeyring('e2e');

    const first = await postSeed(app.apiUrl, keyring);
    expect(first.status).toBe(202);
    expect(first.headers.get('location')).toBe(`/v1/seeds/${first.body.seedId}`);
    expect(first.body).toMatchObject({ keyring, version: 1, state: 'requested', workflowId: `seed-${keyring}-v1` });
    const v1 = await waitForSeed(app.apiUrl, first.body.seedId, (s) => s.state === 'active');
    expect(v1.kcv).toMatch(/^[0-9a-f]{6}$/);

    const second = await postSeed(app.apiUrl, keyring);
    expect(second.body.version).toBe(2);
    await waitForSeed(app.apiUrl, second.body.seedId, (s) => s.state === 'active');

    const v1After = await getSeed(app.apiUrl, first.body.seedId);
    expect(v1After.state).toBe('deactivated');
    expect(v1After.stateReason).toBe('superseded by v2');

    const list = (await (await fetch(`${app.apiUrl}/v1/keyrings/${keyring}/seeds`, { headers: asAdmin() })).json()) as { activeVersion: number; seeds: Array<{ version: number; state: string }> };
    expect(list.activeVersion).toBe(2);
    expect(list.seeds.map((s) => [s.version, s.state])).toEqual([
      [1, 'deactivated'],
      [2, 'active'],
    ]);

    const v2 = await waitForSeed(app.apiUrl, second.body.seedId, (s) => s.workflowStatus === 'COMPLETED');
    expect(v2.history?.map((h) => h.type)).toEqual(['SeedRequested', 'SeedGenerated', 'SeedAccepted', 'SeedActivated']);
    expect(v2.history?.find((h) => h.type === 'SeedAccepted')?.actor).toMatch(/^token-service@/);
  });

  it('replays a POST with the same Idempotency-Key and starts nothing new', async () => {
    const keyring = uniqueKeyring('idem');
    const first = await postSeed(app.apiUrl, keyring, 'order-42');
    await waitForSeed(app.apiUrl, first.body.seedId, (s) => s.state === 'active');

    const again = await postSeed(app.apiUrl, keyring, 'order-42');
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toMatchObject({ seedId: first.body.seedId, version: 1, state: 'active', workflowId: first.body.workflowId });

    const list = (await (await fetch(`${app.apiUrl}/v1/keyrings/${keyring}/seeds`, { headers: asAdmin() })).json()) as { seeds: unknown[] };
    expect(list.seeds).toHaveLength(1);
  });

  it('gives concurrent requests for one keyring distinct versions and leaves exactly one active', async () => {
    const keyring = uniqueKeyring('race');
    const posts = await Promise.all([1, 2, 3].map(() => postSeed(app.apiUrl, keyring)));
    expect(posts.map((p) => p.status)).toEqual([202, 202, 202]);
    expect(posts.map((p) => p.body.version).sort()).toEqual([1, 2, 3]);

    await Promise.all(
      posts.map((p) => waitForSeed(app.apiUrl, p.body.seedId, (s) => s.workflowStatus === 'COMPLETED' || s.workflowStatus === 'FAILED', 90_000)),
    );
    // Read the states once every lifecycle has finished: a version that completed early may be deactivated later.
    const finals = await Promise.all(posts.map((p) => getSeed(app.apiUrl, p.body.seedId)));
    const active = finals.filter((s) => s.state === 'active');
    expect(active).toHaveLength(1);
    expect(active[0]?.version).toBe(3);
    // A version that lost the race is either deactivated (it was active first) or destroyed, never half-made.
    for (const s of finals.filter((x) => x.version !== 3)) expect(['deactivated', 'destroyed']).toContain(s.state);
  });

  describe('bad input gets a 4xx and starts nothing', () => {
    const cases: Array<[string, string, RequestInit, number, string]> = [
      ['a keyring name with capitals', 'Bad_Name', { method: 'POST' }, 400, 'invalid_keyring_name'],
      ['unknown body fields', 'KEYRING', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"seed":"00"}' }, 400, 'unknown_fields'],
      ['malformed JSON', 'KEYRING', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"' }, 400, 'malformed_json'],
      ['an oversized body', 'KEYRING', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(64 * 1024) }) }, 413, 'payload_too_large'],
      ['a bad Idempotency-Key', 'KEYRING', { method: 'POST', headers: { 'idempotency-key': 'has spaces in it' } }, 400, 'invalid_idempotency_key'],
      ['a non-JSON content type', 'KEYRING', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, 415, 'unsupported_media_type'],
    ];

    it.each(cases)('rejects %s', async (_name, ring, init, status, code) => {
      const keyring = ring === 'KEYRING' ? uniqueKeyring('bad') : ring;
      const res = await fetch(`${app.apiUrl}/v1/keyrings/${keyring}/seeds`, { ...init, headers: asAdmin(init.headers as Record<string, string> | undefined) });
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error: { code, message: expect.any(String) } });
      if (ring === 'KEYRING') {
        const after = await fetch(`${app.apiUrl}/v1/keyrings/${keyring}/seeds`, { headers: asAdmin() });
        expect(after.status).toBe(404); // no reservation, no keyring, no workflow
      }
    });

    it('answers 404 with a code for an unknown seed and 400 for a malformed id', async () => {
      const unknown = await fetch(`${app.apiUrl}/v1/seeds/00000000-0000-4000-8000-000000000000`, { headers: asAdmin() });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('seed_not_found');
      const malformed = await fetch(`${app.apiUrl}/v1/seeds/not-a-uuid`, { headers: asAdmin() });
      expect(malformed.status).toBe(400);
    });
  });
});
