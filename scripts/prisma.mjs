// `npm run prisma -- <args>`: the Prisma CLI, with the wasm schema engine standing in for the
// native binary where that binary was not (or could not be) downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));

export function prismaEnv(env = process.env) {
  if (env.PRISMA_SCHEMA_ENGINE_BINARY) return env;
  const enginesDir = dirname(require.resolve('@prisma/engines/package.json'));
  const hasNativeEngine = readdirSync(enginesDir).some((f) => f.startsWith('schema-engine-'));
  if (hasNativeEngine) return env;
  return { ...env, PRISMA_SCHEMA_ENGINE_BINARY: join(root, 'packages/db/bin/schema-engine-wasm.mjs') };
}

export function runPrisma(args, options = {}) {
  const cli = require.resolve('prisma/build/index.js');
  return spawnSync(process.execPath, [cli, ...args], {
    cwd: root,
    stdio: 'inherit',
    ...options,
    env: prismaEnv(options.env ?? process.env),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  // `postinstall` calls `generate`; skip quietly when Prisma itself is not installed (e.g.
  // `npm ci --omit=dev` in an image that does not need the CLI).
  if (!existsSync(join(root, 'node_modules/prisma/build/index.js'))) {
    console.error('prisma is not installed; skipping `prisma ' + args.join(' ') + '`');
    process.exit(args[0] === 'generate' ? 0 : 1);
  }
  const r = runPrisma(args);
  process.exit(r.status ?? 1);
}
