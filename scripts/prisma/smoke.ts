// Smoke test of the generated client against a migrated database:
//   DATABASE_URL=… npx tsx scripts/prisma/smoke.ts
// Inserts a throw-away Keyring, reads it back, then deletes it.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client';

async function main(): Promise<void> {
  const connectionString =
    process.env.DATABASE_URL ?? 'postgresql://saludtech:saludtech-local@127.0.0.1:15432/saludtech';
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString }) });
  const name = `smoke-${randomUUID()}`;
  try {
    await prisma.keyring.create({ data: { name } });
    const found = await prisma.keyring.findUnique({ where: { name } });
    if (!found || found.name !== name || found.nextVersion !== 1) {
      throw new Error(`unexpected read-back: ${JSON.stringify(found)}`);
    }
    console.log(`ok: keyring ${found.name} (nextVersion=${found.nextVersion}, createdAt=${found.createdAt.toISOString()})`);
  } finally {
    await prisma.keyring.deleteMany({ where: { name } });
    await prisma.$disconnect();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
