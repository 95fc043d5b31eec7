import { z } from 'zod';
import { KCV_PATTERN } from './seed';

/**
 * Seed events published on Pulsar. They carry ids, version and KCV: never key
 * material. `eventId` is deterministic so a republished event is recognisable.
 */
const uuid = z.string().uuid();
const base = {
  eventId: z.string().min(1).max(200),
  seedId: uuid,
  keyring: z.string().min(1).max(64),
  version: z.number().int().positive(),
  kcv: z.string().regex(KCV_PATTERN),
  occurredAt: z.string().datetime(),
};

export const SeedGeneratedEvent = z
  .object({ type: z.literal('SeedGenerated'), workflowId: z.string().min(1), hsmLabel: z.string().min(1), ...base })
  .strict();
export type SeedGeneratedEvent = z.infer<typeof SeedGeneratedEvent>;

export const SeedActivatedEvent = z
  .object({
    type: z.literal('SeedActivated'),
    ...base,
    deactivated: z.array(z.object({ seedId: uuid, version: z.number().int().positive() }).strict()),
  })
  .strict();
export type SeedActivatedEvent = z.infer<typeof SeedActivatedEvent>;

export const SeedEvent = z.discriminatedUnion('type', [SeedGeneratedEvent, SeedActivatedEvent]);
export type SeedEvent = z.infer<typeof SeedEvent>;

export function seedEventId(type: SeedEvent['type'], seedId: string): string {
  return `${type}:${seedId}`;
}

export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

export function decodeSeedEvent(payload: Buffer): SeedEvent {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new MalformedEventError('Seed event payload is not JSON');
  }
  const parsed = SeedEvent.safeParse(json);
  if (!parsed.success) throw new MalformedEventError(`Seed event does not match its schema: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  return parsed.data;
}

export function encodeSeedEvent(event: SeedEvent): Buffer {
  return Buffer.from(JSON.stringify(SeedEvent.parse(event)), 'utf8');
}
