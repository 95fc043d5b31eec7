import path from 'node:path';
import { defineConfig } from 'prisma/config';

// DATABASE_URL must reach the primary (read-write). The local default matches scripts/stack.
// Migrate commands run through scripts/prisma/migrate.sh (offline wasm schema engine, see
// docs/MIGRATIONS.md). `migrate dev`/`diff` create and drop a temporary shadow database on the
// same server (the role needs CREATEDB); set SHADOW_DATABASE_URL to use a fixed, disposable one
// instead (it is emptied before every use).
const shadowDatabaseUrl = process.env.SHADOW_DATABASE_URL;

export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://saludtech:saludtech-local@127.0.0.1:15432/saludtech',
    ...(shadowDatabaseUrl ? { shadowDatabaseUrl } : {}),
  },
});
