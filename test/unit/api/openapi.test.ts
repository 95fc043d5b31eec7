import type { FastifyInstance } from 'fastify';
import { openApiDocument } from '../../../api/openapi';
import { buildTestApi, testAuth } from '../../support/fakes';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

let app: FastifyInstance;
let registered: Array<{ method: string; path: string }>;

beforeAll(async () => {
  const security = testAuth();
  registered = [];
  app = buildTestApi(security);
  await app.ready();
  registered = collectRoutes(app);
});

afterAll(async () => {
  await app.close();
});

/** `/v1/keyrings/{keyring}/seeds` → `/v1/keyrings/:keyring/seeds` */
const toFastify = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');

/** Every method and full path from fastify's route tree (children print relative to their parent). */
function collectRoutes(instance: FastifyInstance): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const prefixes: string[] = [];
  for (const line of instance.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1]!.length - 1) / 4; // "├" at the top, "│   └" one level down
    const path = (prefixes[depth - 1] ?? '') + match[2]!;
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ')) if (method && method !== 'HEAD' && method !== 'OPTIONS') out.push({ method, path });
  }
  return out;
}

describe('OpenAPI document', () => {
  it('is served as JSON at /docs and /docs/openapi.json without authentication', async () => {
    for (const url of ['/docs', '/docs/openapi.json']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    }
  });

  it('is OpenAPI 3.1 with bearer auth and the error body schema', () => {
    expect(openApiDocument.openapi).toBe('3.1.0');
    expect(openApiDocument.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(openApiDocument.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
  });

  it('describes every registered route', () => {
    expect(registered).toEqual(expect.arrayContaining([{ method: 'DELETE', path: '/v1/api-keys/:id' }, { method: 'GET', path: '/docs/openapi.json' }]));
    const documented = new Set(
      Object.entries(openApiDocument.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${toFastify(path)}`)),
    );
    const missing = registered.map((r) => `${r.method} ${r.path}`).filter((r) => !documented.has(r));
    expect(missing).toEqual([]);
  });

  it('describes the token and job routes of issue 3', () => {
    const paths = Object.keys(openApiDocument.paths);
    for (const p of ['/v1/keyrings/{keyring}/tokenize', '/v1/keyrings/{keyring}/detokenize', '/v1/tokens/verify', '/v1/keyrings/{keyring}/tokens/{token}', '/v1/keyrings/{keyring}', '/v1/keyrings/{keyring}/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/output']) {
      expect(paths).toContain(p);
    }
  });

  it('marks only /healthz and /docs as public, and every $ref resolves', () => {
    const doc = JSON.parse(JSON.stringify(openApiDocument)) as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const publicOps = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([m, op]) => METHODS.includes(m as never) && Array.isArray(op.security) && op.security.length === 0).map(() => path));
    expect(publicOps.sort()).toEqual(['/docs', '/docs/openapi.json', '/healthz']);

    const refs = JSON.stringify(openApiDocument).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of refs) {
      const pointer = r.slice('"$ref":"'.length, -1).replace(/^#\//, '').split('/');
      let node: unknown = openApiDocument;
      for (const part of pointer) node = (node as Record<string, unknown>)[part];
      expect([r, node]).toEqual([r, expect.anything()]);
    }
  });
});
