'use strict'
// S4's row materialization alone: no server, no socket, no C decoding.
//
//   BENCH_URL=postgres://... node bench/rows-replay.js record /tmp/s4.bin   # once per build
//   node bench/rows-replay.js replay /tmp/s4.bin                           # as often as needed
//
// `record` runs S4's query (`select * from bench_wide`, after the same 2000-row warm-up) and
// writes every row batch that C handed to JS. `replay` decodes those batches again in a fresh
// process, each from its own ArrayBuffer as C hands them over, and prints one JSON line: client
// CPU per row (process.cpuUsage, GC helper threads included) over the decoding, its minor page
// faults, the heap and peak RSS, and (`--twice`) the same decoding again in the same process,
// on a heap that has already grown. On a shared machine its CPU moves less than the query's:
// no server competes.
// The batch layout is the build's own (src/base/base_rowbatch.h): record again after a change.

const fs = require('node:fs')
const path = require('node:path')
const rows = require(path.join(__dirname, '..', 'lib', 'rows.js'))

const [command, file, flag] = process.argv.slice(2)

async function record() {
  const batches = []
  let meta = null
  let recording = false
  // lib/query.js reads decodeBatch from this module when it is loaded: wrap it before that.
  const decodeBatch = rows.decodeBatch
  rows.decodeBatch = function (out, views, at, shape, mode, options) {
    if (recording) {
      meta = { names: shape.names, oids: shape.oids, mode, adapter: options && options.adapter }
      batches.push(Buffer.from(views.bytes.subarray(at))) // a batch is self-describing from `at` on
    }
    return decodeBatch(out, views, at, shape, mode, options)
  }
  const { SQL } = require(path.join(__dirname, '..'))
  const sql = new SQL(process.env.BENCH_URL, { max: 1 })
  try {
    await sql`select * from bench_wide order by id limit ${2000}`
    recording = true
    const result = await sql`select * from bench_wide`
    recording = false
    const head = JSON.stringify({ sizes: batches.map((b) => b.length), meta, rows: result.length })
    fs.writeFileSync(file, Buffer.concat([Buffer.from(head + '\n'), ...batches]))
    console.log(JSON.stringify({ batches: batches.length, rows: result.length, file }))
  } finally {
    await sql.close()
  }
}

function replay() {
  const data = fs.readFileSync(file)
  const nl = data.indexOf(10)
  const { sizes, meta } = JSON.parse(data.subarray(0, nl).toString())
  const buffers = []
  for (let off = nl + 1, k = 0; k < sizes.length; off += sizes[k++]) {
    const ab = new ArrayBuffer(sizes[k])
    new Uint8Array(ab).set(data.subarray(off, off + sizes[k]))
    buffers.push(ab)
  }
  const options = meta.adapter ? { adapter: meta.adapter } : undefined
  const decodeAll = (count) => {
    const shape = rows.newShape(meta.names, meta.oids)
    const out = []
    for (let k = 0; k < count; k++) rows.decodeBatch(out, rows.rowViews(buffers[k]), 0, shape, meta.mode, options)
    return out
  }
  decodeAll(Math.min(6, buffers.length)) // warm-up: S4's 2000-row query is about 6 batches
  const cpuPerRow = (c, n) => +((c.user + c.system) / n).toFixed(3)
  const faults = () => process.resourceUsage().minorPageFault
  let f0 = faults()
  const c0 = process.cpuUsage()
  let result = decodeAll(buffers.length)
  const out = { rows: result.length, batches: buffers.length, cpu_us_per_row: cpuPerRow(process.cpuUsage(c0), result.length) }
  out.page_faults = faults() - f0
  out.heap_MB = Math.round(process.memoryUsage().heapUsed / 1e6)
  if (flag === '--twice') {
    result = null
    f0 = faults()
    const c1 = process.cpuUsage()
    result = decodeAll(buffers.length)
    out.again_cpu_us_per_row = cpuPerRow(process.cpuUsage(c1), result.length)
    out.again_page_faults = faults() - f0
  }
  out.maxRSS_MB = Math.round(process.resourceUsage().maxRSS / 1024)
  console.log(JSON.stringify(out))
}

if (command === 'record' && file) {
  record().catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else if (command === 'replay' && file) {
  replay()
} else {
  console.error('usage: node bench/rows-replay.js record <file> | replay <file> [--twice]')
  process.exit(2)
}
