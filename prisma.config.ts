import path from 'node:path';
import { defineConfig } from 'prisma/config';

// DATABASE_URL must reach the primary (read-write). The local default matches scripts/stack.
export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://saludtech:saludtech-local@127.0.0.1:55432/saludtech',
  },
});
