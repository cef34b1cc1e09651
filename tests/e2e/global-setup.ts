// Starts the real studio for the browser tests: a fresh database on the shared Postgres, the API
// (tsx apps/api/src/main.ts), a training worker (tsx apps/worker/src/main.ts, same database and
// data folder as the API: it reads the datasets the API froze) and a production build of the web
// app (next build + next start), then writes where they are to a state file the specs read.
// Returns the teardown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmptyDatabase } from '../helpers/db.ts';
import { ADMIN, STATE_FILE, type E2eState } from './state.ts';
import { freePort } from '../helpers/ports.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const webDir = join(root, 'apps/web');
const distDir = '.next-e2e';
const logDir = join(root, 'test-results');

/** Every input of the web build: when none changed (and the API URL is the same) the last build is reused. */
function buildStamp(apiUrl: string): string {
  const hash = createHash('sha256').update(apiUrl);
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name));
    else hash.update(p).update(readFileSync(p));
  };
  for (const p of ['apps/web/src', 'apps/web/next.config.ts', 'apps/web/package.json', 'packages/shared/src', 'package-lock.json']) walk(join(root, p));
  return hash.digest('hex');
}

function start(name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const log = createWriteStream(join(logDir, `e2e-${name}.log`));
  // Own process group, so teardown stops next's helpers too.
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Waits for a line in a child's log (the worker has no HTTP port). */
async function waitForLog(name: string, child: ChildProcess, pattern: RegExp, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  const file = join(logDir, `e2e-${name}.log`);
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see test-results/e2e-${name}.log`);
    if (existsSync(file) && pattern.test(readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not log ${pattern} within ${timeoutMs} ms; see test-results/e2e-${name}.log`);
}

async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}; see test-results/e2e-${name}.log`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not answer at ${url} within ${timeoutMs} ms; see test-results/e2e-${name}.log`);
}

function stop(child: ChildProcess) {
  if (child.exitCode !== null || !child.pid) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      resolve();
    }
  });
}

export default async function globalSetup() {
  mkdirSync(logDir, { recursive: true });
  const db = await createEmptyDatabase('web_e2e');
  const apiPort = await freePort(3911);
  const webPort = await freePort(3910);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'jielong-e2e-'));
  const children: ChildProcess[] = [];

  const teardown = async () => {
    await Promise.all(children.map(stop));
    await db.drop().catch((err) => console.error('e2e: could not drop the test database:', err));
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const api = start('api', ['--import', 'tsx', 'apps/api/src/main.ts'], root, {
      DATABASE_URL: db.url,
      API_PORT: String(apiPort),
      JIELONG_DATA_DIR: dataDir,
      JIELONG_ADMIN_EMAIL: ADMIN.email,
      JIELONG_ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
    });
    children.push(api);
    const worker = start('worker', ['--import', 'tsx', 'apps/worker/src/main.ts'], root, { DATABASE_URL: db.url, JIELONG_DATA_DIR: dataDir });
    children.push(worker);

    const next = join(root, 'node_modules/next/dist/bin/next');
    const webEnv = { API_URL: apiUrl, JIELONG_WEB_DIST_DIR: distDir, NEXT_TELEMETRY_DISABLED: '1' };
    const stampFile = join(webDir, distDir, 'jielong-e2e-stamp');
    const stamp = buildStamp(apiUrl);
    if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
      const t0 = Date.now();
      const build = spawnSync(process.execPath, [next, 'build'], { cwd: webDir, env: { ...process.env, ...webEnv }, encoding: 'utf8' });
      writeFileSync(join(logDir, 'e2e-build.log'), `${build.stdout}\n${build.stderr}`);
      if (build.status !== 0) throw new Error('next build failed; see test-results/e2e-build.log');
      writeFileSync(stampFile, stamp);
      console.log(`e2e: built the web app in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    const web = start('web', [next, 'start', '-p', String(webPort), '-H', '127.0.0.1'], webDir, webEnv);
    children.push(web);

    await waitForHttp(`${apiUrl}/v1/me`, api, 'api', 120_000);
    await waitForHttp(`http://127.0.0.1:${webPort}/login`, web, 'web', 60_000);
    await waitForLog('worker', worker, /\[worker\] ready/, 60_000);

    const state: E2eState = { baseURL: `http://127.0.0.1:${webPort}`, apiURL: apiUrl };
    writeFileSync(STATE_FILE, JSON.stringify(state));
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
