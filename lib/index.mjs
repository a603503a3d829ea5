// ESM entry: the same objects as the CommonJS entry.
// Loaded with require rather than `import cjs from './index.js'`: Node 20 reports an exception
// thrown while a CommonJS module loads inside an ESM graph as uncaught even when the import()
// promise is handled, so a caught ERR_UVSQL_NO_BINARY would still end the process.
import { createRequire } from 'node:module'

const cjs = createRequire(import.meta.url)('./index.js')

export const { SQL, sql, postgres, SQLError, PostgresError, MySQLError, SQLiteError } = cjs
export default SQL
