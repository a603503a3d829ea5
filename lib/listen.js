'use strict'
// LISTEN/NOTIFY: one connection of the pool, reserved for listening, shared by every channel of
// this SQL instance. Notifications arrive as events from C (NotificationResponse can come in
// any state); when the listening connection is lost, it is reserved again and every channel is
// listened to again, with a backoff of 250 ms doubling up to 32 s (as Bun.SQL does).

const { Query } = require('./query.js')
const { escapeIdentifier } = require('./template.js')
const { PostgresError } = require('./errors.js')

const BACKOFF_MIN_MS = 250
const BACKOFF_MAX_MS = 32000

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
  constructor(pool) {
    this.pool = pool
    this.channels = new Map() // channel -> Set of { onnotify, onlisten }
    this.lease = null
    this.leasing = null // the reserve() in flight
    this.backoff = BACKOFF_MIN_MS
    this.timer = null
    pool.onNotification = (pid, channel, payload) => this.deliver(channel, payload)
    pool.onLeaseLost = (lease) => this.lost(lease)
    // Its callbacks are held only by the pool: the pool is kept while a channel is listened to.
    pool.listening = () => this.channels.size > 0
  }

  run(text) {
    return new Query(this.pool, text, [], [], null, true, this.lease)
  }

  async connection() {
    if (this.lease !== null) return this.lease
    if (this.leasing === null) {
      this.leasing = this.pool.reserve().then((lease) => {
        this.lease = lease
        this.leasing = null
        return lease
      }, (err) => {
        this.leasing = null
        throw err
      })
    }
    return this.leasing
  }

  async listen(channel, onnotify, onlisten) {
    if (typeof channel !== 'string' || channel.length === 0) throw new TypeError('listen() expects a channel name')
    if (typeof onnotify !== 'function') throw new TypeError('listen() expects a callback for the notifications')
    const entry = { onnotify, onlisten }
    let set = this.channels.get(channel)
    const fresh = set === undefined
    if (fresh) {
      set = new Set()
      this.channels.set(channel, set)
    }
    set.add(entry)
    try {
      await this.connection()
      if (fresh) await this.run('LISTEN ' + escapeIdentifier(channel))
    } catch (err) {
      set.delete(entry)
      if (set.size === 0) this.channels.delete(channel)
      throw err
    }
    if (typeof onlisten === 'function') onlisten()
    return new ListenSubscription(channel, () => this.unlisten(channel, entry))
  }

  async unlisten(channel, entry) {
    const set = this.channels.get(channel)
    if (set === undefined || !set.delete(entry) || set.size > 0) return
    this.channels.delete(channel)
    if (this.lease !== null) await this.run('UNLISTEN ' + escapeIdentifier(channel)).catch(() => {})
    if (this.channels.size === 0 && this.lease !== null) {
      this.pool.release(this.lease)
      this.lease = null
    }
  }

  deliver(channel, payload) {
    const set = this.channels.get(channel)
    if (set === undefined) return
    for (const entry of set) this.pool.callUser(entry.onnotify, payload)
  }

  lost(lease) {
    if (this.lease === null || lease.slot !== this.lease.slot || lease.seq !== this.lease.seq) return
    this.lease = null
    if (this.channels.size > 0) this.resubscribe()
  }

  resubscribe() {
    if (this.timer !== null || this.pool.closed) return
    this.timer = setTimeout(async () => {
      this.timer = null
      try {
        await this.connection()
        for (const channel of this.channels.keys()) await this.run('LISTEN ' + escapeIdentifier(channel))
        this.backoff = BACKOFF_MIN_MS
        for (const set of this.channels.values()) for (const entry of set) this.pool.callUser(entry.onlisten)
      } catch {
        if (this.lease !== null) {
          this.pool.release(this.lease)
          this.lease = null
        }
        this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS)
        this.resubscribe()
      }
    }, this.backoff)
    this.timer.unref()
  }

  close() {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.channels.clear()
  }
}

// NOTIFY with a bound payload.
function notify(sql, channel, payload) {
  if (typeof channel !== 'string' || channel.length === 0) {
    return Promise.reject(new PostgresError('notify() expects a channel name', { code: 'ERR_POSTGRES_INVALID_QUERY_BINDING' }))
  }
  return sql`select pg_notify(${channel}, ${payload === undefined ? null : String(payload)})`.then(() => undefined)
}

module.exports = { Listener, notify }
