// Type definitions for uvsql: the shape of Bun.SQL (`import { SQL, sql } from "bun"`).
// Names, aliases and defaults follow Bun 1.4.5 (API-PARITY.md section 2); the README lists the
// deliberate differences.

/// <reference types="node" />

export declare namespace SQL {
  interface Options {
    url?: string | URL
    adapter?: 'postgres' | 'postgresql' | 'mysql' | 'mysql2' | 'mariadb'
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
    /** MySQL: allow fetching the server's RSA key over plain TCP (default false). */
    allowPublicKeyRetrieval?: boolean
    /** PostgreSQL, as libpq: bind SCRAM to the TLS certificate (default 'prefer'). */
    channel_binding?: 'disable' | 'prefer' | 'require'
    channelBinding?: 'disable' | 'prefer' | 'require'
    /** PostgreSQL, as libpq: the auth methods the server may use, e.g. 'scram-sha-256' or '!password,!md5'. */
    require_auth?: string
    requireAuth?: string
  }

  /** The sqlite adapter: bun:sqlite under Bun, node:sqlite on Node.js >= 22.5. */
  interface SQLiteOptions {
    adapter?: 'sqlite'
    url?: string | URL
    /** A path, ':memory:' (the default), or a sqlite:/file: URL. */
    filename?: string | URL
    readonly?: boolean
    /** Create the file when missing (default true). */
    create?: boolean
    readwrite?: boolean
    /** Named parameters without their $/:/@ prefix (bun:sqlite). */
    strict?: boolean
    /** Integers as BigInt. */
    safeIntegers?: boolean
    /** Alias of safeIntegers. */
    bigint?: boolean
    onconnect?: (err: Error | null) => void
    onclose?: (err: Error | null) => void
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
    /** Sends the query; resolves with its result. */
    run(): Promise<T>
    cancel(): this
    simple(): this
    values(): Query<any[][]>
    /** Buffers for PostgreSQL and MySQL; Uint8Array for SQLite. */
    raw(): Query<Uint8Array[][]>
  }

  type TransactionSQL = import('./index').TransactionSQL
  type SavepointSQL = import('./index').SavepointSQL
  type ReservedSQL = import('./index').ReservedSQL

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
  /** values: an array; for SQLite also an object of named parameters ({ $a: 1 }). */
  unsafe<T = any>(query: string, values?: unknown[] | Record<string, unknown>): SQL.Query<SQLResultArray<T>>
  file<T = any>(path: string, values?: unknown[] | Record<string, unknown>): SQL.Query<SQLResultArray<T>>
  /** PostgreSQL only. */
  array(values: unknown[], type?: string | number): unknown
}

type TransactionResult<T> = T extends Array<infer Q> ? Array<Awaited<Q>> : T
type BeginFn = {
  <T>(fn: (sql: TransactionSQL) => T | Promise<T>): Promise<TransactionResult<T>>
  <T>(options: string, fn: (sql: TransactionSQL) => T | Promise<T>): Promise<TransactionResult<T>>
}

export interface TransactionSQL extends ScopedSQL {
  savepoint<T>(fn: (sql: SavepointSQL) => T | Promise<T>): Promise<TransactionResult<T>>
  savepoint<T>(name: string, fn: (sql: SavepointSQL) => T | Promise<T>): Promise<TransactionResult<T>>
  /** A new connection of the pool, outside this transaction. */
  reserve(options?: { signal?: AbortSignal }): Promise<ReservedSQL>
  /** Throws ERR_*_INVALID_TRANSACTION_STATE: use savepoint(). */
  begin(...args: unknown[]): never
  transaction(...args: unknown[]): never
}

export type SavepointSQL = TransactionSQL

export interface ReservedSQL extends ScopedSQL, Disposable {
  /** A transaction on this connection (no new lease); it stays reserved afterwards. */
  begin: BeginFn
  transaction: BeginFn
  reserve(options?: { signal?: AbortSignal }): Promise<ReservedSQL>
  flush(): void
  release(): void
  /** Gives the connection back, like release(). */
  close(): Promise<void>
  [Symbol.dispose](): void
}

export interface SQL extends ScopedSQL {
  begin: BeginFn
  transaction: BeginFn
  reserve(options?: { signal?: AbortSignal }): Promise<ReservedSQL>
  beginDistributed<T>(name: string, fn: (sql: TransactionSQL) => T | Promise<T>): Promise<T>
  distributed: SQL['beginDistributed']
  commitDistributed(name: string): Promise<unknown>
  rollbackDistributed(name: string): Promise<unknown>
  /** LISTEN on a connection reserved for listening (shared by all channels; re-listens after it is lost). */
  listen(channel: string, onnotify: (payload: string) => void, onlisten?: () => void): Promise<SQL.ListenSubscription>
  notify(channel: string, payload?: string): Promise<void>
  /** Opens a connection now; resolves to this instance. */
  connect(): Promise<SQL>
  flush(): void
  close(options?: { timeout?: number }): Promise<void>
  end(options?: { timeout?: number }): Promise<void>
  /** Not in Bun.SQL: what the pool is doing now and what it did. */
  stats(): SQL.Stats
  readonly options: Readonly<SQL.Options | SQL.SQLiteOptions>
  [Symbol.asyncDispose](): Promise<void>
}

export interface SQLConstructor {
  new (url: string | URL, options?: Omit<SQL.Options, 'url'> | Omit<SQL.SQLiteOptions, 'url' | 'filename'>): SQL
  new (options?: SQL.Options | SQL.SQLiteOptions): SQL
  (url: string | URL, options?: Omit<SQL.Options, 'url'> | Omit<SQL.SQLiteOptions, 'url' | 'filename'>): SQL
  (options?: SQL.Options | SQL.SQLiteOptions): SQL
  readonly SQLError: typeof SQLError
  readonly PostgresError: typeof PostgresError
  readonly MySQLError: typeof MySQLError
  readonly SQLiteError: typeof SQLiteError
}

export declare class SQLError extends Error {
  constructor(message: string)
}

export declare class PostgresError extends SQLError {
  constructor(message: string, fields?: Record<string, unknown>)
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
  constructor(message: string, fields?: { code?: string; errno?: number; sqlState?: string })
  code: string
  errno?: number
  sqlState?: string
}

/** code: 'SQLITE_CONSTRAINT_UNIQUE', ..., or a client code such as 'ERR_SQLITE_CONNECTION_CLOSED'. */
export declare class SQLiteError extends SQLError {
  constructor(message: string, fields?: { code?: string; errno?: number; byteOffset?: number })
  code: string
  errno: number
  byteOffset?: number
}

export declare const SQL: SQLConstructor
/** The default instance, configured from the environment (DATABASE_URL, PGHOST, ...) on first use. */
export declare const sql: SQL
/** @deprecated alias of SQL */
export declare const postgres: SQLConstructor
export default SQL
