import { SQL, sql, PostgresError, MySQLError, SQLiteError, type ReservedSQL, type TransactionSQL } from '../../index'
const db = new SQL('postgres://x@localhost/db', { max: 2, tls: { ca: 'pem' }, password: async () => 'pw', onnotice: (n) => console.log(n.message) })
const my = new SQL({ adapter: 'mysql', hostname: 'h', allowPublicKeyRetrieval: true })
const lite = new SQL(':memory:', { safeIntegers: true })
const lite2 = new SQL({ adapter: 'sqlite', filename: 'x.db', readonly: true, create: false, strict: true })
async function main() {
  const rows = await db<{ id: number }>`select ${1}::int as id`
  const id: number = rows[0].id
  const n: number | null = rows.count
  const both = await db.begin(async (tx: TransactionSQL) => {
    await tx`insert into t ${tx({ a: 1 })}`
    await tx.savepoint(async (sp) => sp`select 1`)
    const other: ReservedSQL = await tx.reserve()
    other.release()
    return [tx`select 1`, tx`select 2`]
  })
  console.log(both.length)
  const r = await db.reserve({ signal: AbortSignal.timeout(1000) }); await r`select 1`
  const inTx: number = await r.begin(async (tx) => (await tx<{ v: number }>`select 1 as v`)[0].v)
  await r.close(); r.release()
  { using r2 = await db.reserve(); await r2`select 1` }
  const s = db.stats(); const t: number = s.total
  const q = db`select 1`; q.cancel()
  const ran = await db`select 1`.run(); console.log(ran.count)
  const same: SQL = await db.connect(); db.flush()
  const sub = await db.listen('c', (p) => console.log(p), () => {}); console.log(sub.channel); await sub.unlisten()
  try { await sql`select 1` } catch (e) { if (e instanceof PostgresError) console.log(e.errno) }
  try { await my`select 1` } catch (e) { if (e instanceof MySQLError) console.log(e.errno, e.sqlState) }
  try { await lite.unsafe('select $a', { $a: 1 }) } catch (e) { if (e instanceof SQLiteError) console.log(e.code, e.errno, e.byteOffset) }
  const e: SQLiteError = new SQL.SQLiteError('m', { code: 'SQLITE_ERROR', errno: 1 })
  console.log(id, n, t, inTx, same === db, e.code, lite2.options)
  await db.close({ timeout: 1 })
  await db[Symbol.asyncDispose]()
}
main()
