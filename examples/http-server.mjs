// A JSON web server on a connection pool, with plain node:http.
//
//   DATABASE_URL=postgres://user:password@localhost/app PORT=3000 node examples/http-server.mjs
//   curl localhost:3000/               -> {"now":"2026-...","database":"app","backend":12345}
//   curl 'localhost:3000/series?n=3'   -> [{"i":1},{"i":2},{"i":3}]
//
// The default `sql` reads DATABASE_URL (and PGHOST, PGUSER, ...) as Bun's does. When the database
// restarts, the pool drops the dead connections and dials again on the next query: a request
// during the outage gets 503 {"error":"database unavailable",...}, later ones succeed.
// (In your project: `import { sql } from 'uvsql'`; this example runs from a checkout too.)
import http from 'node:http'
import { sql } from 'uvsql'

// Unreachable or restarting (try again later), as opposed to a failing query (500).
const unavailable = (err) =>
  /^ERR_(POSTGRES|MYSQL)_CONNECTION_/.test(err.code) || /^(08|57P)/.test(String(err.errno))

async function route(url) {
  switch (url.pathname) {
    case '/': {
      const [row] = await sql`select now() as now, current_database() as database, pg_backend_pid() as backend`
      return row
    }
    case '/series': {
      const n = Math.min(Math.max(Number(url.searchParams.get('n')) || 1, 1), 1000)
      return await sql`select i from generate_series(1, ${n}::int) as i`
    }
    default:
      return undefined
  }
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

const server = http.createServer(async (req, res) => {
  try {
    const body = await route(new URL(req.url, 'http://localhost'))
    if (body === undefined) send(res, 404, { error: 'not found' })
    else send(res, 200, body)
  } catch (err) {
    if (unavailable(err)) send(res, 503, { error: 'database unavailable', code: err.code }, { 'retry-after': '1' })
    else send(res, 500, { error: err.message, code: err.code })
  }
})

server.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on http://localhost:${server.address().port}`)
})

// Ctrl-C / SIGTERM: stop accepting, let running queries finish (at most 5 s), exit.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close()
    sql.close({ timeout: 5 }).then(() => console.log('closed'))
  })
}
