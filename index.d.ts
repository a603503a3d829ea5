// Type definitions for uvsql: the shape of Bun.SQL (`import { SQL, sql } from "bun"`).
// Later issues fill in the rest of the surface (helpers, transactions, reserve, listen).

/// <reference types="node" />

export declare namespace SQL {
  interface Options {
    url?: string | URL
    adapter?: 'postgres' | 'postgresql'
    hostname?: string
    /** @deprecated use hostname */
    host?: string
    port?: number | string
    username?: string
    /** @deprecated use username */
    user?: string
    /** @deprecated use password */
    pass?: string
    database?: string
    /** @deprecated use database */
    db?: string
    /** Unix socket directory or full socket path. */
    path?: string
    /** Maximum connections in the pool (default 10). */
    max?: number
    /** Seconds (default 0 = never). */
    idleTimeout?: number
    idle_timeout?: number
    /** Seconds (default 0 = never). */
    maxLifetime?: number
    max_lifetime?: number
    /** Seconds (default 30). */
    connectionTimeout?: number
    connection_timeout?: number
    connectTimeout?: number
    connect_timeout?: number
    /** Startup parameters sent to the server (application_name, search_path, ...). */
    connection?: Record<string, string | boolean | number>
    /** Return int8 as BigInt instead of string. */
    bigint?: boolean
    prepare?: boolean
    /** A password, or a (sync or async) function asked once per new connection. */
    password?: string | (() => string | Promise<string>)
    tls?: boolean | TLSMode | TLSOptions
    ssl?: boolean | TLSMode | TLSOptions
    onconnect?: (err: Error | null) => void
    onclose?: (err: Error | null) => void
    /** NoticeResponse messages (RAISE NOTICE, warnings); dropped when not given. */
    onnotice?: (notice: Record<string, string>) => void
  }

  type TLSMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full'

  interface TLSOptions {
    ca?: string | Buffer | Array<string | Buffer>
    caFile?: string
    cert?: string | Buffer
    key?: string | Buffer
    servername?: string
    rejectUnauthorized?: boolean
  }

  interface Query<T> extends Promise<T> {
    readonly active: boolean
    readonly cancelled: boolean
    execute(): this
    cancel(): this
    simple(): this
    values(): Query<any[][]>
    raw(): Query<Buffer[][]>
  }

  /** What sql(value, ...columns) returns: usable only inside a tagged template. */
  interface Helper<T = unknown> {
    readonly value: T
    readonly columns: string[]
  }

  interface ListenSubscription {
    readonly channel: string
    unlisten(): Promise<void>
    [Symbol.asyncDispose](): Promise<void>
  }

  interface Stats {
    max: number
    total: number
    idle: number
    busy: number
    reserved: number
    connecting: number
    closing: number
    waiting: number
    connects: number
    connected: number
    connectFailures: number
    retries: number
    closes: { total: number; idle: number; lifetime: number; byPool: number; byError: number }
    staleNotificationsDropped: number
    queries: number
    waitMs: number
  }
}

export type SQLResultArray<T> = T[] & {
  readonly count: number | null
  readonly command: string | null
  readonly lastInsertRowid: number | bigint | null
  readonly affectedRows: number | bigint | null
}

/** A tagged template bound to one connection (a transaction or a reserved connection). */
export interface ScopedSQL {
  <T = any>(strings: TemplateStringsArray, ...values: unknown[]): SQL.Query<SQLResultArray<T>>
  <T = unknown>(value: T, ...columns: string[]): SQL.Helper<T>
  unsafe<T = any>(query: string, values?: unknown[]): SQL.Query<SQLResultArray<T>>
}

export interface TransactionSQL extends ScopedSQL {
  savepoint<T>(fn: (sql: TransactionSQL) => T | Promise<T>): Promise<T>
  savepoint<T>(name: string, fn: (sql: TransactionSQL) => T | Promise<T>): Promise<T>
}

export type SavepointSQL = TransactionSQL

export interface ReservedSQL extends ScopedSQL {
  release(): void
  [Symbol.dispose](): void
}

export interface SQL extends ScopedSQL {
  begin<T>(fn: (sql: TransactionSQL) => T | Promise<T>): Promise<T extends Array<infer Q> ? Array<Awaited<Q>> : T>
  begin<T>(options: string, fn: (sql: TransactionSQL) => T | Promise<T>): Promise<T extends Array<infer Q> ? Array<Awaited<Q>> : T>
  transaction: SQL['begin']
  reserve(): Promise<ReservedSQL>
  beginDistributed<T>(name: string, fn: (sql: TransactionSQL) => T | Promise<T>): Promise<T>
  distributed: SQL['beginDistributed']
  commitDistributed(name: string): Promise<unknown>
  rollbackDistributed(name: string): Promise<unknown>
  /** LISTEN on a connection reserved for listening (shared by all channels; re-listens after it is lost). */
  listen(channel: string, onnotify: (payload: string) => void, onlisten?: () => void): Promise<SQL.ListenSubscription>
  notify(channel: string, payload?: string): Promise<void>
  file<T = any>(path: string, values?: unknown[]): SQL.Query<SQLResultArray<T>>
  array(values: unknown[], type?: string | number): unknown
  connect(): Promise<void>
  flush(): void
  close(options?: { timeout?: number }): Promise<void>
  end(options?: { timeout?: number }): Promise<void>
  /** Not in Bun.SQL: what the pool is doing now and what it did. */
  stats(): SQL.Stats
  readonly options: Readonly<SQL.Options>
  [Symbol.asyncDispose](): Promise<void>
}

export interface SQLConstructor {
  new (url: string | URL, options?: Omit<SQL.Options, 'url'>): SQL
  new (options?: SQL.Options): SQL
  (url: string | URL, options?: Omit<SQL.Options, 'url'>): SQL
  (options?: SQL.Options): SQL
  readonly SQLError: typeof SQLError
  readonly PostgresError: typeof PostgresError
  readonly MySQLError: typeof MySQLError
}

export declare class SQLError extends Error {
  constructor(message: string)
}

export declare class PostgresError extends SQLError {
  code: string
  errno?: string
  detail?: string
  hint?: string
  severity?: string
  position?: string
  internalPosition?: string
  internalQuery?: string
  where?: string
  schema?: string
  table?: string
  column?: string
  dataType?: string
  constraint?: string
  file?: string
  line?: string
  routine?: string
}

export declare class MySQLError extends SQLError {
  code: string
  errno?: number
  sqlState?: string
}

export declare const SQL: SQLConstructor
/** The default instance, configured from the environment (DATABASE_URL, PGHOST, ...) on first use. */
export declare const sql: SQL
/** @deprecated alias of SQL */
export declare const postgres: SQLConstructor
export default SQL
