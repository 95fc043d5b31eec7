import { randomUUID } from 'node:crypto';
import { createPrismaClient, type Db } from '../../adapters/db/prismaClient';
import { PrismaSeedRepository } from '../../adapters/db/prismaSeedRepository';
import { loadConfig } from '../../config/env';
import { uniqueKeyring } from '../support/services';

describe('Prisma seed repository (PostgreSQL primary)', () => {
  let db: Db;
  let repo: PrismaSeedRepository;

  beforeAll(() => {
    db = createPrismaClient(loadConfig().DATABASE_URL, 10);
    repo = new PrismaSeedRepository(db, 'test');
  });
  afterAll(async () => {
    await db.$disconnect();
  });

  async function recordedSeed(keyring: string) {
    const r = await repo.reserveSeed(keyring, null);
    await repo.recordPreActive(r, `seed:${keyring}:v${r.version}:${r.seedId}`, randomUUID().slice(0, 6).replace(/-/g, 'a'));
    return r;
  }

  it('gives ten concurrent reservations of one keyring ten distinct consecutive versions', async () => {
    const keyring = uniqueKeyring('repo');
    const all = await Promise.all(Array.from({ length: 10 }, () => repo.reserveSeed(keyring, null)));
    expect(all.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(all.map((r) => r.workflowId)).size).toBe(10);
  });

  it('collapses concurrent reservations with one idempotency key into one', async () => {
    const keyring = uniqueKeyring('repo');
    const all = await Promise.all(Array.from({ length: 5 }, () => repo.reserveSeed(keyring, 'same-key')));
    expect(new Set(all.map((r) => r.seedId)).size).toBe(1);
    expect(all.filter((r) => r.created)).toHaveLength(1);
    expect(await repo.listReservations(keyring)).toHaveLength(1);
  });

  it('deactivates the previous version when v2 becomes active, and re-activating is a no-op', async () => {
    const keyring = uniqueKeyring('repo');
    const v1 = await recordedSeed(keyring);
    const v2 = await recordedSeed(keyring);
    expect((await repo.activate(v1)).deactivated).toEqual([]);
    const second = await repo.activate(v2);
    expect(second.deactivated).toEqual([{ seedId: v1.seedId, keyring, version: 1 }]);
    expect((await repo.activate(v2)).deactivated).toEqual(second.deactivated);
    const states = (await repo.listSeeds(keyring)).map((s) => [s.version, s.state]);
    expect(states).toEqual([
      [1, 'deactivated'],
      [2, 'active'],
    ]);
  });

  it('refuses to activate an older version once a newer one is active', async () => {
    const keyring = uniqueKeyring('repo');
    const v1 = await recordedSeed(keyring);
    const v2 = await recordedSeed(keyring);
    await repo.activate(v2);
    await expect(repo.activate(v1)).rejects.toMatchObject({ code: 'seed_superseded' });
  });

  it('refuses to mark an active seed destroyed', async () => {
    const keyring = uniqueKeyring('repo');
    const v1 = await recordedSeed(keyring);
    await repo.activate(v1);
    await expect(repo.markDestroyed(v1, 'test')).rejects.toMatchObject({ name: 'IllegalSeedTransitionError' });
    expect((await repo.getSeed(v1.seedId))?.state).toBe('active');
  });

  it('lets the database itself refuse a second active seed in a keyring', async () => {
    const keyring = uniqueKeyring('repo');
    const v1 = await recordedSeed(keyring);
    const v2 = await recordedSeed(keyring);
    await repo.activate(v1);
    await expect(db.seed.update({ where: { id: v2.seedId }, data: { state: 'active' } })).rejects.toThrow(/Unique constraint|seeds_one_active_per_keyring/);
  });

  it('keeps the audit log append-only and writes each dedupe key once', async () => {
    const keyring = uniqueKeyring('repo');
    const r = await repo.reserveSeed(keyring, null);
    const entry = { seedId: r.seedId, keyring, type: 'Probe', actor: 'test', dedupeKey: `Probe:${r.seedId}` };
    expect(await repo.appendAudit(entry)).toBe(true);
    expect(await repo.appendAudit(entry)).toBe(false);
    await expect(db.$executeRaw`UPDATE seed_events SET actor = 'x' WHERE seed_id = ${r.seedId}::uuid`).rejects.toThrow(/append-only/);
    await expect(db.$executeRaw`DELETE FROM seed_events WHERE seed_id = ${r.seedId}::uuid`).rejects.toThrow(/append-only/);
    expect((await repo.listAudit(r.seedId)).map((e) => e.type)).toEqual(['SeedRequested', 'Probe']);
  });
});
