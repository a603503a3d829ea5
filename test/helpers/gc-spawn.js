'use strict'
// Runs one of the GC child scripts (gc-child.js, gc-liveness-child.js) in a process of the
// current runtime, with collections exposed (--expose-gc on Node; Bun has Bun.gc), against
// `url`; resolves with { code, signal, stdout, stderr } once it ended (killed after killMs).

const { spawn } = require('node:child_process')
const path = require('node:path')

const ROOT = path.join(__dirname, '..', '..')

function runGcChild(script, args, url, { env = {}, killMs = 30000 } = {}) {
  return new Promise((resolve, reject) => {
    const file = path.join(__dirname, script)
    const argv = typeof Bun === 'object' ? [file, ...args] : ['--expose-gc', file, ...args]
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env: { ...process.env, UVSQL_ROOT: ROOT, UVSQL_URL: url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    const killer = setTimeout(() => child.kill('SIGKILL'), killMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

module.exports = { runGcChild }
