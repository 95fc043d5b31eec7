#!/usr/bin/env node
// Stand-in for Prisma's native `schema-engine` binary (which the CLI would download, and cannot
// here). The Prisma CLI is pointed at this file through PRISMA_SCHEMA_ENGINE_BINARY and talks to it
// exactly as it talks to the native engine:
//
//   schema-engine --datasource '{"url":…}' cli can-connect-to-database|create-database|drop-database
//       one-shot commands; exit 0 on success, otherwise exit 1 with JSON log lines on stderr
//       (the CLI discards the FIRST stderr line and JSON-parses every following one).
//   schema-engine [--datamodels <file>]… [--datasource '{"url":…,"shadowDatabaseUrl":…}']
//       JSON-RPC 2.0 server, one JSON message per line on stdin/stdout.
//
// The RPC methods are executed by Prisma's own schema engine compiled to WebAssembly
// (node_modules/prisma/build/schema_engine_bg.wasm, the very engine build the CLI ships), loaded
// through the wasm-bindgen glue of @prisma/schema-engine-wasm (pinned to the CLI's engine hash),
// and connected to PostgreSQL through @prisma/adapter-pg wrapped by
// bindMigrationAwareSqlAdapterFactory. See docs/MIGRATIONS.md.
//
// Only PostgreSQL is supported (that is all this project uses).

import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Anything Node prints on stderr would corrupt the CLI's parsing of `cli` command output.
process.removeAllListeners('warning');

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireFromProject = createRequire(path.join(PROJECT_ROOT, 'package.json'));

// pg and @prisma/driver-adapter-utils are resolved from adapter-pg's own location, so that we use
// exactly the copies adapter-pg uses, whether or not npm hoisted them.
const requireFromAdapter = createRequire(requireFromProject.resolve('@prisma/adapter-pg'));
const pg = requireFromAdapter('pg');
const { PrismaPg } = requireFromProject('@prisma/adapter-pg');
const { bindMigrationAwareSqlAdapterFactory } = requireFromAdapter('@prisma/driver-adapter-utils');

// Never in `cli` mode: there, every stderr line after the first must be JSON.
const DEBUG =
  !process.argv.includes('cli') &&
  /(^|,)\s*(\*|prisma:\*|prisma:schemaEngine\*?|schema-engine-shim)\s*(,|$)/.test(process.env.DEBUG ?? '');
function debug(...args) {
  if (DEBUG) process.stderr.write(`[schema-engine-shim] ${args.map(String).join(' ')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const out = { datamodels: [], datasource: undefined, cli: undefined, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--datamodels' || a === '-d' || a === '--datamodel') out.datamodels.push(argv[++i]);
    else if (a === '--datasource') out.datasource = JSON.parse(argv[++i]);
    else if (a === '--enabled-preview-features' || a === '--extension-types') i++;
    else if (a === '--version' || a === '-V') out.version = true;
    else if (a === 'cli') {
      out.cli = argv[i + 1];
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL helpers

// adapter-pg refuses columns whose type it does not map (throws UnsupportedNativeDataType). The
// engine's introspection queries read catalog columns of Postgres' internal one-byte `"char"` type
// (pg_class.relkind, pg_constraint.contype, confdeltype, …) and a few other string-like catalog
// types. node-postgres already hands those over as JS strings (no parser registered), so we
// relabel them as `text` (OID 25) before adapter-pg looks at the field types.
const STRING_LIKE_OIDS = new Map([
  [18, 25], // "char"
  [19, 25], // name
  [194, 25], // pg_node_tree
  [24, 25], // regproc
  [2205, 25], // regclass
  [2206, 25], // regtype
  [4089, 25], // regnamespace
  [1002, 1009], // "char"[]  -> text[] (value parsed below)
  [1003, 1009], // name[]    -> text[]
]);
const parseTextArray = pg.types.getTypeParser(1009, 'text');

function relabelFields(result) {
  if (Array.isArray(result)) return result.forEach(relabelFields);
  if (!result || !Array.isArray(result.fields)) return;
  result.fields.forEach((field, idx) => {
    const to = STRING_LIKE_OIDS.get(field.dataTypeID);
    if (to === undefined) return;
    if (to === 1009) {
      for (const row of result.rows) {
        const key = Array.isArray(row) ? idx : field.name;
        if (typeof row[key] === 'string') row[key] = parseTextArray(row[key]);
      }
    }
    field.dataTypeID = to;
  });
}

class CatalogSafeClient extends pg.Client {
  query(config, values, callback) {
    // pg.Pool#query uses the callback form; adapter-pg transactions use the promise form.
    const wrap = (cb) => (err, result) => {
      if (!err) relabelFields(result);
      cb(err, result);
    };
    if (typeof values === 'function') return super.query(config, wrap(values));
    if (typeof callback === 'function') return super.query(config, values, wrap(callback));
    const ret = super.query(config, values, callback);
    if (ret && typeof ret.then === 'function') {
      return ret.then((result) => {
        relabelFields(result);
        return result;
      });
    }
    return ret;
  }
}

function parseUrl(connectionString) {
  const url = new URL(connectionString);
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw userError('P1013', `This shim only supports PostgreSQL URLs (got \`${url.protocol}\`).`);
  }
  return url;
}
function dbNameOf(connectionString) {
  return decodeURIComponent(parseUrl(connectionString).pathname.replace(/^\//, '')) || 'postgres';
}
function withDatabase(connectionString, database) {
  const url = parseUrl(connectionString);
  url.pathname = '/' + encodeURIComponent(database);
  return url.toString();
}
function schemaParamOf(connectionString) {
  return parseUrl(connectionString).searchParams.get('schema') ?? undefined;
}
function hostPortOf(connectionString) {
  const url = parseUrl(connectionString);
  return `${url.hostname || 'localhost'}:${url.port || 5432}`;
}
const quoteIdent = (s) => `"${String(s).replace(/"/g, '""')}"`;

async function withClient(connectionString, fn) {
  const client = new pg.Client({ connectionString });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

// Connect to a maintenance database of the same server (for CREATE/DROP DATABASE).
async function withMaintenanceClient(connectionString, fn) {
  const target = dbNameOf(connectionString);
  let lastError;
  for (const db of ['postgres', 'template1']) {
    if (db === target) continue;
    try {
      return await withClient(withDatabase(connectionString, db), fn);
    } catch (e) {
      lastError = e;
      if (e?.code !== '3D000' && e?.code !== '42501' && e?.code !== '28000') throw e;
    }
  }
  throw lastError;
}

// Maps a connection-level error to the user-facing error the native engine would report.
function mapConnectionError(e, connectionString) {
  if (e?.errorCode) return e;
  let db = '?';
  let hp = '?';
  let user = '?';
  try {
    db = dbNameOf(connectionString);
    hp = hostPortOf(connectionString);
    user = decodeURIComponent(parseUrl(connectionString).username || '');
  } catch {
    /* keep placeholders */
  }
  switch (e?.code) {
    case '3D000':
      return userError('P1003', `Database \`${db}\` does not exist on the database server at \`${hp}\`.`);
    case '28P01':
    case '28000':
      return userError(
        'P1000',
        `Authentication failed against database server at \`${hp}\`, the provided database credentials for \`${user}\` are not valid.`,
      );
    case '42501':
      return userError('P1010', `User \`${user}\` was denied access on the database \`${db}\``);
    case '42P04':
      return userError('P1009', `Database \`${db}\` already exists on the database server at \`${hp}\``);
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return userError('P1001', `Can't reach database server at \`${hp}\`\n\nPlease make sure your database server is running at \`${hp}\`.`);
    default:
      return userError(undefined, e?.message ?? String(e));
  }
}

function userError(code, message) {
  const err = new Error(message);
  err.errorCode = code;
  return err;
}

// ---------------------------------------------------------------------------------------------
// `cli` one-shot commands

async function runCliCommand(command, datasource) {
  const url = datasource?.url;
  // The CLI throws away the first stderr line of `cli` commands; give it one to throw away.
  process.stderr.write(
    JSON.stringify({ timestamp: new Date().toISOString(), level: 'INFO', fields: { message: `schema-engine shim: cli ${command}` }, target: 'schema_engine' }),
  );
  try {
    if (!url) throw userError(undefined, 'No datasource URL was given (--datasource).');
    switch (command) {
      case 'can-connect-to-database':
        await withClient(url, (c) => c.query('SELECT 1')).catch((e) => {
          throw mapConnectionError(e, url);
        });
        break;
      case 'create-database': {
        const name = dbNameOf(url);
        await withMaintenanceClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`)).catch((e) => {
          if (e?.code === '42P04') return; // already exists: nothing to do
          throw mapConnectionError(e, url);
        });
        process.stdout.write(`Database '${name}' was successfully created.\n`);
        break;
      }
      case 'drop-database': {
        const name = dbNameOf(url);
        await withMaintenanceClient(url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).catch(
          (e) => {
            throw mapConnectionError(e, url);
          },
        );
        process.stdout.write(`The database '${name}' was successfully dropped.\n`);
        break;
      }
      default:
        throw userError(undefined, `Unknown cli command: ${command}`);
    }
    return 0;
  } catch (e) {
    const fields = { message: e.message };
    if (e.errorCode) fields.error_code = e.errorCode;
    // No trailing newline: the CLI JSON-parses every line after the first, an empty one included.
    process.stderr.write(
      '\n' + JSON.stringify({ timestamp: new Date().toISOString(), level: 'ERROR', fields, target: 'schema_engine::logger' }),
    );
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Driver adapter factory given to the wasm engine

// A thin delegate over adapter-pg's PrismaPgAdapter that:
//  - runs executeScript() as ONE simple-protocol query (adapter-pg 7.10 splits scripts on every
//    `;`, which breaks any migration containing a function body, e.g. the append-only trigger);
//  - runs an extra cleanup after dispose() (used to drop a temporary shadow database).
function delegateAdapter(inner, afterDispose) {
  return {
    provider: inner.provider,
    adapterName: inner.adapterName,
    queryRaw: (q) => inner.queryRaw(q),
    executeRaw: (q) => inner.executeRaw(q),
    executeScript: async (script) => {
      try {
        await inner.underlyingDriver().query(script);
      } catch (e) {
        inner.onError(e); // throws the mapped DriverAdapterError
      }
    },
    startTransaction: (...args) => inner.startTransaction(...args),
    getConnectionInfo: () => inner.getConnectionInfo(),
    dispose: async () => {
      try {
        await inner.dispose();
      } finally {
        if (afterDispose) await afterDispose();
      }
    },
  };
}

// Shadow databases created by this process and not dropped yet: name -> drop()
const pendingShadowDbs = new Map();

async function dropPendingShadowDbs() {
  for (const [name, drop] of [...pendingShadowDbs]) {
    await drop().catch((e) => debug(`could not drop shadow database ${name}: ${e.message}`));
  }
}

async function emptyDatabase(connectionString) {
  // Bring a user-supplied shadow database back to an empty state: drop every non-system schema
  // (this also removes _prisma_migrations, enums, functions, …) and recreate the default one.
  const schema = schemaParamOf(connectionString) ?? 'public';
  await withClient(connectionString, async (c) => {
    const { rows } = await c.query(
      `SELECT nspname::text AS name FROM pg_namespace
        WHERE nspname NOT IN ('pg_catalog', 'information_schema')
          AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'`,
    );
    for (const { name } of rows) await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  });
}

function sameDatabase(a, b) {
  try {
    return hostPortOf(a) === hostPortOf(b) && dbNameOf(a) === dbNameOf(b);
  } catch {
    return false;
  }
}

class ShimPgFactory {
  provider = 'postgres';
  adapterName = '@prisma/adapter-pg';

  constructor(datasource) {
    this.url = datasource?.url;
    this.shadowUrl = datasource?.shadowDatabaseUrl;
  }

  async #connectTo(connectionString, afterDispose) {
    const schema = schemaParamOf(connectionString);
    // One connection, like the native engine: keeps session state (advisory locks, search_path)
    // on a single backend.
    const factory = new PrismaPg(
      { connectionString, Client: CatalogSafeClient, max: 1, connectionTimeoutMillis: 60_000 },
      schema ? { schema } : undefined,
    );
    const inner = await factory.connect();
    return delegateAdapter(inner, afterDispose);
  }

  async connect() {
    if (!this.url) throw new Error('No datasource URL was given to the schema engine (--datasource).');
    return this.#connectTo(this.url);
  }

  async connectToShadowDb() {
    if (this.shadowUrl) {
      if (sameDatabase(this.shadowUrl, this.url)) {
        throw new Error('The shadow database you configured appears to be the same as the main database. Please specify another shadow database.');
      }
      debug('emptying configured shadow database');
      await emptyDatabase(this.shadowUrl);
      return this.#connectTo(this.shadowUrl);
    }
    const name = `prisma_migrate_shadow_db_${randomUUID()}`;
    debug(`creating shadow database ${name}`);
    // CREATE/DROP DATABASE from a maintenance database of the same server, on our own connection.
    await withMaintenanceClient(this.url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    const drop = async () => {
      pendingShadowDbs.delete(name);
      debug(`dropping shadow database ${name}`);
      await withMaintenanceClient(this.url, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    };
    pendingShadowDbs.set(name, drop);
    try {
      return await this.#connectTo(withDatabase(this.url, name), drop);
    } catch (e) {
      await drop().catch(() => {});
      throw e;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Wasm engine

globalThis.PRISMA_WASM_PANIC_REGISTRY = {
  message: '',
  set_message(m) {
    this.message = `RuntimeError: ${m}`;
  },
  get() {
    return this.message;
  },
};

async function loadWasmModule() {
  const glue = await import(
    pathToFileURL(requireFromProject.resolve('@prisma/schema-engine-wasm/schema_engine_bg')).href
  );
  const prismaDir = path.dirname(requireFromProject.resolve('prisma/package.json'));
  let wasmPath = path.join(prismaDir, 'build', 'schema_engine_bg.wasm');
  if (!fs.existsSync(wasmPath)) {
    wasmPath = path.join(path.dirname(requireFromProject.resolve('@prisma/schema-engine-wasm/package.json')), 'schema_engine_bg.wasm');
  }
  let instance;
  try {
    ({ instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), { './schema_engine_bg.js': glue }));
  } catch (e) {
    throw new Error(
      `Could not instantiate ${wasmPath} with the @prisma/schema-engine-wasm glue (${e.message}). ` +
        'The @prisma/schema-engine-wasm version must be the exact prerelease matching the prisma CLI ' +
        '(see node_modules/@prisma/engines-version/package.json).',
    );
  }
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  return glue;
}

function engineLog(line) {
  // The engine reports tracing events as JSON strings; forward them the way the native engine does
  // (JSON lines on stderr, which the CLI reads for error context).
  const text = typeof line === 'string' ? line : JSON.stringify(line);
  for (const l of text.split('\n')) if (l.trim()) process.stderr.write(l + '\n');
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC server

async function runRpcServer(args) {
  const datamodels = args.datamodels.length
    ? args.datamodels.map((p) => [p, fs.readFileSync(path.resolve(p), 'utf8')])
    : undefined;
  const boundFactory = bindMigrationAwareSqlAdapterFactory(new ShimPgFactory(args.datasource));

  let enginePromise;
  const getEngine = () => {
    enginePromise ??= (async () => {
      const glue = await loadWasmModule();
      debug(`wasm schema engine ${glue.version()}`);
      return glue.SchemaEngine.new({ datamodels }, engineLog, boundFactory);
    })();
    return enginePromise;
  };

  const send = (msg) => process.stdout.write(JSON.stringify(msg) + '\n');

  // Requests we send to the CLI (only `print`), awaiting its answer.
  let nextOwnId = 1_000_000_000;
  const pendingOwn = new Map();
  const callCli = (method, params) =>
    new Promise((resolve) => {
      const id = nextOwnId++;
      pendingOwn.set(id, resolve);
      send({ jsonrpc: '2.0', id, method, params });
    });

  function toRpcError(e) {
    const registered = boundFactory.errorRegistry?.lookupError?.(e);
    if (registered) {
      const err = registered.error ?? registered;
      const message = err?.cause?.message ?? err?.message ?? JSON.stringify(err);
      return { is_panic: false, message: String(message), meta: err, error_code: null };
    }
    if (e instanceof WebAssembly.RuntimeError || e?.name === 'RuntimeError') {
      const message = globalThis.PRISMA_WASM_PANIC_REGISTRY.get() || e.message;
      return { is_panic: true, message, error: { message } };
    }
    if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') {
      return { is_panic: false, message: e.message, meta: e.meta ?? null, error_code: e.code };
    }
    if (e?.errorCode !== undefined) return { is_panic: false, message: e.message, error_code: e.errorCode ?? null };
    return { is_panic: false, message: e?.message ?? String(e), error_code: null };
  }

  async function handle(method, params) {
    switch (method) {
      case 'createDatabase': {
        const ds = params?.datasource;
        const url = ds?.tag === 'ConnectionString' ? ds.url : args.datasource?.url;
        const name = dbNameOf(url);
        await withMaintenanceClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`)).catch((e) => {
          throw mapConnectionError(e, url);
        });
        return { databaseName: name };
      }
      case 'getDatabaseVersion':
        return (await getEngine()).version(params ?? undefined);
      case 'diff': {
        const { stdout, ...rest } = await (await getEngine()).diff(params);
        if (stdout) await callCli('print', { content: stdout.replace(/\n$/, '') });
        return { ...rest, stdout: null };
      }
      default: {
        const engine = await getEngine();
        if (typeof engine[method] !== 'function' || method === 'free' || method === 'constructor') {
          throw userError(undefined, `Method \`${method}\` is not supported by the wasm schema engine shim.`);
        }
        try {
          return await engine[method](params);
        } catch (e) {
          // The wasm engine computes "the schema the migrations produce" through a shadow database
          // only in diagnoseMigrationHistory/devDiagnostic, which cache it; evaluateDataLoss and
          // createMigration then read that cache and cannot open a shadow database themselves
          // ("PostgreSQL shadow DB must be provided through an external factory"). That happens in
          // `migrate dev` when pending migrations were applied first (the diagnostic skipped the
          // shadow replay). Warm the cache for this migrations list and retry once; both commands
          // fail before writing anything.
          if (!/shadow DB must be provided through an external factory/.test(String(e?.message)) || !params?.migrationsList) throw e;
          debug(`${method}: warming the migration schema cache through diagnoseMigrationHistory`);
          await engine.diagnoseMigrationHistory({
            migrationsList: params.migrationsList,
            optInToShadowDatabase: true,
            filters: params.filters ?? { externalTables: [], externalEnums: [] },
          });
          await dropPendingShadowDbs();
          return await engine[method](params);
        }
      }
    }
  }

  let queue = Promise.resolve();
  let fatal = false;
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    if (msg.method === undefined && pendingOwn.has(msg.id)) {
      pendingOwn.get(msg.id)(msg.result);
      pendingOwn.delete(msg.id);
      return;
    }
    queue = queue.then(async () => {
      if (fatal) return;
      debug(`-> ${msg.method}`);
      try {
        const result = await handle(msg.method, msg.params);
        await dropPendingShadowDbs();
        send({ jsonrpc: '2.0', id: msg.id, result: result === undefined ? null : result });
      } catch (e) {
        await dropPendingShadowDbs();
        const data = toRpcError(e);
        debug(`<- ${msg.method} failed: ${data.message}`);
        send({ jsonrpc: '2.0', id: msg.id, error: { code: 4466, message: 'An error happened. Check the data field for details.', data } });
        if (data.is_panic) {
          fatal = true; // a panicked wasm instance cannot be used again
          process.exitCode = 101;
          rl.close();
        }
      }
    });
  });

  const shutdown = async (code) => {
    await queue.catch(() => {});
    await dropPendingShadowDbs();
    process.exit(code ?? process.exitCode ?? 0);
  };
  rl.on('close', () => void shutdown());
  // The CLI ends stdin and then SIGTERMs the engine right away.
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(130));
}

// ---------------------------------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2));
if (args.version) {
  const glue = await loadWasmModule();
  process.stdout.write(`schema-engine-cli ${glue.version()}\n`);
} else if (args.cli) {
  process.exitCode = await runCliCommand(args.cli, args.datasource);
} else {
  await runRpcServer(args);
}
