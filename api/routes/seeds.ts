import type { FastifyInstance, FastifyReply } from 'fastify';
import { InvalidInputError, NotFoundError } from '../../domain/errors';
import { assertKeyringName } from '../../domain/keyring';
import type { SeedAuditRecord, SeedRepository, SeedReservation } from '../../domain/ports';
import type { Seed } from '../../domain/seed';
import type { SeedLifecycleStarter } from '../../domain/workflowPorts';
import { keyringParam, type AuthService } from '../auth';

export interface SeedRouteDeps {
  auth: AuthService;
  seeds: SeedRepository;
  lifecycles: SeedLifecycleStarter;
  temporalUiUrl: string;
  temporalNamespace: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerSeedRoutes(app: FastifyInstance, deps: SeedRouteDeps): void {
  const uiUrl = (workflowId: string) => `${deps.temporalUiUrl}/namespaces/${encodeURIComponent(deps.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;

  const view = (r: SeedReservation, seed: Seed | null) => ({
    seedId: r.seedId,
    keyring: r.keyring,
    version: r.version,
    state: seed?.state ?? 'requested',
    kcv: seed?.kcv ?? null,
    stateReason: seed?.stateReason ?? null,
    requestedAt: r.createdAt.toISOString(),
    activatedAt: seed?.activatedAt?.toISOString() ?? null,
    deactivatedAt: seed?.deactivatedAt?.toISOString() ?? null,
    destroyedAt: seed?.destroyedAt?.toISOString() ?? null,
    workflowId: r.workflowId,
    statusUrl: `/v1/seeds/${r.seedId}`,
    temporalUiUrl: uiUrl(r.workflowId),
  });

  // Seeds are key material: every seed endpoint needs `admin` on the keyring concerned,
  // checked on request, before the body is read.
  const adminOfRouteKeyring = { onRequest: deps.auth.requireScope('admin', keyringParam) };

  app.post<{ Params: { keyring: string } }>('/v1/keyrings/:keyring/seeds', adminOfRouteKeyring, async (req, reply) => {
    const keyring = assertKeyringName(req.params.keyring);
    assertEmptyObject(req.body);
    const idempotencyKey = readIdempotencyKey(req.headers['idempotency-key']);

    const reservation = await deps.seeds.reserveSeed(keyring, idempotencyKey);
    // Also on a replay: if the first request died between reserving and starting, this starts it.
    await deps.lifecycles.start(reservation);
    const seed = reservation.created ? null : await deps.seeds.getSeed(reservation.seedId);
    if (!reservation.created) void reply.header('idempotent-replayed', 'true');
    return accepted(reply, view(reservation, seed));
  });

  app.get<{ Params: { id: string } }>('/v1/seeds/:id', { onRequest: deps.auth.requireScope('admin') }, async (req) => {
    if (!UUID.test(req.params.id)) throw new InvalidInputError('invalid_seed_id', 'Seed ids are UUIDs.');
    const reservation = await deps.seeds.findReservation(req.params.id);
    if (!reservation) throw new NotFoundError('seed_not_found', `No seed ${req.params.id}.`);
    // The keyring is known only now: an admin of other keyrings gets a 403 (audited).
    await deps.auth.requireKeyring(req, 'admin', reservation.keyring);
    const [seed, history, workflowStatus] = await Promise.all([
      deps.seeds.getSeed(reservation.seedId),
      deps.seeds.listAudit(reservation.seedId),
      deps.lifecycles.status(reservation.workflowId).catch(() => null),
    ]);
    return { ...view(reservation, seed), workflowStatus, history: history.map(historyEntry) };
  });

  app.get<{ Params: { keyring: string } }>('/v1/keyrings/:keyring/seeds', adminOfRouteKeyring, async (req) => {
    const keyring = assertKeyringName(req.params.keyring);
    if (!(await deps.seeds.keyringExists(keyring))) throw new NotFoundError('keyring_not_found', `No keyring ${keyring}.`);
    const [reservations, seeds] = await Promise.all([deps.seeds.listReservations(keyring), deps.seeds.listSeeds(keyring)]);
    const byId = new Map(seeds.map((s) => [s.seedId, s]));
    const items = reservations.map((r) => view(r, byId.get(r.seedId) ?? null));
    const active = items.find((s) => s.state === 'active');
    return { keyring, activeVersion: active?.version ?? null, seeds: items };
  });
}

function accepted(reply: FastifyReply, body: { statusUrl: string }): FastifyReply {
  return reply.code(202).header('location', body.statusUrl).send(body);
}

function historyEntry(e: SeedAuditRecord) {
  return { type: e.type, actor: e.actor, at: e.createdAt.toISOString(), detail: e.detail };
}

/** The creation request takes no options yet: an absent body or {} only, so typos are not silently ignored. */
function assertEmptyObject(body: unknown): void {
  if (body === undefined) return;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError('invalid_body', 'The body must be a JSON object.');
  const unknown = Object.keys(body);
  if (unknown.length > 0) throw new InvalidInputError('unknown_fields', `Unknown field(s): ${unknown.slice(0, 10).join(', ')}. This request takes no fields.`);
}

function readIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (Array.isArray(header) || !IDEMPOTENCY_KEY.test(header)) {
    throw new InvalidInputError('invalid_idempotency_key', 'Idempotency-Key must be one header of 1-128 characters from A-Z a-z 0-9 . _ : -');
  }
  return header;
}
