import { ConflictError, IllegalSeedTransitionError } from '../../../domain/errors';
import { SeedState, type SeedRef } from '../../../domain/seed';
import { InMemorySeedRepository } from '../../support/fakes';

/**
 * The unit tests lean on this fake, so it is held to the rules of
 * adapters/db/prismaSeedRepository.ts; the integration tests hold the real one to them.
 */
const ref = (r: SeedRef): SeedRef => ({ seedId: r.seedId, keyring: r.keyring, version: r.version });

async function recorded(repo: InMemorySeedRepository, keyring = 'patients'): Promise<SeedRef> {
  const r = ref(await repo.reserveSeed(keyring, null));
  await repo.recordPreActive(r, `label-${r.seedId}`, 'a1b2c3');
  return r;
}

describe('InMemorySeedRepository (test double of the Prisma repository)', () => {
  it('allocates versions per keyring, starting at 1', async () => {
    const repo = new InMemorySeedRepository();
    const versions = [];
    for (const k of ['patients', 'patients', 'labs', 'patients']) versions.push((await repo.reserveSeed(k, null)).version);
    expect(versions).toEqual([1, 2, 1, 3]);
    expect(await repo.keyringExists('labs')).toBe(true);
    expect(await repo.keyringExists('other')).toBe(false);
  });

  it('replays a reservation for a repeated idempotency key', async () => {
    const repo = new InMemorySeedRepository();
    const first = await repo.reserveSeed('patients', 'k');
    const replay = await repo.reserveSeed('patients', 'k');
    expect(first.created).toBe(true);
    expect(replay).toEqual({ ...first, created: false });
    expect(await repo.listReservations('patients')).toHaveLength(1);
  });

  it('records pre_active idempotently and refuses another key for the same seed', async () => {
    const repo = new InMemorySeedRepository();
    const r = await recorded(repo);
    await expect(repo.recordPreActive(r, `label-${r.seedId}`, 'a1b2c3')).resolves.toMatchObject({ state: SeedState.PreActive });
    await expect(repo.recordPreActive(r, 'other-label', 'a1b2c3')).rejects.toThrow(ConflictError);
  });

  it('refuses to activate a seed that was never recorded', async () => {
    const repo = new InMemorySeedRepository();
    const r = ref(await repo.reserveSeed('patients', null));
    await expect(repo.activate(r)).rejects.toMatchObject({ name: 'ConflictError', code: 'seed_not_recorded' });
  });

  it('deactivates the previous version when v2 becomes active and records both in the audit log', async () => {
    const repo = new InMemorySeedRepository();
    const v1 = await recorded(repo);
    const v2 = await recorded(repo);
    await repo.activate(v1);
    const { seed, deactivated } = await repo.activate(v2);
    expect(seed.state).toBe(SeedState.Active);
    expect(deactivated).toEqual([v1]);
    expect(await repo.getSeed(v1.seedId)).toMatchObject({ state: SeedState.Deactivated, stateReason: 'superseded by v2' });
    expect((await repo.listAudit(v1.seedId)).map((e) => e.type)).toContain('SeedDeactivated');
    expect((await repo.listActive()).map((s) => s.seedId)).toEqual([v2.seedId]);
  });

  it('refuses a lower version while a higher one is active', async () => {
    const repo = new InMemorySeedRepository();
    const v1 = await recorded(repo);
    const v2 = await recorded(repo);
    await repo.activate(v2);
    await expect(repo.activate(v1)).rejects.toMatchObject({ name: 'ConflictError', code: 'seed_superseded' });
    expect((await repo.getSeed(v1.seedId))?.state).toBe(SeedState.PreActive);
  });

  it('refuses through the transition table to destroy an active seed, and writes no audit entry', async () => {
    const repo = new InMemorySeedRepository();
    const v1 = await recorded(repo);
    await repo.activate(v1);
    await expect(repo.markDestroyed(v1, 'x')).rejects.toThrow(IllegalSeedTransitionError);
    expect((await repo.listAudit(v1.seedId)).map((e) => e.type)).not.toContain('SeedDestroyed');
  });

  it('audits the destruction of a seed that was never recorded and returns null', async () => {
    const repo = new InMemorySeedRepository();
    const r = ref(await repo.reserveSeed('patients', null));
    expect(await repo.markDestroyed(r, 'generation failed')).toBeNull();
    expect((await repo.listAudit(r.seedId)).map((e) => e.type)).toEqual(['SeedRequested', 'SeedDestroyed']);
  });

  it('writes an audit entry at most once per dedupe key', async () => {
    const repo = new InMemorySeedRepository();
    const entry = { seedId: 's', keyring: 'patients', type: 'SeedAccepted', actor: 'a', dedupeKey: 'SeedVerdict:s' };
    expect(await repo.appendAudit(entry)).toBe(true);
    expect(await repo.appendAudit({ ...entry, type: 'SeedRejected' })).toBe(false);
    expect((await repo.listAudit('s')).map((e) => e.type)).toEqual(['SeedAccepted']);
  });
});
