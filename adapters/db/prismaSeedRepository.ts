import { randomUUID } from 'node:crypto';
import { Prisma } from '../../generated/prisma/client';
import type { Seed as SeedRow, SeedEvent as SeedEventRow } from '../../generated/prisma/client';
import type { Db } from './prismaClient';
import { ConflictError } from '../../domain/errors';
import { assertTransition, seedWorkflowId, SeedState, type Seed, type SeedRef } from '../../domain/seed';
import type { ActivationResult, SeedAuditEntry, SeedAuditRecord, SeedRepository, SeedReservation } from '../../domain/ports';

type Tx = Prisma.TransactionClient;

export class PrismaSeedRepository implements SeedRepository {
  constructor(
    private readonly db: Db,
    private readonly actor: string,
  ) {}

  async reserveSeed(keyring: string, idempotencyKey: string | null): Promise<SeedReservation> {
    if (idempotencyKey) {
      const replay = await this.findByIdempotencyKey(keyring, idempotencyKey);
      if (replay) return replay;
    }
    try {
      return await this.db.$transaction(async (tx) => {
        // The upsert locks the keyring row, so concurrent requests get distinct versions.
        const ring = await tx.keyring.upsert({
          where: { name: keyring },
          create: { name: keyring, nextVersion: 2 },
          update: { nextVersion: { increment: 1 } },
        });
        const version = ring.nextVersion - 1;
        const row = await tx.seedRequest.create({
          data: { id: randomUUID(), keyringName: keyring, version, workflowId: seedWorkflowId(keyring, version), idempotencyKey },
        });
        await this.audit(tx, { seedId: row.id, keyring, type: 'SeedRequested', actor: this.actor, detail: { version }, dedupeKey: `SeedRequested:${row.id}` });
        return { seedId: row.id, keyring, version, workflowId: row.workflowId, createdAt: row.createdAt, created: true };
      });
    } catch (err) {
      // Two concurrent requests with one idempotency key: the loser replays the winner.
      if (idempotencyKey && isUniqueViolation(err)) {
        const replay = await this.findByIdempotencyKey(keyring, idempotencyKey);
        if (replay) return replay;
      }
      throw err;
    }
  }

  async findReservation(seedId: string): Promise<(SeedReservation & { created: false }) | null> {
    const row = await this.db.seedRequest.findUnique({ where: { id: seedId } });
    return row ? { seedId: row.id, keyring: row.keyringName, version: row.version, workflowId: row.workflowId, createdAt: row.createdAt, created: false } : null;
  }

  async listReservations(keyring: string): Promise<SeedReservation[]> {
    const rows = await this.db.seedRequest.findMany({ where: { keyringName: keyring }, orderBy: { version: 'asc' } });
    return rows.map((row) => ({ seedId: row.id, keyring, version: row.version, workflowId: row.workflowId, createdAt: row.createdAt, created: false }));
  }

  async keyringExists(keyring: string): Promise<boolean> {
    return (await this.db.keyring.count({ where: { name: keyring } })) > 0;
  }

  async recordPreActive(ref: SeedRef, hsmLabel: string, kcv: string): Promise<Seed> {
    return this.db.$transaction(async (tx) => {
      const existing = await tx.seed.findUnique({ where: { id: ref.seedId } });
      if (existing) {
        if (existing.hsmLabel !== hsmLabel || existing.kcv !== kcv) {
          throw new ConflictError('seed_mismatch', `Seed ${ref.seedId} is already recorded with another HSM key.`);
        }
        return toSeed(existing);
      }
      const row = await tx.seed.create({
        data: { id: ref.seedId, keyringName: ref.keyring, version: ref.version, state: SeedState.PreActive, hsmLabel, kcv },
      });
      await this.audit(tx, { ...auditRef(ref), type: 'SeedGenerated', actor: this.actor, detail: { kcv, hsmLabel }, dedupeKey: `SeedGenerated:${ref.seedId}` });
      return toSeed(row);
    });
  }

  async activate(ref: SeedRef): Promise<ActivationResult> {
    return this.db.$transaction(async (tx) => {
      // Serialise activations per keyring: the partial unique index also guards this.
      await tx.$queryRaw`SELECT name FROM keyrings WHERE name = ${ref.keyring} FOR UPDATE`;
      const seed = await tx.seed.findUnique({ where: { id: ref.seedId } });
      if (!seed) throw new ConflictError('seed_not_recorded', `Seed ${ref.seedId} has not been recorded yet.`);
      if (seed.state === SeedState.Active) {
        const done = await tx.seedEvent.findUnique({ where: { dedupeKey: `SeedActivated:${ref.seedId}` } });
        const deactivated = ((done?.detail as { deactivated?: SeedRef[] } | null)?.deactivated ?? []) as SeedRef[];
        return { seed: toSeed(seed), deactivated };
      }
      assertTransition(seed.state, SeedState.Active);
      const newer = await tx.seed.findFirst({ where: { keyringName: ref.keyring, state: SeedState.Active, version: { gt: ref.version } } });
      if (newer) {
        throw new ConflictError('seed_superseded', `Version ${newer.version} of keyring ${ref.keyring} is already active; version ${ref.version} will not be activated.`);
      }
      const now = new Date();
      const previous = await tx.seed.findMany({ where: { keyringName: ref.keyring, state: SeedState.Active } });
      const deactivated: SeedRef[] = [];
      for (const old of previous) {
        assertTransition(old.state, SeedState.Deactivated);
        await tx.seed.update({ where: { id: old.id }, data: { state: SeedState.Deactivated, deactivatedAt: now, stateReason: `superseded by v${ref.version}` } });
        const oldRef = { seedId: old.id, keyring: old.keyringName, version: old.version };
        deactivated.push(oldRef);
        await this.audit(tx, { ...auditRef(oldRef), type: 'SeedDeactivated', actor: this.actor, detail: { supersededBy: ref.seedId }, dedupeKey: `SeedDeactivated:${old.id}` });
      }
      const row = await tx.seed.update({ where: { id: ref.seedId }, data: { state: SeedState.Active, activatedAt: now, stateReason: null } });
      await this.audit(tx, { ...auditRef(ref), type: 'SeedActivated', actor: this.actor, detail: { deactivated }, dedupeKey: `SeedActivated:${ref.seedId}` });
      return { seed: toSeed(row), deactivated };
    });
  }

  async markDestroyed(ref: SeedRef, reason: string): Promise<Seed | null> {
    return this.db.$transaction(async (tx) => {
      // Same lock as activate(): a late compensation and an activation never interleave.
      await tx.$queryRaw`SELECT name FROM keyrings WHERE name = ${ref.keyring} FOR UPDATE`;
      const seed = await tx.seed.findUnique({ where: { id: ref.seedId } });
      await this.audit(tx, { ...auditRef(ref), type: 'SeedDestroyed', actor: this.actor, detail: { reason }, dedupeKey: `SeedDestroyed:${ref.seedId}` });
      if (!seed) return null; // the key was never recorded; the audit entry says what happened
      if (seed.state === SeedState.Destroyed) return toSeed(seed);
      assertTransition(seed.state, SeedState.Destroyed);
      const row = await tx.seed.update({ where: { id: ref.seedId }, data: { state: SeedState.Destroyed, destroyedAt: new Date(), stateReason: reason } });
      return toSeed(row);
    });
  }

  async getSeed(seedId: string): Promise<Seed | null> {
    const row = await this.db.seed.findUnique({ where: { id: seedId } });
    return row ? toSeed(row) : null;
  }

  async listSeeds(keyring: string): Promise<Seed[]> {
    const rows = await this.db.seed.findMany({ where: { keyringName: keyring }, orderBy: { version: 'asc' } });
    return rows.map(toSeed);
  }

  async appendAudit(entry: SeedAuditEntry): Promise<boolean> {
    return this.audit(this.db, entry);
  }

  async listAudit(seedId: string): Promise<SeedAuditRecord[]> {
    const rows = await this.db.seedEvent.findMany({ where: { seedId }, orderBy: { id: 'asc' } });
    return rows.map(toAuditRecord);
  }

  private async findByIdempotencyKey(keyring: string, idempotencyKey: string): Promise<SeedReservation | null> {
    const row = await this.db.seedRequest.findUnique({ where: { keyringName_idempotencyKey: { keyringName: keyring, idempotencyKey } } });
    return row ? { seedId: row.id, keyring, version: row.version, workflowId: row.workflowId, createdAt: row.createdAt, created: false } : null;
  }

  private async audit(tx: Tx | Db, entry: SeedAuditEntry): Promise<boolean> {
    const { count } = await tx.seedEvent.createMany({
      data: [{ seedId: entry.seedId, keyringName: entry.keyring, type: entry.type, actor: entry.actor, detail: (entry.detail ?? {}) as Prisma.InputJsonValue, dedupeKey: entry.dedupeKey }],
      skipDuplicates: true,
    });
    return count === 1;
  }
}

function auditRef(ref: SeedRef): { seedId: string; keyring: string } {
  return { seedId: ref.seedId, keyring: ref.keyring };
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}

function toSeed(row: SeedRow): Seed {
  return {
    seedId: row.id,
    keyring: row.keyringName,
    version: row.version,
    state: row.state,
    hsmLabel: row.hsmLabel,
    kcv: row.kcv,
    stateReason: row.stateReason,
    createdAt: row.createdAt,
    activatedAt: row.activatedAt,
    deactivatedAt: row.deactivatedAt,
    destroyedAt: row.destroyedAt,
  };
}

function toAuditRecord(row: SeedEventRow): SeedAuditRecord {
  return {
    id: row.id.toString(),
    seedId: row.seedId,
    keyring: row.keyringName,
    type: row.type,
    actor: row.actor,
    detail: (row.detail ?? {}) as Record<string, unknown>,
    createdAt: row.createdAt,
  };
}
