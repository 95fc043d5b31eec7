import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client';

export type Db = PrismaClient;

/**
 * The client talks to the primary only (node-postgres has no multi-host URLs):
 * in production DATABASE_URL points at HAProxy/Patroni's primary endpoint.
 */
export function createPrismaClient(connectionString: string, poolSize: number): Db {
  const adapter = new PrismaPg({ connectionString, max: poolSize, connectionTimeoutMillis: 5_000 });
  return new PrismaClient({ adapter });
}
