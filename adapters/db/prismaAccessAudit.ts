import type { Prisma } from '../../generated/prisma/client';
import type { AccessAudit, AccessEvent } from '../../domain/accessPorts';
import type { Db } from './prismaClient';

/** Appends to `access_events`, which a trigger keeps append-only (no UPDATE, DELETE, TRUNCATE). */
export class PrismaAccessAudit implements AccessAudit {
  constructor(private readonly db: Db) {}

  async record(event: AccessEvent): Promise<void> {
    await this.db.accessEvent.create({ data: toRow(event) });
  }

  async recordMany(events: AccessEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.accessEvent.createMany({ data: events.map(toRow) });
  }
}

function toRow(event: AccessEvent): Prisma.AccessEventCreateManyInput {
  return {
    actor: event.actor,
    action: event.action,
    outcome: event.outcome,
    keyringName: event.keyring ?? null,
    token: event.token ?? null,
    purpose: event.purpose ?? null,
    detail: (event.detail ?? {}) as Prisma.InputJsonObject,
  };
}
