// ESM entry: the same objects as the CommonJS entry.
import cjs from './index.js'

export const { SQL, sql, postgres, SQLError, PostgresError, MySQLError } = cjs
export default SQL
