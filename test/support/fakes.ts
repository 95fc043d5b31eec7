import { createHash, randomUUID } from 'node:crypto';
import pino from 'pino';
import { ConflictError } from '../../domain/errors';
import { decodeSeedEvent, encodeSeedEvent, type SeedEvent } from '../../domain/events';
import type {
  ActivationResult,
  HsmKeyInfo,
  HsmPort,
  SeedAuditEntry,
  SeedAuditRecord,
  SeedEventPublisher,
  SeedRepository,
  SeedReservation,
} from '../../domain/ports';
import { assertTransition, seedWorkflowId, SeedState, type Seed, type SeedRef } from '../../domain/seed';
import type { SeedLifecycleStarter, SeedVerdictSink } from '../../domain/workflowPorts';
import type { Logger } from '../../config/logger';
import type { AccessAudit, AccessEvent, ApiKeyRecord, ApiKeyStore, NewApiKeyRecord } from '../../domain/accessPorts';
import { createAuth, type AuthService } from '../../api/auth';
import type { FastifyInstance } from 'fastify';
import { buildApi, type ApiDeps } from '../../api/server';

/**
 * In-memory stand-ins for the ports in domain/. They follow the same rules as
 * the real adapters (adapters/db/prismaSeedRepository.ts, adapters/hsm/…) so
 * unit tests exercise the real decision logic, only without I/O.
 */

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

type StoredReservation = Omit<SeedReservation, 'created'> & { idempotencyKey: string | null };

/** Mirrors PrismaSeedRepository: per-keyring versions, idempotency replay, NIST transitions, deduped audit. */
export class InMemorySeedRepository implements SeedRepository {
  private readonly nextVersion = new Map<string, number>();
  private readonly reservations = new Map<string, StoredReservation>();
  private readonly seeds = new Map<string, Seed>();
  private readonly audit: (SeedAuditRecord & { dedupeKey: string })[] = [];
  private auditSeq = 0;

  constructor(
    private readonly actor = 'test',
    private readonly now: () => Date = () => new Date(),
  ) {}

  async reserveSeed(keyring: string, idempotencyKey: string | null): Promise<SeedReservation> {
    if (idempotencyKey) {
      const replay = [...this.reservations.values()].find((r) => r.keyring === keyring && r.idempotencyKey === idempotencyKey);
      if (replay) return toReservation(replay, false);
    }
    const version = this.nextVersion.get(keyring) ?? 1;
    this.nextVersion.set(keyring, version + 1);
    const stored: StoredReservation = { seedId: randomUUID(), keyring, version, workflowId: seedWorkflowId(keyring, version), createdAt: this.now(), idempotencyKey };
    this.reservations.set(stored.seedId, stored);
    this.write({ seedId: stored.seedId, keyring, type: 'SeedRequested', actor: this.actor, detail: { version }, dedupeKey: `SeedRequested:${stored.seedId}` });
    return toReservation(stored, true);
  }

  async findReservation(seedId: string): Promise<(SeedReservation & { created: false }) | null> {
    const r = this.reservations.get(seedId);
    return r ? toReservation(r, false) : null;
  }

  async listReservations(keyring: string): Promise<SeedReservation[]> {
    return [...this.reservations.values()].filter((r) => r.keyring === keyring).sort((a, b) => a.version - b.version).map((r) => toReservation(r, false));
  }

  async keyringExists(keyring: string): Promise<boolean> {
    return this.nextVersion.has(keyring);
  }

  async recordPreActive(ref: SeedRef, hsmLabel: string, kcv: string): Promise<Seed> {
    const existing = this.seeds.get(ref.seedId);
    if (existing) {
      if (existing.hsmLabel !== hsmLabel || existing.kcv !== kcv) {
        throw new ConflictError('seed_mismatch', `Seed ${ref.seedId} is already recorded with another HSM key.`);
      }
      return { ...existing };
    }
    const seed: Seed = {
      ...pickRef(ref),
      state: SeedState.PreActive,
      hsmLabel,
      kcv,
      stateReason: null,
      createdAt: this.now(),
      activatedAt: null,
      deactivatedAt: null,
      destroyedAt: null,
    };
    this.seeds.set(ref.seedId, seed);
    this.write({ ...auditRef(ref), type: 'SeedGenerated', actor: this.actor, detail: { kcv, hsmLabel }, dedupeKey: `SeedGenerated:${ref.seedId}` });
    return { ...seed };
  }

  async activate(ref: SeedRef): Promise<ActivationResult> {
    const seed = this.seeds.get(ref.seedId);
    if (!seed) throw new ConflictError('seed_not_recorded', `Seed ${ref.seedId} has not been recorded yet.`);
    if (seed.state === SeedState.Active) {
      const done = this.audit.find((e) => e.dedupeKey === `SeedActivated:${ref.seedId}`);
      return { seed: { ...seed }, deactivated: (done?.detail.deactivated as SeedRef[] | undefined) ?? [] };
    }
    assertTransition(seed.state, SeedState.Active);
    const active = [...this.seeds.values()].filter((s) => s.keyring === ref.keyring && s.state === SeedState.Active);
    const newer = active.find((s) => s.version > ref.version);
    if (newer) {
      throw new ConflictError('seed_superseded', `Version ${newer.version} of keyring ${ref.keyring} is already active; version ${ref.version} will not be activated.`);
    }
    // Validate every transition before changing anything: the real one is a transaction.
    for (const old of active) assertTransition(old.state, SeedState.Deactivated);
    const now = this.now();
    const deactivated: SeedRef[] = [];
    for (const old of active) {
      Object.assign(old, { state: SeedState.Deactivated, deactivatedAt: now, stateReason: `superseded by v${ref.version}` });
      const oldRef = pickRef(old);
      deactivated.push(oldRef);
      this.write({ ...auditRef(oldRef), type: 'SeedDeactivated', actor: this.actor, detail: { supersededBy: ref.seedId }, dedupeKey: `SeedDeactivated:${old.seedId}` });
    }
    Object.assign(seed, { state: SeedState.Active, activatedAt: now, stateReason: null });
    this.write({ ...auditRef(ref), type: 'SeedActivated', actor: this.actor, detail: { deactivated }, dedupeKey: `SeedActivated:${ref.seedId}` });
    return { seed: { ...seed }, deactivated };
  }

  async markDestroyed(ref: SeedRef, reason: string): Promise<Seed | null> {
    const seed = this.seeds.get(ref.seedId);
    // The real repository audits inside its transaction: a refused transition rolls the entry back.
    if (seed && seed.state !== SeedState.Destroyed) assertTransition(seed.state, SeedState.Destroyed);
    this.write({ ...auditRef(ref), type: 'SeedDestroyed', actor: this.actor, detail: { reason }, dedupeKey: `SeedDestroyed:${ref.seedId}` });
    if (!seed) return null; // never recorded; the audit entry says what happened
    if (seed.state === SeedState.Destroyed) return { ...seed };
    Object.assign(seed, { state: SeedState.Destroyed, destroyedAt: this.now(), stateReason: reason });
    return { ...seed };
  }

  async getSeed(seedId: string): Promise<Seed | null> {
    const seed = this.seeds.get(seedId);
    return seed ? { ...seed } : null;
  }

  async listSeeds(keyring: string): Promise<Seed[]> {
    return [...this.seeds.values()].filter((s) => s.keyring === keyring).sort((a, b) => a.version - b.version).map((s) => ({ ...s }));
  }

  /** Test helper (not part of the SeedRepository port). */
  async listActive(): Promise<Seed[]> {
    return [...this.seeds.values()].filter((s) => s.state === SeedState.Active).map((s) => ({ ...s }));
  }

  async appendAudit(entry: SeedAuditEntry): Promise<boolean> {
    return this.write(entry);
  }

  async listAudit(seedId: string): Promise<SeedAuditRecord[]> {
    return this.audit.filter((e) => e.seedId === seedId).map(({ dedupeKey: _dedupeKey, ...record }) => ({ ...record }));
  }

  /** Test inspection: every reservation ever made, in any keyring. */
  reservationCount(): number {
    return this.reservations.size;
  }

  private write(entry: SeedAuditEntry): boolean {
    if (this.audit.some((e) => e.dedupeKey === entry.dedupeKey)) return false;
    this.audit.push({
      id: String(++this.auditSeq),
      seedId: entry.seedId,
      keyring: entry.keyring,
      type: entry.type,
      actor: entry.actor,
      detail: entry.detail ?? {},
      createdAt: this.now(),
      dedupeKey: entry.dedupeKey,
    });
    return true;
  }
}

function toReservation<C extends boolean>(r: StoredReservation, created: C): SeedReservation & { created: C } {
  return { seedId: r.seedId, keyring: r.keyring, version: r.version, workflowId: r.workflowId, createdAt: r.createdAt, created };
}

function pickRef(ref: SeedRef): SeedRef {
  return { seedId: ref.seedId, keyring: ref.keyring, version: ref.version };
}

function auditRef(ref: SeedRef): { seedId: string; keyring: string } {
  return { seedId: ref.seedId, keyring: ref.keyring };
}

/** KCV the fake HSM reports for a label: deterministic, 6 lower-case hex digits like CKA_CHECK_VALUE. */
export function fakeKcv(label: string): string {
  return createHash('sha256').update(label).digest('hex').slice(0, 6);
}

/** Keys live in a Map; nothing secret is ever produced. */
export class FakeHsm implements HsmPort {
  readonly keys = new Map<string, HsmKeyInfo>();
  generateCalls = 0;
  destroyCalls: string[] = [];
  closed = false;
  /** When set, newly generated keys report extractable (a misconfigured token). */
  reportExtractable = false;

  async generateSeed(label: string): Promise<HsmKeyInfo> {
    this.generateCalls++;
    const existing = this.keys.get(label);
    if (existing) return { ...existing };
    const key: HsmKeyInfo = { label, kcv: fakeKcv(label), sensitive: true, extractable: this.reportExtractable };
    this.keys.set(label, key);
    return { ...key };
  }

  async findSeed(label: string): Promise<HsmKeyInfo | null> {
    const key = this.keys.get(label);
    return key ? { ...key } : null;
  }

  async destroySeed(label: string): Promise<boolean> {
    this.destroyCalls.push(label);
    return this.keys.delete(label);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Test setup: a key whose KCV differs from what anybody announced. */
  putKey(label: string, kcv: string): void {
    this.keys.set(label, { label, kcv, sensitive: true, extractable: false });
  }
}

/**
 * Records published events. Like the Pulsar publisher it encodes each event,
 * so an event that breaks the schema fails here as it would in production.
 */
export class RecordingSeedEventPublisher implements SeedEventPublisher {
  readonly published: SeedEvent[] = [];

  async publish(event: SeedEvent): Promise<{ messageId: string }> {
    this.published.push(decodeSeedEvent(encodeSeedEvent(event)));
    return { messageId: `msg-${this.published.length}` };
  }
}

export type VerdictCall =
  | { kind: 'accepted'; workflowId: string; verdict: { seedId: string; kcv: string; acceptedBy: string } }
  | { kind: 'rejected'; workflowId: string; verdict: { seedId: string; reason: string } };

export class FakeVerdictSink implements SeedVerdictSink {
  readonly calls: VerdictCall[] = [];

  async accepted(workflowId: string, verdict: { seedId: string; kcv: string; acceptedBy: string }): Promise<void> {
    this.calls.push({ kind: 'accepted', workflowId, verdict: { ...verdict } });
  }

  async rejected(workflowId: string, verdict: { seedId: string; reason: string }): Promise<void> {
    this.calls.push({ kind: 'rejected', workflowId, verdict: { ...verdict } });
  }
}

/** Like TemporalSeedLifecycleStarter: one workflow per workflow id; starting it again is a no-op. */
export class FakeLifecycleStarter implements SeedLifecycleStarter {
  /** Every start call, including repeats. */
  readonly startCalls: SeedReservation[] = [];
  readonly running = new Map<string, SeedReservation>();
  /** When set, start throws it (e.g. the workflow engine is unreachable). */
  failWith: Error | null = null;

  async start(reservation: SeedReservation): Promise<void> {
    this.startCalls.push({ ...reservation });
    if (this.failWith) throw this.failWith;
    if (!this.running.has(reservation.workflowId)) this.running.set(reservation.workflowId, { ...reservation });
  }

  async status(workflowId: string): Promise<string | null> {
    return this.running.has(workflowId) ? 'RUNNING' : null;
  }
}

/** Like PrismaApiKeyRepository: unique hashes, idempotent revocation, rate-limited lastUsedAt. */
export class InMemoryApiKeyStore implements ApiKeyStore {
  private readonly keys = new Map<string, ApiKeyRecord & { keyHash: string }>();
  findByHashCalls = 0;
  touchCalls: Array<{ id: string; at: Date }> = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  async create(key: NewApiKeyRecord): Promise<ApiKeyRecord> {
    if ([...this.keys.values()].some((k) => k.keyHash === key.keyHash)) throw new ConflictError('duplicate_key_hash', 'key_hash is unique');
    const stored = { ...key, scopes: [...key.scopes], keyrings: [...key.keyrings], createdAt: this.now(), lastUsedAt: null, revokedAt: null };
    this.keys.set(key.id, stored);
    return publicRecord(stored);
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    this.findByHashCalls++;
    const found = [...this.keys.values()].find((k) => k.keyHash === keyHash);
    return found ? publicRecord(found) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()].map(publicRecord);
  }

  async revoke(id: string, at: Date): Promise<ApiKeyRecord | null> {
    const key = this.keys.get(id);
    if (!key) return null;
    key.revokedAt ??= at;
    return publicRecord(key);
  }

  async touch(id: string, at: Date, minIntervalMs: number): Promise<void> {
    this.touchCalls.push({ id, at });
    const key = this.keys.get(id);
    if (key && (!key.lastUsedAt || key.lastUsedAt.getTime() <= at.getTime() - minIntervalMs)) key.lastUsedAt = at;
  }

  /** Test inspection: what is stored for a key, hash included. */
  stored(id: string): (ApiKeyRecord & { keyHash: string }) | undefined {
    return this.keys.get(id);
  }
}

function publicRecord(k: ApiKeyRecord & { keyHash: string }): ApiKeyRecord {
  const { keyHash: _keyHash, ...record } = k;
  return { ...record, scopes: [...record.scopes], keyrings: [...record.keyrings] };
}

/** Collects access events in memory, as the append-only table would. */
export class InMemoryAccessAudit implements AccessAudit {
  readonly events: AccessEvent[] = [];
  /** When set, writes throw it (the database is down). */
  failWith: Error | null = null;

  async record(event: AccessEvent): Promise<void> {
    await this.recordMany([event]);
  }

  async recordMany(events: AccessEvent[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(...events.map((e) => structuredClone(e)));
  }
}

export const TEST_ADMIN_API_KEY = 'stk_test_admin_key_for_unit_tests';

export interface TestAuth {
  auth: AuthService;
  keys: InMemoryApiKeyStore;
  audit: InMemoryAccessAudit;
  /** Headers of the bootstrap admin. */
  adminHeaders: { authorization: string };
}

/** The real createAuth over in-memory stores, with a known bootstrap admin key. */
export function testAuth(opts: { now?: () => Date; cacheTtlMs?: number } = {}): TestAuth {
  const keys = new InMemoryApiKeyStore(opts.now);
  const audit = new InMemoryAccessAudit();
  const auth = createAuth({ keys, audit, adminApiKey: TEST_ADMIN_API_KEY, logger: silentLogger(), ...opts });
  return { auth, keys, audit, adminHeaders: { authorization: `Bearer ${TEST_ADMIN_API_KEY}` } };
}

/** The API over in-memory fakes, for app.inject tests; `overrides` replace any dependency. */
export function buildTestApi(security: TestAuth, overrides: Partial<ApiDeps> = {}): FastifyInstance {
  return buildApi({
    seeds: new InMemorySeedRepository(),
    lifecycles: new FakeLifecycleStarter(),
    auth: security.auth,
    apiKeys: security.keys,
    audit: security.audit,
    logger: silentLogger(),
    temporalUiUrl: 'http://ui.test',
    temporalNamespace: 'default',
    ...overrides,
  });
}
