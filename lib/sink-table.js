'use strict'
// Query id -> sink (what waits for its answer): the pool's table of queries in flight.
// Ids are handed out in order and mostly answered in order, so a ring indexed by the id's low
// bits finds nearly every one at its own slot: no hashing, and no hash-table growth and
// rehashing with 50k queries in flight (a Map's set/find were 4.5% of S3's client CPU). An id
// whose slot is still taken by an older, slower query goes to a Map on the side.

const MIN_SIZE = 1024

class SinkTable {
  constructor() {
    this.reset(MIN_SIZE)
    this.overflow = null // Map id -> sink, for ids whose slot was taken
  }

  reset(size) {
    this.ids = new Float64Array(size) // 0: a free slot (ids start at 1)
    this.sinks = new Array(size).fill(null)
    this.mask = size - 1
    this.count = 0 // sinks in the ring
  }

  set(id, sink) {
    let i = id & this.mask
    if (this.ids[i] !== 0 && this.count >= this.mask >> 1) {
      this.resize(2 * (this.mask + 1))
      i = id & this.mask
    }
    if (this.ids[i] !== 0) {
      if (this.overflow === null) this.overflow = new Map()
      this.overflow.set(id, sink)
      return
    }
    this.ids[i] = id
    this.sinks[i] = sink
    this.count++
  }

  get(id) {
    const i = id & this.mask
    if (this.ids[i] === id) return this.sinks[i]
    return this.overflow === null ? undefined : this.overflow.get(id)
  }

  // No sink left, in the ring or the overflow.
  isEmpty() {
    return this.count === 0 && (this.overflow === null || this.overflow.size === 0)
  }

  has(id) {
    return this.get(id) !== undefined
  }

  // Removes the id's sink and returns it (undefined when there is none).
  take(id) {
    const i = id & this.mask
    if (this.ids[i] === id) {
      const sink = this.sinks[i]
      this.ids[i] = 0
      this.sinks[i] = null
      this.count--
      // Back to a small ring once a burst is over (an eighth full: no resizing back and forth).
      if (this.count < (this.mask >> 3) && this.mask >= MIN_SIZE) this.resize((this.mask + 1) >> 1)
      return sink
    }
    if (this.overflow === null) return undefined
    const sink = this.overflow.get(id)
    if (sink !== undefined) this.overflow.delete(id)
    return sink
  }

  delete(id) {
    this.take(id)
  }

  // Moves every sink into a ring of `size` slots; the side Map's ones too where they now fit.
  resize(size) {
    const { ids, sinks } = this
    const spilled = this.overflow
    this.overflow = null
    this.reset(size)
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== 0) this.set(ids[i], sinks[i])
    }
    if (spilled !== null) for (const [id, sink] of spilled) this.set(id, sink)
  }
}

module.exports = { SinkTable }
