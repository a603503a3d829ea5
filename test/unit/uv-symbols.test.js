'use strict'
// Nothing the addon calls under Bun may be one of Bun's aborting uv_* stubs (RUNTIMES.md: a
// stub ends the whole process with "unsupported uv function", which no JS can catch).
//
// Lists the uv_* symbols the .node file imports (nm -D --undefined-only) and fails on any that
// Bun 1.4 does not implement, unless it is on UV_DRIVER_ONLY: calls that only the `uv` driver
// makes, which Bun never selects (lib/options.js refuses driver 'uv' under Bun). Node-only by
// nature (it reads a file; the runtime does not matter), so test/run.js runs it once.

const { test } = require('node:test')
const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..', '..')

// Real in Bun 1.4.5 (RUNTIMES.md, "What is real in the 1.4.5 binary").
const BUN_REAL = [
  /^uv_(async|check|idle|prepare|timer)_\w+$/, /^uv_mutex_\w+$/, /^uv_version(_string)?$/,
  /^uv_(close|default_loop|queue_work|cancel|ref|unref|has_ref|is_active|is_closing|now|update_time|once|hrtime)$/,
  /^uv_(handle|req)_(get|set)_\w+$/,
]

// Only src/net/net_sock.c calls these, and only for sockets whose `js` is NULL: every public
// net_sock_* function hands a js socket to net_js.c first, and under Bun every socket is a js
// socket (lib/pool.js passes the driver handle; lib/options.js refuses 'uv' on Bun).
const UV_DRIVER_ONLY = {
  uv_tcp_init: 'sock_connect_addr: opening a TCP socket (uv driver)',
  uv_tcp_connect: 'sock_connect_addr (uv driver)',
  uv_tcp_nodelay: 'sock_connect_addr (uv driver)',
  uv_pipe_init: 'net_sock_connect, unix socket branch after the js dispatch (uv driver)',
  uv_pipe_connect: 'net_sock_connect, unix socket branch after the js dispatch (uv driver)',
  uv_getaddrinfo: 'net_sock_connect, host name branch after the js dispatch (node:net resolves for the js driver)',
  uv_freeaddrinfo: 'net__maybe_closed/on_resolved: frees what uv_getaddrinfo returned, never set for js sockets',
  uv_read_start: 'on_connected, the uv connect callback',
  uv_read_stop: 'on_read, the uv read callback',
  uv_write: 'sock_write_start, after net_sock_send hands js sockets to net__js_send',
  uv_try_write: 'sock_try_write (net_sock_send, sock_write_burst), after net_sock_send hands js sockets to net__js_send',
  uv_stream_get_write_queue_size: 'sock_write_burst, likewise',
}

// Pure helpers that are stubs in Bun too: never to be used anywhere (base_err.c names errors).
const NEVER = ['uv_strerror', 'uv_err_name', 'uv_buf_init', 'uv_ip4_addr', 'uv_ip6_addr', 'uv_loop_init', 'uv_run']

function addonPath() {
  if (process.env.UVSQL_BINDING) return path.resolve(process.env.UVSQL_BINDING)
  for (const p of ['build/Release/uvsql.node', 'build/Debug/uvsql.node']) {
    if (fs.existsSync(path.join(ROOT, p))) return path.join(ROOT, p)
  }
  return null
}

function importedUv(file) {
  const r = spawnSync('nm', ['-D', '--undefined-only', file], { encoding: 'utf8' })
  assert.strictEqual(r.status, 0, `nm failed: ${r.stderr}`)
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()).filter((s) => /^uv_/.test(s)).sort()
}

test('every uv_* symbol the addon imports is real in Bun or reachable only from the uv driver', () => {
  const file = addonPath()
  assert.ok(file, 'build the addon first (npm run build)')
  const syms = importedUv(file)
  assert.ok(syms.includes('uv_timer_start'), 'nm saw the imports: ' + syms.join(' '))
  const bad = syms.filter((s) => !BUN_REAL.some((re) => re.test(s)) && !(s in UV_DRIVER_ONLY))
  assert.deepStrictEqual(bad, [], 'uv_* imports that abort under Bun and are not uv-driver-only')
  for (const s of NEVER) assert.ok(!syms.includes(s), `${s} is an aborting stub in Bun`)
})

test('the uv-driver-only calls appear in src/net/net_sock.c and nowhere else', () => {
  const files = []
  const walk = (dir) => {
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name)
      if (ent.isDirectory()) walk(p)
      else if (/\.[ch]$/.test(ent.name)) files.push(p)
    }
  }
  walk(path.join(ROOT, 'src'))
  const re = new RegExp('\\b(' + Object.keys(UV_DRIVER_ONLY).join('|') + ')\\s*\\(', 'g')
  const outside = []
  for (const f of files) {
    const rel = path.relative(ROOT, f)
    if (rel === path.join('src', 'net', 'net_sock.c')) continue
    for (const m of fs.readFileSync(f, 'utf8').matchAll(re)) outside.push(`${rel}: ${m[1]}`)
  }
  assert.deepStrictEqual(outside, [])
  // The js dispatch sits in front of them: each public function checks `s->js` first.
  const src = fs.readFileSync(path.join(ROOT, 'src', 'net', 'net_sock.c'), 'utf8')
  for (const fn of ['net_sock_connect', 'net_sock_send', 'net_sock_end', 'net_sock_close']) {
    const body = src.slice(src.indexOf('\n' + (fn === 'net_sock_connect' ? 'int ' : fn === 'net_sock_send' ? 'int ' : 'void ') + fn + '('))
    assert.match(body.slice(0, 1200), /s->js != NULL/, `${fn} dispatches js sockets`)
  }
})
