// npm test: every node:test file under tests/ (one at a time: 2 cores, shared Postgres),
// then the browser tests when there are any.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, suffix, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) find(p, suffix, out);
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

const only = process.argv.slice(2);
const unit = find('tests', '.test.ts').filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
let failed = false;
if (unit.length) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...unit], { stdio: 'inherit' });
  failed ||= r.status !== 0;
}
const e2e = find('tests/e2e', '.spec.ts');
if (e2e.length && only.length === 0) {
  const r = spawnSync('npx', ['playwright', 'test', '-c', 'tests/e2e/playwright.config.ts'], { stdio: 'inherit' });
  failed ||= r.status !== 0;
}
process.exit(failed ? 1 : 0);
