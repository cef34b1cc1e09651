import { defineConfig } from 'prisma/config';

// The CLI (migrate dev/diff/deploy) reads the database from DATABASE_URL; the app itself
// builds its own connection through @prisma/adapter-pg (packages/db).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/jielong' },
});
