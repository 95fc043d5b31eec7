import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { nodeRandom } from '../../../adapters/crypto/nodeRandom';
import { installErrorHandling } from '../../../api/errors';
import { ForbiddenError, type Auth } from '../../../api/auth';
import { registerTokenRoutes } from '../../../api/routes/tokens';
import type { AccessEvent } from '../../../domain/accessPorts';
import type { Scope } from '../../../domain/auth';
import { Tokenizer } from '../../../tokenService/tokenizer';
import { WorkingKeyCache } from '../../../tokenService/workingKeys';
import { FakeDerivation, InMemoryVault } from './tokenFakes';

const SECRET = 'Secretina Valdés';

/** Grants whatever the `x-scopes` header lists (on every keyring); records denials like the real auth. */
function fakeAuth(events: AccessEvent[]): Auth {
  return {
    requireScope: (scope: Scope) => async (req: FastifyRequest) => {
      const scopes = String(req.headers['x-scopes'] ?? '').split(',');
      if (!scopes.includes(scope) && !scopes.includes('admin')) {
        events.push({ actor: 'k', action: 'denied', outcome: 'denied' });
        throw new ForbiddenError('forbidden', 'no');
      }
      req.principal = { keyId: 'key-1', name: 'k', scopes: scopes as Scope[], keyrings: ['*'] };
    },
  };
}

function setup(opts: { auditFails?: boolean; maxTokenizeItems?: number } = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  const vault = new InMemoryVault();
  vault.addKeyring('patients', 'deterministic');
  vault.activateNew('patients');
  const tokens = new Tokenizer({ vault, keys: new WorkingKeyCache(new FakeDerivation().derive), random: nodeRandom, logger });
  const events: AccessEvent[] = [];
  const audit = {
    record: async (e: AccessEvent) => void events.push(e),
    recordMany: async (es: AccessEvent[]) => {
      if (opts.auditFails) throw new Error('audit store down');
      events.push(...es);
    },
  };
  const app: FastifyInstance = Fastify({ loggerInstance: logger as FastifyBaseLogger, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
  installErrorHandling(app, logger);
  registerTokenRoutes(app, { auth: fakeAuth(events), audit, tokens, tokenLimits: { maxTokenizeItems: opts.maxTokenizeItems ?? 10 } });
  const post = (url: string, payload: unknown, scopes = 'admin') =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', 'x-scopes': scopes }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
  return { app, vault, events, lines, post };
}

describe('token routes', () => {
  it('authenticates before reading the body, so a denied caller gets 403 even for malformed JSON', async () => {
    const { post, events } = setup();
    const res = await post('/v1/keyrings/patients/detokenize', '{"purpose": [', 'tokenize');
    expect(res.statusCode).toBe(403);
    expect(events).toEqual([expect.objectContaining({ outcome: 'denied' })]);
  });

  it('never logs or echoes a value, even in malformed or invalid bodies', async () => {
    const { post, lines } = setup();
    const answers = await Promise.all([
      post('/v1/keyrings/patients/tokenize', `{"items": [{"value": "${SECRET}"`),
      post('/v1/keyrings/patients/tokenize', { items: [{ reference: 'r', field: 'nombre', value: SECRET, note: SECRET }] }),
      post('/v1/keyrings/patients/tokenize', { items: [{ reference: 'r', field: 'nombre', value: SECRET + '\u0000' }] }),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual([400, 400, 200]);
    for (const text of [...answers.map((a) => a.body), lines.join('')]) expect(text).not.toContain('Secretina');
  });

  it('refuses a batch over the limit whole, before tokenizing anything', async () => {
    const { post, vault } = setup({ maxTokenizeItems: 2 });
    const items = ['a', 'b', 'c'].map((r) => ({ reference: r, field: 'nombre', value: 'Ana' }));
    const res = await post('/v1/keyrings/patients/tokenize', { items });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: 'batch_too_large' } });
    expect(vault.rows).toHaveLength(0);
  });

  it('audits every detokenized item with token and purpose, and reveals nothing if the audit cannot be written', async () => {
    const ok = setup();
    const issued = (await ok.post('/v1/keyrings/patients/tokenize', { items: [{ reference: 'r', field: 'nombre', value: SECRET }] })).json() as { items: Array<{ token: string }> };
    const token = issued.items[0]!.token;
    const res = await ok.post('/v1/keyrings/patients/detokenize', { purpose: 'audit test', items: [{ reference: 'r', token }, { reference: 's', token: SECRET }] }, 'detokenize');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(ok.events).toEqual([
      expect.objectContaining({ actor: 'key-1', outcome: 'allowed', keyring: 'patients', token, purpose: 'audit test', detail: expect.objectContaining({ result: 'revealed' }) }),
      // A caller could put a value in `token`: only well-formed tokens are recorded.
      expect.objectContaining({ token: null, detail: expect.objectContaining({ result: 'invalid_token_format' }) }),
    ]);

    const failing = setup({ auditFails: true });
    failing.vault.rows.push(...ok.vault.rows);
    failing.vault.seeds.clear();
    for (const [id, seed] of ok.vault.seeds) failing.vault.seeds.set(id, seed);
    const denied = await failing.post('/v1/keyrings/patients/detokenize', { purpose: 'p', items: [{ reference: 'r', token }] }, 'detokenize');
    expect(denied.statusCode).toBe(500);
    expect(denied.body).not.toContain('SECRETINA');
  });

  it('audits an authorised detokenize that fails validation', async () => {
    const { post, events } = setup();
    const res = await post('/v1/keyrings/patients/detokenize', { purpose: 'p', items: [{ reference: 'r', token: 'x', value: 'y' }] }, 'detokenize');
    expect(res.statusCode).toBe(400);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([expect.objectContaining({ outcome: 'allowed', keyring: 'patients', purpose: 'p', detail: expect.objectContaining({ result: 'rejected', status: 400 }) })]);
  });
});
