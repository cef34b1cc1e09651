// `npm start`: the whole studio on one machine. Resolves the database (DATABASE_URL, or an
// embedded PostgreSQL under JIELONG_DATA_DIR), applies migrations, then runs the API, the
// worker and the web app as child processes with prefixed logs.
// SIGINT (Ctrl+C), SIGTERM (service managers, docker stop) or SIGHUP stop the children first and
// the embedded database last; a second signal kills the children at once. Should this process be
// killed outright, each child notices (scripts/exit-with-launcher.mjs) and stops itself.
// package.json's "start" execs node, so npm's PID (the one a service manager signals) forwards
// SIGINT/SIGTERM straight here; a shell in between ignored SIGINT and died of SIGTERM alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { applyMigrations, DEFAULT_EMBEDDED_PORT, redactUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '@jielong/db';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dataDir = resolve(root, process.env.JIELONG_DATA_DIR ?? './.jielong');
const apiPort = Number(process.env.API_PORT ?? 3001);
const webPort = Number(process.env.WEB_PORT ?? 3000);
const apiHost = process.env.API_HOST || '127.0.0.1';
const webHost = process.env.WEB_HOST || '127.0.0.1';
/** Where to reach a server bound to `host` from this machine. */
const reachAt = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);
const apiUrl = process.env.API_URL ?? `http://${urlHost(reachAt(apiHost))}:${apiPort}`;
const webDir = join(root, 'apps/web');
const webDist = join(webDir, process.env.JIELONG_WEB_DIST_DIR ?? '.next');
// A training worker hands its running job back before it exits: its SIGTERM handler runs when the
// current training step ends (seconds), then pg-boss gives the job up to 10 s to stop.
const STOP_TIMEOUT_MS = 30_000;

function say(message: string) {
  console.log(`${'start'.padEnd(7)}| ${message}`);
}

// --- stop -----------------------------------------------------------------------------
// Installed before anything starts: a signal during start-up must stop what did start.

const children = new Map<string, ChildProcess>();
let embedded: EmbeddedPostgres | undefined;
/** The database start and migrations, which a stop waits out rather than interrupts. */
let databaseReady: Promise<unknown> = Promise.resolve();
let stopping = false;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal); // the child and its own helpers (next's)
  } catch {
    // already gone
  }
}

async function shutdown(code: number) {
  if (stopping) {
    say('stopping now');
    for (const child of children.values()) signalGroup(child, 'SIGKILL');
    return;
  }
  stopping = true;
  say('stopping… (signal again to stop at once)');
  await databaseReady.catch(() => {});
  const exits = [...children.values()].map((child) => new Promise((r) => child.once('exit', r)));
  for (const child of children.values()) signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => {
    say(`still running after ${STOP_TIMEOUT_MS / 1000} s: ${[...children.keys()].join(', ')}; killing`);
    for (const child of children.values()) signalGroup(child, 'SIGKILL');
  }, STOP_TIMEOUT_MS);
  await Promise.all(exits);
  clearTimeout(timer);
  if (embedded) await embedded.stop();
  say('stopped');
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));
// Should this script die some other way (an exception), do not leave the children running.
process.on('exit', () => {
  for (const child of children.values()) signalGroup(child, 'SIGKILL');
});

// --- database -------------------------------------------------------------------------

let databaseUrl = process.env.DATABASE_URL ?? '';
databaseReady = (async () => {
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: join(dataDir, 'postgres'),
      port: Number(process.env.JIELONG_PG_PORT ?? DEFAULT_EMBEDDED_PORT),
      log: (m) => console.log(`${'db'.padEnd(7)}| ${m}`),
    });
    databaseUrl = embedded.url;
  }
  const { applied } = await applyMigrations(databaseUrl, { log: say });
  say(`database ${redactUrl(databaseUrl)} is up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
})();
await databaseReady;
// A signal during start-up: shutdown() owns the rest.
if (stopping) await new Promise(() => {});

// --- children -------------------------------------------------------------------------

const env = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  JIELONG_DATA_DIR: dataDir,
  API_PORT: String(apiPort),
  API_HOST: apiHost,
  WEB_PORT: String(webPort),
  API_URL: apiUrl,
  JIELONG_LAUNCHER_PID: String(process.pid),
};
const watchLauncher = ['--import', join(root, 'scripts/exit-with-launcher.mjs')];

function prefixLines(name: string, stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream) {
  if (!stream) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${name.padEnd(7)}| ${line}\n`));
}

/** Runs a node child; a service (`essential`) that exits on its own brings everything down. */
function run(name: string, args: string[], { cwd = root, essential = true } = {}): Promise<number | null> {
  if (stopping) return Promise.resolve(null);
  // Own process group: the terminal's Ctrl+C reaches only this script, which then stops the
  // children in order (and next's own helpers with them).
  const child = spawn(process.execPath, [...watchLauncher, ...args], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  prefixLines(name, child.stdout, process.stdout);
  prefixLines(name, child.stderr, process.stderr);
  children.set(name, child);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      children.delete(name);
      done(code);
      if (stopping || !essential) return;
      say(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
      void shutdown(1);
    });
  });
}

const tsx = (file: string) => ['--import', 'tsx', join(root, file)];
void run('api', tsx('apps/api/src/main.ts'));
void run('worker', tsx('apps/worker/src/main.ts'));

let webStarted = false;
if (!existsSync(join(webDir, 'next.config.ts')) && !existsSync(join(webDir, 'next.config.js')) && !existsSync(join(webDir, 'next.config.mjs'))) {
  say('apps/web has no Next.js config yet; not starting the web app');
} else {
  const next = createRequire(join(webDir, 'package.json')).resolve('next/dist/bin/next');
  // Rewrites to the API are fixed at build time: rebuild when API_URL changed.
  const stamp = join(webDist, 'jielong-api-url');
  const built = existsSync(join(webDist, 'BUILD_ID')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === apiUrl;
  let buildOk = built;
  if (!built) {
    say('building the web app (next build; first start only, takes a minute or two)');
    buildOk = (await run('build', [next, 'build'], { cwd: webDir, essential: false })) === 0;
    if (buildOk) writeFileSync(stamp, apiUrl);
    else if (!stopping) say('next build failed; continuing without the web app');
  }
  if (buildOk && !stopping) {
    void run('web', [next, 'start', '-p', String(webPort), '-H', webHost], { cwd: webDir });
    webStarted = true;
  }
}

// --- ready ----------------------------------------------------------------------------

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, host);
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

async function waitFor(host: string, port: number, timeoutMs: number) {
  for (const end = Date.now() + timeoutMs; Date.now() < end && !stopping; ) {
    if (await listening(reachAt(host), port)) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

const apiUp = await waitFor(apiHost, apiPort, 120_000);
const webUp = webStarted && (await waitFor(webHost, webPort, 120_000));
if (!stopping) {
  const line = '-'.repeat(64);
  say(line);
  if (webUp) say(`Jielong studio:  http://${urlHost(reachAt(webHost))}:${webPort}`);
  say(`API:            ${apiUrl}${apiUp ? '' : '   (not answering yet)'}`);
  say(`API docs:       ${apiUrl}/docs`);
  say(`Database:       ${redactUrl(databaseUrl)}${embedded ? ` (embedded, data in ${embedded.dataDir})` : ''}`);
  say('Press Ctrl+C to stop.');
  say(line);
}
