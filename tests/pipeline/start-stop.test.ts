// `npm start` run exactly as a user or a service manager runs it: with the embedded database, a
// signal to npm's PID alone (SIGTERM, then SIGINT) must stop every process it started and free
// every port, and the next start must find the data. A launcher killed outright (SIGKILL) must
// not leave the API, worker or web app holding their ports. Also checks that the servers listen on
// loopback only. The web build goes to its own folder and is reused while the API port is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import { freePort } from '../helpers/ports.ts';

const root = join(import.meta.dirname, '..', '..');
const PASSWORD = 'start-stop test password';
const STOP_BOUND_MS = 30_000;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  cmd: string;
}

function processTable(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      table.set(Number(name), { pid: Number(name), ppid: Number(ppid), state, cmd });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

function descendants(table: Map<number, Proc>, pid: number): Proc[] {
  const out: Proc[] = [];
  for (const p of table.values()) if (p.ppid === pid) out.push(p, ...descendants(table, p.pid));
  return out;
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'; // a zombie holds nothing
  } catch {
    return false;
  }
};

interface Studio {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startStudio(env: NodeJS.ProcessEnv): Promise<Studio> {
  const npm = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => npm.once('exit', (code, signal) => r([code, signal])));
  readline.createInterface({ input: npm.stderr! }).on('line', (line) => (text += `${line}\n`));
  const ready = new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: npm.stdout! }).on('line', (line) => {
      text += `${line}\n`;
      if (/Press Ctrl\+C to stop/.test(line)) resolve();
    });
    void exited.then(([code, signal]) => reject(new Error(`npm start exited (${signal ?? code}) before it was ready:\n${text}`)));
  });
  // The first start builds the web app (a minute or two on two cores).
  const timeout = setTimeout(() => npm.kill('SIGKILL'), 400_000);
  await ready.finally(() => clearTimeout(timeout));
  return { npm, output: () => text, exited };
}

/** Everything this studio runs: npm's descendants and the embedded server with its backends. */
function studioProcesses(studio: Studio, pgData: string): Proc[] {
  const table = processTable();
  const postmaster = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
  assert.ok(table.get(postmaster)?.cmd.includes('postgres'), `postmaster ${postmaster} is running`);
  return [...descendants(table, studio.npm.pid!), table.get(postmaster)!, ...descendants(table, postmaster)];
}

/** Every process a stop is checked against, so a failed test can still clean up. */
const watched: Proc[] = [];

async function stopAndCheck(studio: Studio, signal: NodeJS.Signals, pgData: string, ports: number[]) {
  const procs = studioProcesses(studio, pgData);
  watched.push(...procs);
  const names = procs.map((p) => p.cmd).join('\n');
  for (const part of ['scripts/start.ts', 'apps/api/src/main.ts', 'apps/worker/src/main.ts', 'next']) assert.match(names, new RegExp(part), `${part} runs`);
  const started = Date.now();
  process.kill(studio.npm.pid!, signal);
  const [code] = await Promise.race([studio.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`npm did not exit within ${STOP_BOUND_MS} ms of ${signal}`)), STOP_BOUND_MS))]);
  assert.equal(code, 0, `npm start exits cleanly on ${signal}:\n${studio.output().slice(-3000)}`);
  for (;;) {
    const left = procs.filter((p) => alive(p.pid));
    const held = [];
    for (const port of ports) if (!(await portFree(port))) held.push(port);
    if (!left.length && !held.length) break;
    if (Date.now() - started > STOP_BOUND_MS) {
      assert.fail(`${STOP_BOUND_MS} ms after ${signal}: still running ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}; ports held ${held.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.match(studio.output(), /start\s*\| stopped/);
}

async function login(webUrl: string): Promise<string> {
  const res = await fetch(`${webUrl}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@jielong.local', password: PASSWORD }) });
  assert.equal(res.status, 200, await res.clone().text());
  return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

test('npm start stops on SIGTERM and on SIGINT to its PID, leaving nothing running, and keeps the data; its children outlive no SIGKILL of it', { timeout: 900_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jielong-start-stop-'));
  chmodSync(dataDir, 0o755); // run as root, the postgres user must reach the data directory
  const pgData = join(dataDir, 'postgres');
  // Preferred ports, so a later run reuses the web build (its API address is fixed at build time).
  const apiPort = await freePort(3211);
  const webPort = await freePort(3210);
  const pgPort = await freePort(54341);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JIELONG_DATA_DIR: dataDir,
    API_PORT: String(apiPort),
    WEB_PORT: String(webPort),
    JIELONG_PG_PORT: String(pgPort),
    JIELONG_ADMIN_PASSWORD: PASSWORD,
    JIELONG_WEB_DIST_DIR: '.next-start-test',
    LOG_LEVEL: 'warn',
  };
  for (const name of ['DATABASE_URL', 'API_URL', 'API_HOST', 'WEB_HOST']) delete env[name];
  const webUrl = `http://127.0.0.1:${webPort}`;
  const ports = [apiPort, webPort, pgPort];
  let studio: Studio | undefined;
  try {
    studio = await startStudio(env);
    assert.match(studio.output(), new RegExp(`data in ${pgData}`), 'the embedded database keeps its data in JIELONG_DATA_DIR');
    // Loopback only: another address of this machine is refused.
    const lan = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
    if (lan) for (const port of [apiPort, webPort, pgPort]) assert.ok(await refused(lan.address, port), `port ${port} is not open on ${lan.address}`);
    const cookie = await login(webUrl);
    const created = await fetch(`${webUrl}/v1/projects`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Kept across restarts' }) });
    assert.equal(created.status, 201, await created.clone().text());
    const { project } = (await created.json()) as { project: { id: string } };
    await stopAndCheck(studio, 'SIGTERM', pgData, ports);

    studio = await startStudio(env);
    assert.doesNotMatch(studio.output(), /building the web app/, 'the second start reuses the build');
    const list = await fetch(`${webUrl}/v1/projects`, { headers: { cookie: await login(webUrl) } });
    const { items } = (await list.json()) as { items: { id: string; name: string }[] };
    assert.ok(items.some((p) => p.id === project.id && p.name === 'Kept across restarts'), 'the project survived the restart');
    await stopAndCheck(studio, 'SIGINT', pgData, ports);

    // The launcher killed outright: the API, worker and web app stop by themselves; the database
    // keeps running and the next start reuses it.
    studio = await startStudio(env);
    const launcher = descendants(processTable(), studio.npm.pid!).find((p) => p.cmd.includes('scripts/start.ts'))!;
    const services = descendants(processTable(), launcher.pid);
    watched.push(...services);
    process.kill(launcher.pid, 'SIGKILL');
    await studio.exited;
    const killed = Date.now();
    for (;;) {
      const left = services.filter((p) => alive(p.pid));
      const held = [];
      for (const port of [apiPort, webPort]) if (!(await portFree(port))) held.push(port);
      if (!left.length && !held.length) break;
      if (Date.now() - killed > STOP_BOUND_MS) assert.fail(`launcher killed ${STOP_BOUND_MS} ms ago: still running ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}; ports held ${held.join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    studio = await startStudio(env);
    assert.match(studio.output(), /reusing the server already running/);
    await stopAndCheck(studio, 'SIGTERM', pgData, ports);
    studio = undefined;
  } finally {
    if (studio && studio.npm.exitCode === null) {
      studio.npm.kill('SIGTERM');
      await studio.exited;
    }
    // a failed stop must not leave anything running for the next test
    const pidFile = join(pgData, 'postmaster.pid');
    const postmaster = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
    for (const p of [...watched, ...(postmaster ? [{ pid: postmaster }] : [])]) {
      try {
        if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
