'use strict'
// LISTEN/NOTIFY as Bun.SQL has it. Listening uses a connection of its own: a pool of one
// beside the instance's pool, so it never takes a slot from queries (notify() and reserve()
// work with max: 1). It is shared by every channel of the SQL instance and by its reserved and
// transaction handles; it opens with the first listen() and closes when the last subscription
// is removed. Notifications arrive as events from C (NotificationResponse can come in any
// state). When the connection is lost, a new one is opened after a backoff of 250 ms doubling
// up to 32 s (a listen() in the meantime opens it at once) and every channel is listened to
// again; a channel whose LISTEN is then refused is retried on its own, with a warning.

const { Query } = require('./query.js')
const { dialects } = require('./dialect.js')
const { callUser } = require('./errors.js')

const BACKOFF_MIN_MS = 250
const BACKOFF_MAX_MS = 32000
// PostgreSQL truncates identifiers (NAMEDATALEN - 1): a longer channel would silently listen to
// another name.
const MAX_CHANNEL_BYTES = 63

// A channel is one identifier: a dot in it is part of the name (not schema.name).
const quoteChannel = (channel) => dialects.postgres.quotePart(channel)

function invalidArg(message) {
  const err = new TypeError(message)
  err.code = 'ERR_INVALID_ARG_VALUE'
  return err
}

function checkChannel(channel) {
  if (typeof channel !== 'string' || channel.length === 0) throw invalidArg('channel must be a non-empty string')
  if (channel.includes('\0')) throw invalidArg('channel must not contain null bytes')
  const bytes = Buffer.byteLength(channel)
  if (bytes > MAX_CHANNEL_BYTES) {
    throw invalidArg(`channel is ${bytes} bytes in UTF-8; PostgreSQL identifiers are at most ${MAX_CHANNEL_BYTES} bytes`)
  }
}

// Thrown synchronously by the callers (listen() rejects with it, notify() throws it), before
// any I/O and whatever the adapter.
function checkListenArgs(channel, onnotify, onlisten) {
  checkChannel(channel)
  if (typeof onnotify !== 'function') throw invalidArg('onnotify must be a function')
  if (onlisten !== undefined && onlisten !== null && typeof onlisten !== 'function') {
    throw invalidArg('onlisten must be a function')
  }
}

function checkNotifyArgs(channel, payload) {
  checkChannel(channel)
  if (payload !== undefined && typeof payload !== 'string') throw invalidArg('payload must be a string')
}

// What listen() resolves to, shaped like Bun's: own key `channel`, unlisten() on the prototype.
class ListenSubscription {
  #unlisten
  constructor(channel, unlisten) {
    this.channel = channel
    this.#unlisten = unlisten
  }

  unlisten() {
    return this.#unlisten()
  }

  [Symbol.asyncDispose]() {
    return this.#unlisten()
  }
}

class Listener {
  // pool: the listener's own pool of one connection (lib/sql.js).
  constructor(pool) {
    this.pool = pool
    // channel -> { entries: Set of { onnotify, onlisten, active }, listening, pending, backoff, timer }
    this.channels = new Map()
    this.lease = null
    this.leasing = null // the reserve() in flight
    this.backoff = BACKOFF_MIN_MS
    this.timer = null // the reconnect after a lost connection
    this.closed = false
    this.closing = null // pool.close(0), once closed
    pool.onNotification = (pid, channel, payload) => this.deliver(channel, payload)
    pool.onLeaseLost = (lease) => this.lost(lease)
    // Its callbacks are held only by the pool: the pool is kept while a channel is listened to.
    pool.listening = () => this.channels.size > 0
  }

  closedError() {
    return this.pool.dialect.error('CONNECTION_CLOSED', 'Connection closed')
  }

  run(lease, text) {
    return new Query(this.pool, text, [], [], null, true, lease)
  }

  // The listening connection; a new one re-listens every channel not listened to yet.
  connection() {
    if (this.lease !== null) return Promise.resolve(this.lease)
    if (this.leasing === null) {
      this.leasing = this.pool.reserve().then((lease) => {
        this.leasing = null
        if (this.closed || this.channels.size === 0) {
          this.pool.release(lease, true)
          throw this.closedError()
        }
        this.lease = lease
        this.backoff = BACKOFF_MIN_MS
        if (this.timer !== null) clearTimeout(this.timer)
        this.timer = null
        this.repair(lease)
        return lease
      }, (err) => {
        this.leasing = null
        throw err
      })
    }
    return this.leasing
  }

  async listen(channel, onnotify, onlisten) {
    if (this.closed) throw this.closedError()
    // Registered at once: a notification already on its way reaches it only if it comes after.
    const entry = { onnotify, onlisten, active: true }
    let ch = this.channels.get(channel)
    if (ch === undefined) {
      ch = { entries: new Set(), listening: false, pending: null, backoff: BACKOFF_MIN_MS, timer: null }
      this.channels.set(channel, ch)
    }
    ch.entries.add(entry)
    if (!ch.listening) {
      // Concurrent listen() calls on a new channel share its LISTEN.
      if (ch.pending === null) ch.pending = this.subscribe(channel, ch)
      try {
        await ch.pending
      } catch (err) {
        // Closed meanwhile: reject once close() has finished, as Bun.SQL does, so that a caller
        // awaiting close() first still catches this in time.
        if (this.closed) await this.closing
        this.drop(channel, ch, entry)
        // The channel's other listeners (from before a lost connection) still want it.
        if (ch.entries.size > 0 && !this.closed) this.retryLater(channel, ch)
        throw err
      }
    }
    if (typeof onlisten === 'function') callUser(onlisten)
    return new ListenSubscription(channel, () => this.unlisten(channel, ch, entry))
  }

  subscribe(channel, ch) {
    const pending = (async () => {
      const lease = await this.connection()
      // sql.close() in the same tick as listen(): nothing is sent.
      if (this.closed) throw this.closedError()
      await this.run(lease, 'LISTEN ' + quoteChannel(channel))
      if (this.lease === lease) ch.listening = true
    })().finally(() => { if (ch.pending === pending) ch.pending = null })
    return pending
  }

  // Removing the last subscription closes the connection (no UNLISTEN); the last of a channel
  // sends UNLISTEN on it. Delivery to it stops at once, before that round trip.
  async unlisten(channel, ch, entry) {
    if (!entry.active) return
    entry.active = false
    ch.entries.delete(entry)
    if (ch.entries.size > 0 || this.channels.get(channel) !== ch) return
    this.forget(channel, ch)
    if (this.channels.size === 0) {
      this.closeConnection()
      return
    }
    const lease = this.lease
    if (lease !== null) await this.run(lease, 'UNLISTEN ' + quoteChannel(channel)).catch(() => {})
  }

  // An entry whose listen() failed: nothing was listened to for it.
  drop(channel, ch, entry) {
    entry.active = false
    ch.entries.delete(entry)
    if (ch.entries.size === 0 && this.channels.get(channel) === ch) {
      this.forget(channel, ch)
      if (this.channels.size === 0) this.closeConnection()
    }
  }

  forget(channel, ch) {
    this.channels.delete(channel)
    if (ch.timer !== null) clearTimeout(ch.timer)
    ch.timer = null
  }

  closeConnection() {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.backoff = BACKOFF_MIN_MS
    if (this.lease !== null) this.pool.release(this.lease, true)
    this.lease = null
  }

  // A snapshot: a listener added by a callback gets the next notification, not this one; one
  // removed by a callback gets nothing more.
  deliver(channel, payload) {
    const ch = this.channels.get(channel)
    if (ch === undefined) return
    const entries = ch.entries.size === 1 ? ch.entries : [...ch.entries]
    for (const entry of entries) if (entry.active) callUser(entry.onnotify, payload)
  }

  lost(lease) {
    if (this.lease === null || lease.slot !== this.lease.slot || lease.seq !== this.lease.seq) return
    this.lease = null
    for (const ch of this.channels.values()) ch.listening = false
    if (this.channels.size > 0) this.reconnectLater()
  }

  reconnectLater() {
    if (this.timer !== null || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = null
      if (this.closed || this.channels.size === 0 || this.lease !== null) return
      this.connection().catch((err) => {
        console.warn(`uvsql: the LISTEN connection could not be opened, retrying: ${err.message}`)
        this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS)
        this.reconnectLater()
      })
    }, this.backoff)
    this.timer.unref()
  }

  // On a new connection: LISTEN again every channel that no listen() is subscribing.
  repair(lease) {
    for (const [channel, ch] of this.channels) {
      if (!ch.listening && ch.pending === null) this.relisten(lease, channel, ch)
    }
  }

  relisten(lease, channel, ch) {
    const waiting = [...ch.entries] // later ones get onlisten from their own listen()
    const done = this.run(lease, 'LISTEN ' + quoteChannel(channel)).then(() => {
      if (this.lease !== lease || this.channels.get(channel) !== ch) return
      ch.listening = true
      ch.backoff = BACKOFF_MIN_MS
      for (const entry of waiting) {
        if (entry.active && typeof entry.onlisten === 'function') callUser(entry.onlisten)
      }
    }, (err) => {
      if (this.lease !== lease || this.closed) return // lost again: the reconnect redoes it
      console.warn(`uvsql: LISTEN ${quoteChannel(channel)} failed, retrying: ${err.message}`)
      this.retryLater(channel, ch)
    })
    const pending = done.finally(() => { if (ch.pending === pending) ch.pending = null })
    ch.pending = pending
  }

  retryLater(channel, ch) {
    if (ch.timer !== null) return
    ch.timer = setTimeout(() => {
      ch.timer = null
      if (this.closed || this.channels.get(channel) !== ch || ch.listening || ch.pending !== null) return
      if (this.lease === null) {
        this.reconnectLater()
        return
      }
      this.relisten(this.lease, channel, ch)
    }, ch.backoff)
    ch.timer.unref()
    ch.backoff = Math.min(ch.backoff * 2, BACKOFF_MAX_MS)
  }

  // sql.close(): the connection goes at once; a listen() in flight rejects, and every handle
  // from before becomes a no-op.
  close() {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const ch of this.channels.values()) {
      if (ch.timer !== null) clearTimeout(ch.timer)
      for (const entry of ch.entries) entry.active = false
    }
    this.channels.clear()
    this.lease = null
    this.closing = this.pool.close(0)
    return this.closing
  }
}

// NOTIFY with a bound payload, on the given handle (a transaction's NOTIFY is delivered when
// it commits).
function notify(sql, channel, payload) {
  return sql`select pg_notify(${channel}, ${payload === undefined ? null : payload})`.then(() => undefined)
}

module.exports = { Listener, notify, checkListenArgs, checkNotifyArgs }
