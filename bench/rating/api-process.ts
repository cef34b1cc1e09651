// The API as its own process (tsx apps/api/src/main.ts), as it runs in production, on a given database.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../tests/helpers/ports.ts';

const root = join(import.meta.dirname, '..', '..');

/** `nice`: the API's scheduling priority (below 0 needs root), as a service manager would set it */
export async function startApi(databaseUrl: string, o: { pool?: number; cpuProf?: string; nice?: number } = {}) {
  const port = await freePort(3401);
  const dataDir = mkdtempSync(join(tmpdir(), 'jielong-load-'));
  const flags = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'apps/api/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      JIELONG_DATA_DIR: dataDir,
      JIELONG_ADMIN_PASSWORD: 'load-bench-admin',
      LOG_LEVEL: 'warn',
      ...(o.pool ? { JIELONG_DB_POOL: String(o.pool) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (o.nice) setPriority(child.pid!, o.nice);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API did not start in 60 s:\n${log}`)), 60_000);
    const onData = () => {
      if (log.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`API exited with ${code}:\n${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
