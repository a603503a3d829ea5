'use strict'
// libpq's client-side authentication settings, for PostgreSQL: channel_binding and
// require_auth. They come from an option (snake_case or camelCase), the URL's query
// (postgres://...?channel_binding=require, as cloud providers hand out) or libpq's environment
// variables, and never reach the server as startup parameters (it would refuse the unknown
// names). The C engine checks them before it answers any authentication request, so a
// refused method costs no credential.

const { pick, invalid } = require('./option-values.js')

// Values of pg_channel_binding_t (src/pg/pg.h).
const CHANNEL_BINDING = { prefer: 0, disable: 1, require: 2 }
// PG_AUTH_ALLOW_* bits (src/pg/pg.h); gss and sspi are valid names that this client never
// uses, so allowing them allows nothing.
const AUTH_BITS = { none: 1, password: 2, md5: 4, 'scram-sha-256': 8, gss: 0, sspi: 0 }
const ALL_AUTH = 15

function parseChannelBinding(value) {
  if (value === undefined) return CHANNEL_BINDING.prefer
  const v = String(value).toLowerCase()
  if (!(v in CHANNEL_BINDING)) throw invalid(`channel_binding must be disable, prefer or require, got '${value}'`)
  return CHANNEL_BINDING[v]
}

// "scram-sha-256", "md5,password", or all negated: "!password,!md5". Returns the allowed bits
// (0 = any method, the default).
function parseRequireAuth(value) {
  if (value === undefined) return 0
  const names = String(value).split(',').map((s) => s.trim().toLowerCase())
  const negated = names.map((n) => n.startsWith('!'))
  if (negated.some((x) => x !== negated[0])) {
    throw invalid(`require_auth cannot mix negated and plain methods: '${value}'`)
  }
  let bits = 0
  for (const raw of names) {
    const name = negated[0] ? raw.slice(1) : raw
    if (!(name in AUTH_BITS)) {
      throw invalid(`require_auth: unknown method '${name}' (use password, md5, scram-sha-256 or none, or their negations with '!')`)
    }
    bits |= AUTH_BITS[name]
  }
  const allowed = negated[0] ? ALL_AUTH & ~bits : bits
  if (allowed === 0) throw invalid(`require_auth '${value}' allows no method this client supports`)
  return allowed
}

// libpq settings with no meaning for this client's single-host connections, accepted in URLs
// (so a libpq connection string works unchanged) when their value changes nothing here.
const HARMLESS = {
  gssencmode: ['disable', 'prefer'],
  target_session_attrs: ['any'],
  sslnegotiation: ['postgres'],
}

// Takes the settings out of `urlParams` (mutated: they must not become startup parameters).
// Returns { channelBinding, authAllowed, connectTimeout } for the native config.
function takePgAuthOptions(o, urlParams, env, adapter) {
  const cbRaw = [o.channel_binding, o.channelBinding, urlParams.channel_binding]
  const raRaw = [o.require_auth, o.requireAuth, urlParams.require_auth]
  const connectTimeout = urlParams.connect_timeout
  delete urlParams.channel_binding
  delete urlParams.require_auth
  delete urlParams.connect_timeout
  for (const [k, ok] of Object.entries(HARMLESS)) {
    if (urlParams[k] === undefined) continue
    if (!ok.includes(String(urlParams[k]).toLowerCase())) {
      throw invalid(`${k}=${urlParams[k]} is not supported (accepted: ${ok.join(', ')})`)
    }
    delete urlParams[k]
  }
  if (adapter !== 'postgres') {
    if (pick(...cbRaw) !== undefined || pick(...raRaw) !== undefined) {
      throw invalid('channel_binding and require_auth are PostgreSQL settings')
    }
    return { channelBinding: 0, authAllowed: 0, connectTimeout }
  }
  const channelBinding = parseChannelBinding(pick(...cbRaw, env.PGCHANNELBINDING))
  const authAllowed = parseRequireAuth(pick(...raRaw, env.PGREQUIREAUTH))
  if (channelBinding === CHANNEL_BINDING.require && authAllowed !== 0 && (authAllowed & AUTH_BITS['scram-sha-256']) === 0) {
    throw invalid('channel_binding=require needs SCRAM-SHA-256, which require_auth rules out')
  }
  return { channelBinding, authAllowed, connectTimeout }
}

module.exports = { takePgAuthOptions }
