'use strict'
// A query: a Promise that runs lazily. It is sent synchronously on the first then/catch/
// finally/execute(), so queries go to the server in the order the code awaited them.

const { newResult, finishResult } = require('./result.js')
const { decodeRows } = require('./rows.js')

const kRun = Symbol('run')

class Query extends Promise {
  #pool
  #text
  #params
  #types
  #error
  #resolve
  #reject
  #mode = 'objects'
  #started = false
  #active = false
  #cancelled = false

  // error: a binding error found while building the query; it rejects when the query runs.
  constructor(pool, text, params, types, error) {
    let resolve, reject
    super((res, rej) => {
      resolve = res
      reject = rej
    })
    this.#pool = pool
    this.#text = text
    this.#params = params
    this.#types = types
    this.#error = error
    this.#resolve = resolve
    this.#reject = reject
  }

  // then() of a derived promise must make a plain Promise, not another lazy Query.
  static get [Symbol.species]() {
    return Promise
  }

  get [Symbol.toStringTag]() {
    return 'Query'
  }

  get active() {
    return this.#active
  }

  get cancelled() {
    return this.#cancelled
  }

  [kRun]() {
    if (this.#started) return
    this.#started = true
    if (this.#error) {
      this.#reject(this.#error)
      return
    }
    this.#active = true
    const options = this.#pool.options
    const mode = this.#mode
    this.#pool.send(this.#text, this.#params, this.#types, {
      onRows: ([command, names, oids, rows, nrows]) => {
        this.#active = false
        let result
        try {
          result = newResult()
          if (names !== null) decodeRows(result, rows, nrows, names, oids, mode, options)
          finishResult(result, command)
        } catch (err) {
          this.#reject(err)
          return
        }
        this.#resolve(result)
      },
      onError: (err) => {
        this.#active = false
        this.#reject(err)
      },
    })
  }

  then(onFulfilled, onRejected) {
    this[kRun]()
    return super.then(onFulfilled, onRejected)
  }

  catch(onRejected) {
    this[kRun]()
    return super.catch(onRejected)
  }

  finally(onFinally) {
    this[kRun]()
    return super.finally(onFinally)
  }

  execute() {
    this[kRun]()
    return this
  }

  values() {
    this.#mode = 'values'
    return this
  }

  raw() {
    this.#mode = 'raw'
    return this
  }
}

module.exports = { Query }
