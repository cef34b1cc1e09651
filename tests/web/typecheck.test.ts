// apps/web is left out of the root tsconfig (Next's JSX and paths); without this only `next build`
// would type-check it. tsc on its own tsconfig takes about 5 s warm, 11 s cold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('apps/web type-checks (tsc --noEmit -p apps/web)', () => {
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'apps/web/tsconfig.json'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
