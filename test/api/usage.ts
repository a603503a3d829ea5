import { SQL, sql, PostgresError } from '../../index'
const db = new SQL('postgres://x@localhost/db', { max: 2, tls: { ca: 'pem' }, password: async () => 'pw', onnotice: (n) => console.log(n.message) })
async function main() {
  const rows = await db<{ id: number }>`select ${1}::int as id`
  const id: number = rows[0].id
  const n: number | null = rows.count
  await db.begin(async (tx) => { await tx`insert into t ${tx({ a: 1 })}`; await tx.savepoint(async (sp) => sp`select 1`) })
  const r = await db.reserve(); await r`select 1`; r.release()
  const s = db.stats(); const t: number = s.total
  const q = db`select 1`; q.cancel()
  try { await sql`select 1` } catch (e) { if (e instanceof PostgresError) console.log(e.errno) }
  console.log(id, n, t)
  await db.close({ timeout: 1 })
}
main()
