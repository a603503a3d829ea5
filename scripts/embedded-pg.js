'use strict';
// A throwaway PostgreSQL server for the demo and for local runs without a
// DATABASE_URL.
//
//   const { startEmbeddedPostgres } = require('./embedded-pg');
//   const pg = await startEmbeddedPostgres(); // { url, kind, host, port, stop() }
//   ...
//   await pg.stop();
//
// Kinds, tried in this order (UVSQL_EMBEDDED_PG=pglite|system, or
// { kind } in the options, forces one):
//
//  - "pglite": PGlite (PostgreSQL 18 compiled to WASM, an npm devDependency)
//    served over the wire protocol by @electric-sql/pglite-socket. No system
//    install. In memory; auth is trust (any user/password/database is
//    accepted and you are always postgres@postgres). It is ONE backend
//    session: it serves one connection at a time, so clients must use a
//    pool of max 1. A second connection waits up to `graceMs` for the first
//    to close, then gets a FATAL 53300 ErrorResponse. Session state (named
//    prepared statements, temp tables, SET) survives from one connection to
//    the next. No SSL (SSLRequest answered 'N'), CancelRequest ignored.
//
//  - "system": initdb + postgres from /usr/lib/postgresql/*/bin (or $PG_BIN),
//    in a temporary directory, run as the `postgres` user when we are root,
//    trust auth, deleted on stop(). A real multi-connection server.
//
// Run directly (`node scripts/embedded-pg.js`) it prints the URL and serves
// until Ctrl-C.

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const HOST = '127.0.0.1';

async function startEmbeddedPostgres(options = {}) {
  const want = options.kind || process.env.UVSQL_EMBEDDED_PG;
  const kinds = want ? [want] : ['pglite', 'system'];
  const errors = [];
  for (const kind of kinds) {
    try {
      if (kind === 'pglite') return await startPglite(options);
      if (kind === 'system') return await startSystem(options);
      throw new Error(`unknown kind ${JSON.stringify(kind)} (expected "pglite" or "system")`);
    } catch (err) {
      errors.push(`${kind}: ${err.message}`);
    }
  }
  throw new Error(`could not start an embedded PostgreSQL:\n  ${errors.join('\n  ')}`);
}

// ---------------------------------------------------------------- pglite

async function startPglite({ graceMs = 1000, debug = false } = {}) {
  const { PGlite } = require('@electric-sql/pglite');
  const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

  // PGLiteSocketServer drops a second connection at once (net.Server
  // maxConnections), even one that arrives a moment before the previous
  // client's socket has finished closing. Let it wait for a free slot
  // instead, and refuse it with a real ErrorResponse if none comes.
  class Server extends PGLiteSocketServer {
    async start() {
      await super.start();
      if (this.server) this.server.maxConnections = 1000;
    }
    async handleConnection(socket) {
      socket.on('error', () => {});
      const deadline = Date.now() + graceMs;
      while (this.active && !socket.destroyed && this.handlers.size >= this.maxConnections &&
             Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (socket.destroyed) return;
      if (this.active && this.handlers.size >= this.maxConnections) {
        socket.resume(); // discard the startup packet
        socket.end(fatal('53300', 'sorry, too many clients already: the embedded PGlite server ' +
                                  'serves one connection at a time (use a pool of max 1)'));
        setTimeout(() => socket.destroy(), 200).unref(); // even if the client keeps it open
        return;
      }
      return super.handleConnection(socket);
    }
  }

  const db = await PGlite.create(); // no dataDir: in memory
  const server = new Server({ db, host: HOST, port: 0, maxConnections: 1, debug });
  try {
    await server.start();
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  const port = server.port;
  let stopped;
  return {
    kind: 'pglite',
    host: HOST,
    port,
    url: `postgres://postgres@${HOST}:${port}/postgres`,
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopped;
    },
  };
}

// FATAL ErrorResponse, as a server sends when refusing a connection.
function fatal(sqlstate, message) {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

// ---------------------------------------------------------------- system

function findPgBin() {
  const dirs = [];
  if (process.env.PG_BIN) dirs.push(process.env.PG_BIN);
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a);
    for (const v of versions) dirs.push(path.join(root, v, 'bin'));
  }
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {}
  for (const dir of dirs) {
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'))) return dir;
  }
  throw new Error('no PostgreSQL server binaries (initdb, postgres) found; set PG_BIN');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startSystem({ timeoutMs = 15000 } = {}) {
  const bin = findPgBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvsql-pg-'));
  const data = path.join(dir, 'data');
  const ids = {};
  if (process.getuid && process.getuid() === 0) {
    // postgres refuses to run as root
    try {
      ids.uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      ids.gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error('running as root and there is no "postgres" user to run the server as');
    }
    fs.chownSync(dir, ids.uid, ids.gid);
  }
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });

  try {
    execFileSync(path.join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    cleanup();
    throw new Error(`initdb failed: ${String(err.stderr || err.message).trim()}`);
  }

  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(path.join(bin, 'postgres'),
      ['-D', data, '-h', HOST, '-p', String(port), '-k', dir,
       '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await waitReady(child, timeoutMs);
    } catch (err) {
      lastErr = err;
      child.kill('SIGKILL');
      continue;
    }
    // if we exit without stop(), take the server and its files with us
    const onExit = () => {
      child.kill('SIGKILL');
      cleanup();
    };
    process.once('exit', onExit);
    let stopped;
    return {
      kind: 'system',
      host: HOST,
      port,
      url: `postgres://postgres@${HOST}:${port}/postgres`,
      stop() {
        stopped ??= new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGINT'); // fast shutdown
        }).then(() => {
          process.removeListener('exit', onExit);
          cleanup();
        });
        return stopped;
      },
    };
  }
  cleanup();
  throw lastErr;
}

function waitReady(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => done(new Error(`postgres did not start in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (chunk) => {
      log += chunk;
      if (log.includes('ready to accept connections')) done();
    };
    const onExit = (code) => done(new Error(`postgres exited (${code}):\n${log}`));
    function done(err) {
      clearTimeout(timer);
      child.stderr.removeListener('data', onData);
      child.removeListener('exit', onExit);
      child.stderr.resume(); // keep draining the log so the server never blocks on it
      err ? reject(err) : resolve();
    }
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

module.exports = { startEmbeddedPostgres };

if (require.main === module) {
  startEmbeddedPostgres().then((pg) => {
    console.log(`${pg.kind} PostgreSQL at ${pg.url} (Ctrl-C to stop)`);
    const stop = () => pg.stop().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }, (err) => {
    console.error(err.message);
    process.exit(1);
  });
}
