#!/usr/bin/env node
// Stand-in for Prisma's native schema engine binary, for machines where the CLI cannot
// download it. The Prisma CLI runs whatever PRISMA_SCHEMA_ENGINE_BINARY names and talks to
// it in line-delimited JSON-RPC over stdio; this program answers those calls with
// @prisma/schema-engine-wasm, which reaches PostgreSQL through @prisma/adapter-pg.
//
// Invocations made by the CLI:
//   schema-engine [--datamodels FILE]... [--datasource JSON]          JSON-RPC server on stdio
//   schema-engine --datasource JSON cli can-connect-to-database|create-database|drop-database
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import readline from 'node:readline';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as wasmBindings from '@prisma/schema-engine-wasm/schema_engine_bg';

const args = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------
// Logging: the CLI reads stderr as JSON lines shaped like the native engine's tracing output.

function log(level, message, extra = {}) {
  process.stderr.write(
    JSON.stringify({ timestamp: new Date().toISOString(), level, fields: { message, ...extra }, target: 'schema_engine::logger' }) + '\n',
  );
}

function parseArgs(argv) {
  const out = { datamodels: [], datasource: null, cli: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--datamodels') out.datamodels.push(argv[++i]);
    else if (a === '--datasource') out.datasource = JSON.parse(argv[++i]);
    else if (a === '--enabled-preview-features' || a === '--extension-types') i++;
    else if (a === 'cli') out.cli = argv[++i];
    else if (a === '--version' || a === '-V') out.cli = 'version';
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Postgres access. adapter-pg cannot describe a few pg_catalog column types the engine reads
// during introspection ("char", and arrays of "char"/name), so results are rewritten to
// plain text / text[] before the adapter sees them.

const TEXT = 25;
const TEXT_ARRAY = 1009;
const retypeAsText = new Map([
  [18, TEXT], // "char"
  [1002, TEXT_ARRAY], // "char"[]
  [1003, TEXT_ARRAY], // name[]
]);
const parseTextArray = pg.types.getTypeParser(TEXT_ARRAY, 'text');

function readableByAdapter(result) {
  if (Array.isArray(result)) return result.map(readableByAdapter);
  if (!result?.fields) return result;
  result.fields.forEach((field, i) => {
    const newType = retypeAsText.get(field.dataTypeID);
    if (newType === undefined) return;
    field.dataTypeID = newType;
    if (newType !== TEXT_ARRAY) return;
    const key = Array.isArray(result.rows[0]) ? i : field.name;
    for (const row of result.rows) if (typeof row[key] === 'string') row[key] = parseTextArray(row[key]);
  });
  return result;
}

class CatalogFriendlyClient extends pg.Client {
  query(config, values, callback) {
    if (typeof values === 'function') [values, callback] = [undefined, values];
    if (typeof callback === 'function') {
      return super.query(config, values, (err, res) => callback(err, err ? res : readableByAdapter(res)));
    }
    const r = super.query(config, values);
    return typeof r?.then === 'function' ? r.then(readableByAdapter) : r;
  }
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

function databaseName(url) {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}

const quoteIdent = (name) => '"' + name.replace(/"/g, '""') + '"';

async function withAdminClient(url, fn) {
  // CREATE/DROP DATABASE run from the server's maintenance database, which always exists.
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// One connection per adapter: the engine relies on session state (advisory locks) the way
// the native engine does with its single connection.
async function connectAdapter(url, onDispose) {
  const adapter = await new PrismaPg({ connectionString: url, max: 1, Client: CatalogFriendlyClient }).connect();
  // adapter-pg splits scripts on ';', which breaks on semicolons inside literals or function
  // bodies; Postgres runs a multi-statement script itself through the simple query protocol.
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  if (onDispose) {
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      await dispose();
      await onDispose();
    };
  }
  return adapter;
}

const temporaryShadowDatabases = new Set();

async function dropDatabase(url, name) {
  await withAdminClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

// adapter-pg's own connectToShadowDb creates a database but then connects to the main one
// again (its connectionString wins over the database option), so `migrate dev` would replay
// migrations on real data. Here the shadow database is a real, separate, temporary one
// unless the config names one explicitly.
async function connectToShadowDb(datasource) {
  if (datasource.shadowDatabaseUrl) return connectAdapter(datasource.shadowDatabaseUrl);
  const name = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
  await withAdminClient(datasource.url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  temporaryShadowDatabases.add(name);
  return connectAdapter(withDatabase(datasource.url, name), async () => {
    await dropDatabase(datasource.url, name);
    temporaryShadowDatabases.delete(name);
  });
}

function adapterFactory(datasource) {
  return bindMigrationAwareSqlAdapterFactory({
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectAdapter(datasource.url),
    connectToShadowDb: () => connectToShadowDb(datasource),
  });
}

// ---------------------------------------------------------------------------------------
// `cli` subcommands, used by `migrate dev`/`db push` to create a missing database. Success is
// exit code 0; failure is exit code 1 with a JSON error line on stderr after a first line.

function connectorError(error, url) {
  const db = databaseName(url);
  if (error.code === '3D000') return { error_code: 'P1003', message: `Database \`${db}\` does not exist` };
  if (error.code === '28P01' || error.code === '28000') return { error_code: 'P1000', message: `Authentication failed against the database server: ${error.message}` };
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'ETIMEDOUT') {
    const u = new URL(url);
    return { error_code: 'P1001', message: `Can't reach database server at \`${u.hostname}:${u.port || 5432}\`` };
  }
  return { error_code: 'P1000', message: error.message };
}

async function runCliCommand(command, url) {
  if (command === 'version') {
    process.stdout.write(`schema-engine-wasm ${wasmBindings.version()}\n`);
    return;
  }
  log('INFO', `Running ${command}`);
  try {
    if (command === 'can-connect-to-database') {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.end();
    } else if (command === 'create-database') {
      await withAdminClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(databaseName(url))}`));
      process.stdout.write(JSON.stringify({ database_name: databaseName(url) }) + '\n');
    } else if (command === 'drop-database') {
      await dropDatabase(url, databaseName(url));
    } else {
      throw Object.assign(new Error(`Unknown cli command ${command}`), { code: 'UNKNOWN' });
    }
  } catch (error) {
    log('ERROR', connectorError(error, url).message, { error_code: connectorError(error, url).error_code });
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------
// The wasm engine and the JSON-RPC loop.

async function loadEngine() {
  // wasm-bindgen's ESM entry imports the .wasm file directly, which plain Node cannot do;
  // instantiate it by hand against the generated JS glue instead.
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('@prisma/schema-engine-wasm'));
  const module = new WebAssembly.Module(readFileSync(join(dir, 'schema_engine_bg.wasm')));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': wasmBindings });
  wasmBindings.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();

  // The engine reports Rust panics through this global before it throws a RuntimeError.
  globalThis.PRISMA_WASM_PANIC_REGISTRY = {
    message: '',
    get() {
      return this.message;
    },
    set_message(message) {
      this.message = `RuntimeError: ${message}`;
    },
  };

  const datamodels = args.datamodels.length
    ? args.datamodels.map((file) => [file, readFileSync(file, 'utf8')])
    : undefined;
  const factory = adapterFactory(args.datasource ?? {});
  const engine = await wasmBindings.SchemaEngine.new({ datamodels }, (line) => log('DEBUG', String(line)), factory);
  return { engine, factory };
}

function send(message) {
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...message }) + '\n');
}

let printId = 1_000_000;
function print(content) {
  // The native engine prints diff output through a `print` request the CLI answers.
  send({ id: printId++, method: 'print', params: { content: content.replace(/\n$/, '') } });
}

function errorPayload(error, factory) {
  if (error?.name === 'RuntimeError') {
    const message = globalThis.PRISMA_WASM_PANIC_REGISTRY.get() || error.message;
    return { is_panic: true, message, error: { message }, backtrace: error.stack };
  }
  // Errors thrown by JS code inside the adapter come back as an id into its error registry.
  const registered = typeof error?.id === 'number' ? factory.errorRegistry.consumeError(error.id)?.error : undefined;
  if (registered) return { is_panic: false, message: registered.message ?? String(registered) };
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return { is_panic: false, message: error.message, meta: error.meta ?? null, error_code: error.code };
  }
  return { is_panic: false, message: error?.message ?? String(error) };
}

async function call(engine, method, params) {
  switch (method) {
    case 'getDatabaseVersion':
      return engine.version(params ?? null);
    case 'diff': {
      const { stdout, ...rest } = await engine.diff(params);
      if (stdout) print(stdout);
      return { ...rest, stdout: null };
    }
    case 'debugPanic':
      return engine.debugPanic();
    case 'createDatabase': {
      const url = params?.datasource?.url ?? args.datasource?.url;
      await withAdminClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(databaseName(url))}`));
      return { databaseName: databaseName(url) };
    }
    case 'evaluateDataLoss':
    case 'createMigration':
      // In the wasm engine these two read the schema of the migration history only from a
      // cache that commands holding the shadow-database factory fill; warm it first, or
      // `migrate dev` on a freshly created database fails with "shadow DB must be provided".
      await engine.diagnoseMigrationHistory({
        migrationsList: params.migrationsList,
        optInToShadowDatabase: true,
        filters: params.filters,
      });
      return engine[method](params);
    case 'applyMigrations':
    case 'dbExecute':
    case 'devDiagnostic':
    case 'diagnoseMigrationHistory':
    case 'ensureConnectionValidity':
    case 'introspect':
    case 'introspectSql':
    case 'markMigrationApplied':
    case 'markMigrationRolledBack':
    case 'reset':
    case 'schemaPush':
      return engine[method](params);
    default:
      throw new Error(`The wasm schema engine does not support the method \`${method}\``);
  }
}

async function serve() {
  const { engine, factory } = await loadEngine();
  let queue = Promise.resolve();
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const message = JSON.parse(line);
    if (!message.method) return; // the CLI's answer to a `print` request
    // One request at a time, like the native engine.
    queue = queue.then(async () => {
      try {
        const result = await call(engine, message.method, message.params);
        send({ id: message.id, result: result ?? null });
      } catch (error) {
        const data = errorPayload(error, factory);
        if (data.is_panic) log('ERROR', data.message, { backtrace: data.backtrace });
        send({ id: message.id, error: { code: 4466, message: 'An error happened. Check the data field for details.', data } });
      }
    });
  });
  lines.on('close', async () => {
    await queue;
    for (const name of temporaryShadowDatabases) await dropDatabase(args.datasource.url, name).catch(() => {});
    process.exit(0);
  });
}

if (args.cli) await runCliCommand(args.cli, args.datasource?.url);
else await serve();
