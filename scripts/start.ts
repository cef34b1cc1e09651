// `npm start`: the whole studio on one machine. Resolves the database (DATABASE_URL, or an
// embedded PostgreSQL under JIELONG_DATA_DIR), applies migrations, then runs the API, the
// worker and the web app as child processes with prefixed logs. Ctrl+C or SIGTERM stops
// the children first and the embedded database last.
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
const apiUrl = process.env.API_URL ?? `http://127.0.0.1:${apiPort}`;
const webDir = join(root, 'apps/web');

function say(message: string) {
  console.log(`${'start'.padEnd(7)}| ${message}`);
}

// --- database -------------------------------------------------------------------------

let embedded: EmbeddedPostgres | undefined;
let databaseUrl = process.env.DATABASE_URL;
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

// --- children -------------------------------------------------------------------------

const env = { ...process.env, DATABASE_URL: databaseUrl, JIELONG_DATA_DIR: dataDir, API_PORT: String(apiPort), WEB_PORT: String(webPort), API_URL: apiUrl };
const children = new Map<string, ChildProcess>();
let stopping = false;

function prefixLines(name: string, stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream) {
  if (!stream) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${name.padEnd(7)}| ${line}\n`));
}

/** Runs a child; a service (`essential`) that exits on its own brings everything down. */
function run(name: string, command: string, args: string[], { cwd = root, essential = true } = {}): Promise<number | null> {
  // Own process group: the terminal's Ctrl+C reaches only this script, which then stops
  // the children in order (and next's own helpers with them).
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
void run('api', process.execPath, tsx('apps/api/src/main.ts'));
void run('worker', process.execPath, tsx('apps/worker/src/main.ts'));

let webStarted = false;
if (!existsSync(join(webDir, 'next.config.ts')) && !existsSync(join(webDir, 'next.config.js')) && !existsSync(join(webDir, 'next.config.mjs'))) {
  say('apps/web has no Next.js config yet; not starting the web app');
} else {
  const next = createRequire(join(webDir, 'package.json')).resolve('next/dist/bin/next');
  // Rewrites to the API are fixed at build time: rebuild when API_URL changed.
  const stamp = join(webDir, '.next', 'jielong-api-url');
  const built = existsSync(join(webDir, '.next', 'BUILD_ID')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === apiUrl;
  let buildOk = built;
  if (!built) {
    say('building the web app (next build; first start only, takes a minute or two)');
    buildOk = (await run('build', process.execPath, [next, 'build'], { cwd: webDir, essential: false })) === 0;
    if (buildOk) writeFileSync(stamp, apiUrl);
    else if (!stopping) say('next build failed; continuing without the web app');
  }
  if (buildOk && !stopping) {
    void run('web', process.execPath, [next, 'start', '-p', String(webPort)], { cwd: webDir });
    webStarted = true;
  }
}

// --- ready ----------------------------------------------------------------------------

function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

async function waitFor(port: number, timeoutMs: number) {
  for (const end = Date.now() + timeoutMs; Date.now() < end && !stopping; ) {
    if (await listening(port)) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

const apiUp = await waitFor(apiPort, 120_000);
const webUp = webStarted && (await waitFor(webPort, 120_000));
if (!stopping) {
  const line = '-'.repeat(64);
  say(line);
  if (webUp) say(`Jielong studio:  http://localhost:${webPort}`);
  say(`API:            ${apiUrl}${apiUp ? '' : '   (not answering yet)'}`);
  say(`API docs:       ${apiUrl}/docs`);
  say(`Database:       ${redactUrl(databaseUrl)}${embedded ? ` (embedded, data in ${embedded.dataDir})` : ''}`);
  say('Press Ctrl+C to stop.');
  say(line);
}

// --- stop -----------------------------------------------------------------------------

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  const exits = [...children.values()].map((child) => new Promise((r) => child.once('exit', r)));
  for (const child of children.values()) signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => {
    for (const child of children.values()) signalGroup(child, 'SIGKILL');
  }, 15_000);
  await Promise.all(exits);
  clearTimeout(timer);
  if (embedded) await embedded.stop();
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// Should this script die some other way, do not leave the children running.
process.on('exit', () => {
  for (const child of children.values()) signalGroup(child, 'SIGKILL');
});
