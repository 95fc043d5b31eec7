import type { ApiKey as ApiKeyRow } from '../../generated/prisma/client';
import type { ApiKeyRecord, ApiKeyStore, NewApiKeyRecord } from '../../domain/accessPorts';
import { SCOPES, type Scope } from '../../domain/auth';
import type { Db } from './prismaClient';

/** API keys in `api_keys`: the SHA-256 hash of the secret, never the secret (domain/apiKeys.ts). */
export class PrismaApiKeyRepository implements ApiKeyStore {
  constructor(private readonly db: Db) {}

  async create(key: NewApiKeyRecord): Promise<ApiKeyRecord> {
    return toRecord(await this.db.apiKey.create({ data: { ...key } }));
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    const row = await this.db.apiKey.findUnique({ where: { keyHash } });
    return row ? toRecord(row) : null;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.apiKey.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    return rows.map(toRecord);
  }

  async revoke(id: string, at: Date): Promise<ApiKeyRecord | null> {
    // Conditional update: a second revocation keeps the first time.
    await this.db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: at } });
    const row = await this.db.apiKey.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  async touch(id: string, at: Date, minIntervalMs: number): Promise<void> {
    const staleBefore = new Date(at.getTime() - minIntervalMs);
    await this.db.apiKey.updateMany({
      where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: staleBefore } }] },
      data: { lastUsedAt: at },
    });
  }
}

function toRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    // A scope this build does not know grants nothing.
    scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    keyrings: [...row.keyrings],
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}
