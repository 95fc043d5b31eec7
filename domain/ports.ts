import type { Seed, SeedRef, SeedState } from './seed';
import type { SeedEvent } from './events';

/** The only door to key material. Implementations never return secret bytes. */
export interface HsmPort {
  /** Generates a sensitive, non-extractable 256-bit key under `label`; if one exists already, returns it. */
  generateSeed(label: string): Promise<HsmKeyInfo>;
  findSeed(label: string): Promise<HsmKeyInfo | null>;
  /** Destroys the key; resolves false when no such key existed (idempotent). */
  destroySeed(label: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface HsmKeyInfo {
  label: string;
  kcv: string;
  sensitive: boolean;
  extractable: boolean;
}

export interface SeedReservation extends SeedRef {
  workflowId: string;
  createdAt: Date;
  /** False when an earlier request with the same idempotency key is being replayed. */
  created: boolean;
}

export interface SeedAuditEntry {
  seedId: string;
  keyring: string;
  type: string;
  actor: string;
  detail?: Record<string, unknown>;
  /** Same key → the entry is written at most once (retries, redeliveries). */
  dedupeKey: string;
}

export interface SeedAuditRecord extends Omit<SeedAuditEntry, 'dedupeKey'> {
  id: string;
  detail: Record<string, unknown>;
  createdAt: Date;
}

export interface ActivationResult {
  seed: Seed;
  deactivated: SeedRef[];
}

export interface SeedRepository {
  reserveSeed(keyring: string, idempotencyKey: string | null): Promise<SeedReservation>;
  findReservation(seedId: string): Promise<(SeedReservation & { created: false }) | null>;
  listReservations(keyring: string): Promise<SeedReservation[]>;
  keyringExists(keyring: string): Promise<boolean>;
  recordPreActive(ref: SeedRef, hsmLabel: string, kcv: string): Promise<Seed>;
  activate(ref: SeedRef): Promise<ActivationResult>;
  markDestroyed(ref: SeedRef, reason: string): Promise<Seed | null>;
  getSeed(seedId: string): Promise<Seed | null>;
  listSeeds(keyring: string): Promise<Seed[]>;
  /** Resolves true if written now, false if an entry with that dedupeKey existed. */
  appendAudit(entry: SeedAuditEntry): Promise<boolean>;
  listAudit(seedId: string): Promise<SeedAuditRecord[]>;
}

export interface SeedEventPublisher {
  publish(event: SeedEvent): Promise<{ messageId: string }>;
}

export type { SeedState };
