// npm test: every node:test file under tests/ (one at a time: 2 cores, shared Postgres),
// then the browser tests, then one summary line over both runners. Arguments filter by path:
// `node scripts/test.mjs tests/api` runs those node:test files only, `tests/e2e/rank.spec.ts`
// (or `tests/e2e`) those browser tests only.
import { spawn } from 'node:child_process';
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

/** Runs a command, echoing its output, and returns its exit code and everything it printed. */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => { text += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { text += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
}

const count = (text, re) => Number(re.exec(text)?.[1] ?? 0);
const only = process.argv.slice(2);
const unit = find('tests', '.test.ts').filter((f) => only.length === 0 || only.some((o) => f.includes(o))).sort();
let passed = 0;
let failed = 0;
let broken = false;

if (unit.length) {
  const r = await run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...unit]);
  passed += count(r.text, /^# pass (\d+)$/m);
  failed += count(r.text, /^# fail (\d+)$/m) + count(r.text, /^# cancelled (\d+)$/m);
  broken ||= r.code !== 0;
}
const e2e = find('tests/e2e', '.spec.ts').filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (e2e.length) {
  const r = await run('npx', ['playwright', 'test', '-c', 'tests/e2e/playwright.config.ts', ...(only.length ? e2e : [])]);
  passed += count(r.text, /^\s*(\d+) passed/m);
  failed += count(r.text, /^\s*(\d+) failed/m);
  broken ||= r.code !== 0;
}
// A runner that crashed before counting still fails the run.
if (broken && failed === 0) failed = 1;
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || broken ? 1 : 0);
