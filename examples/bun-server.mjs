// The same JSON web server with Bun.serve, written as for Bun.SQL: only the import changes.
//
//   DATABASE_URL=postgres://user:password@localhost/app PORT=3000 bun examples/bun-server.mjs
//   curl localhost:3000/               -> {"now":"2026-...","database":"app","backend":12345}
//   curl 'localhost:3000/series?n=3'   -> [{"i":1},{"i":2},{"i":3}]
//
// While the database restarts a request gets 503 {"error":"database unavailable",...}; the pool
// dials again on the next query, so later requests succeed.
import { sql } from "uvsql" // with Bun.SQL: import { sql } from "bun"

const server = Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  async fetch(req) {
    const url = new URL(req.url)
    try {
      if (url.pathname === "/") {
        const [row] = await sql`select now() as now, current_database() as database, pg_backend_pid() as backend`
        return Response.json(row)
      }
      if (url.pathname === "/series") {
        const n = Math.min(Math.max(Number(url.searchParams.get("n")) || 1, 1), 1000)
        return Response.json(await sql`select i from generate_series(1, ${n}::int) as i`)
      }
      return Response.json({ error: "not found" }, { status: 404 })
    } catch (err) {
      // Unreachable or restarting (try again later), as opposed to a failing query (500).
      if (/^ERR_(POSTGRES|MYSQL)_CONNECTION_/.test(err.code) || /^(08|57P)/.test(String(err.errno))) {
        return Response.json({ error: "database unavailable", code: err.code }, { status: 503, headers: { "retry-after": "1" } })
      }
      return Response.json({ error: err.message, code: err.code }, { status: 500 })
    }
  },
})

console.log(`listening on http://localhost:${server.port}`)

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    server.stop()
    await sql.close({ timeout: 5 })
    console.log("closed")
  })
}
