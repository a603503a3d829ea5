#!/usr/bin/env node
// Builds the native addon with node-gyp, offline.
//
// node-gyp downloads Node's headers unless it is told where they are. Every Node install that
// can build addons ships them at <prefix>/include/node (prefix = two levels above the node
// binary), so we pass that prefix as --nodedir and nothing is fetched. Only when no local
// headers exist do we let node-gyp fall back to its default (which downloads).
//
// Run as the package's install script (`npm install`), or `npm run build` (= --force).
// As an install script in an installed package it skips the build when a prebuilt binary for this
// platform loads. In a git checkout it always builds: a prebuild left there by `npm pack` may be
// older than src/.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.join(__dirname, '..')
const force = process.argv.includes('--force')
const debug = process.argv.includes('--debug')

function findNodeDir() {
  const prefix = path.dirname(path.dirname(process.execPath))
  const header = path.join(prefix, 'include', 'node', 'node_api.h')
  return fs.existsSync(header) ? prefix : null
}

function findNodeGyp() {
  const candidates = []
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }))
  } catch {}
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp)
  const prefix = path.dirname(path.dirname(process.execPath))
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  return candidates.find((p) => p && fs.existsSync(p)) || null
}

function prebuildLoads() {
  try {
    const { loadBinding } = require('../lib/binding.js')
    return loadBinding({ onlyPrebuilds: true }) != null
  } catch {
    return false
  }
}

function main() {
  const checkout = fs.existsSync(path.join(root, '.git'))
  if (!force && !checkout && !process.env.UVSQL_BUILD_FROM_SOURCE && prebuildLoads()) {
    console.log('uvsql: using the prebuilt binary for ' + process.platform + '-' + process.arch)
    return 0
  }
  const gyp = findNodeGyp()
  if (!gyp) {
    console.error('uvsql: node-gyp was not found. Install it (npm install -g node-gyp) and rerun `npm run build`.')
    return 1
  }
  const args = [gyp, 'rebuild', '-j', String(Math.max(1, require('node:os').availableParallelism?.() ?? 2))]
  if (debug) args.push('--debug')
  const nodedir = findNodeDir()
  if (nodedir) {
    args.push('--nodedir=' + nodedir)
  } else {
    console.warn('uvsql: no local Node headers next to ' + process.execPath + '; node-gyp will download them.')
  }
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error('\nuvsql: the native build failed. It needs a C compiler, make, python3 and the OpenSSL 3')
    console.error('static libraries (Debian/Ubuntu: apt-get install build-essential python3 libssl-dev).')
    return r.status || 1
  }
  return 0
}

if (require.main === module) process.exitCode = main()

module.exports = { findNodeDir, findNodeGyp }
