/* The pool as JS sees it: create, query, reserve, cancel, close, stats (JS entry points and
 * the wrapper's lifecycle); js_outbox.c records events and delivers them in batches.
 *
 * C decides and JS is told: query events from the pool are recorded in C (js_query_t) and
 * completed queries wait in an outbox; at the end of each I/O callback (pool_handler_t.flush)
 * the outbox goes to JS as ONE call, `onResults(rows, ...batch)`, so no microtask can run
 * between two of our JS calls from the same native callback. `rows` is one ArrayBuffer holding
 * every row batch of the call (or null); the batch is a flat list, passed as the call's
 * arguments (or, when very long, as one array):
 *   [id, kind, payload, id, kind, payload, ...]
 *   kind 11 (rows, one result set): no payload but four entries, [id, 11, command, shape,
 *                    batch | null, rowCount]
 *   kind 0 (rows):   payload = [command, shape, batch | null, rowCount], and 4 more entries per
 *                    further result set (simple protocol, several statements)
 *   kind 6 (rows so far, a long result still arriving): payload = [shape, batch, rowCount]
 * shape is null (a statement without rows), an id JS already knows, or [id, names[], oids[]]
 * the first time (id 0: not interned, not to be cached).
 * A batch is the byte offset in `rows` of a batch in the layout of src/base/base_rowbatch.h
 * (8-byte aligned); lib/rows.js decodes it with a decoder generated once per row shape.
 *   kind 1 (server): payload = { code (SQLSTATE), message, severity, detail, ... }
 *   kind 2 (client): payload = [errorName, message, serverFields | null]
 *   kind 3 (notice): id 0, payload = { severity, errno, message, ... } (only with notices on)
 *   kind 4 (notify): id 0, payload = [pid, channel, payload]
 *   kind 5 (password needed): id 0, payload = [slot, gen]; JS answers with poolPassword()
 *   kind 7 (a connection that had connected closed): id 0, payload = [errorName, message]
 *   kind 8 (a connection was established): id 0, payload = null
 *   kind 9 (a reservation got its connection): payload = [slot, seq], the lease
 *   kind 10 (a lease lost its connection): id 0, payload = [slot, seq]
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "../base/base_mem.h"
#include "../mysql/mysql.h"
#include "js_pool_int.h"

static void js_pool_env_cleanup(void *arg);

/* Frees the struct once both the pool and the JS handle are gone. */
void js__pool_free(js_pool_t *jp) {
  if (!jp->env_gone) {
    napi_remove_env_cleanup_hook(jp->env, js_pool_env_cleanup, jp);
  }
  base_intern_destroy(&jp->shapes);
  js__recycled_free(jp);
  free(jp->args);
  buf_destroy(&jp->scratch);
  buf_destroy(&jp->scratch_slices);
  buf_destroy(&jp->scratch_types);
  buf_destroy(&jp->scratch_nums);
  jp->magic = 0;
  free(jp);
}

void js__pool_release(js_pool_t *jp) {
  if (jp->pool_live) {
    pool_destroy(&jp->pool);
    jp->pool_live = 0;
  }
  if (jp->env_gone) {
    return; /* the environment frees its references itself */
  }
  if (jp->on_results != NULL) {
    napi_delete_reference(jp->env, jp->on_results);
    jp->on_results = NULL;
  }
  if (jp->on_closed != NULL) {
    napi_delete_reference(jp->env, jp->on_closed);
    jp->on_closed = NULL;
  }
  if (jp->rows_keep != NULL) {
    napi_delete_reference(jp->env, jp->rows_keep);
    jp->rows_keep = NULL;
  }
  if (jp->async_ctx != NULL) {
    napi_async_destroy(jp->env, jp->async_ctx);
    jp->async_ctx = NULL;
  }
  if (jp->async_resource != NULL) {
    napi_delete_reference(jp->env, jp->async_resource);
    jp->async_resource = NULL;
  }
  if (jp->tsfn != NULL) {
    napi_release_threadsafe_function(jp->tsfn, napi_tsfn_release);
    jp->tsfn = NULL;
  }
}

/* ---- JS entry points -------------------------------------------------------------------- */

static void js_pool_finalize(napi_env env, void *data, void *hint) {
  js_pool_t *jp = data;
  (void)env;
  (void)hint;
  jp->js_gone = 1;
  if (!jp->pool_live) {
    js__pool_free(jp);
    return;
  }
  /* Collected with connections open: close them now; on_closed frees. */
  if (pool_close(&jp->pool, 1, 0) == 1) {
    js__pool_release(jp);
    js__pool_free(jp);
  }
}

/* The environment is going away (process exit, worker end): close every connection at once
 * without calling JS. The handle finalizer or on_closed, whichever runs last, frees. */
static void js_pool_env_cleanup(void *arg) {
  js_pool_t *jp = arg;
  jp->env_gone = 1;
  if (jp->tsfn != NULL) {
    napi_release_threadsafe_function(jp->tsfn, napi_tsfn_abort);
    jp->tsfn = NULL;
  }
  if (jp->pool_live) {
    if (pool_close(&jp->pool, 1, 0) == 1) {
      js__pool_release(jp);
    }
  }
}

/* The preamble of every pool entry point: reads up to *argc arguments into argv (missing ones
 * are undefined) and takes the pool from the handle in argv[0]. NULL, with an exception, on
 * failure. The handle is an External, not a wrapped object: napi_unwrap is a private-symbol
 * property lookup (about 50 ns of the ~135 of an idle poolCancel call), napi_get_value_external
 * a type check. The magic number guards against a stray External (only lib/pool.js calls
 * these, with the handle poolCreate returned). */
static js_pool_t *pool_call(napi_env env, napi_callback_info info, size_t *argc,
                            napi_value *argv) {
  void *p = NULL;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) {
    js_throw_status(env, napi_generic_failure, "napi_get_cb_info");
    return NULL;
  }
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL ||
      ((js_pool_t *)p)->magic != JS_POOL_MAGIC) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a pool handle");
    return NULL;
  }
  return p;
}

/* A lease or a connection's {slot, seq|gen} pair from argv[1], argv[2]. */
static int read_slot_pair(napi_env env, napi_value *argv, uint32_t *slot, uint32_t *second) {
  if (napi_get_value_uint32(env, argv[1], slot) != napi_ok ||
      napi_get_value_uint32(env, argv[2], second) != napi_ok) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a slot and a sequence number");
    return -1;
  }
  return 0;
}

/* Reads config.params, an array of alternating keys and values, into a NULL-ended array. */
static napi_status read_params(napi_env env, napi_value cfg, char ***out) {
  napi_value arr;
  bool is_array = false;
  uint32_t n = 0;
  *out = NULL;
  napi_status st = napi_get_named_property(env, cfg, "params", &arr);
  if (st != napi_ok) {
    return st;
  }
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
    return napi_ok;
  }
  napi_get_array_length(env, arr, &n);
  char **params = calloc((size_t)n + 2, sizeof(char *));
  if (params == NULL) {
    return napi_generic_failure;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if ((st = napi_get_element(env, arr, i, &v)) != napi_ok ||
        (st = js_get_string(env, v, &params[i], NULL)) != napi_ok) {
      for (uint32_t j = 0; j < i; j++) {
        free(params[j]);
      }
      free(params);
      return st;
    }
  }
  *out = params;
  return napi_ok;
}

/* Reads config.sslMode (0 disable, 1 prefer, 2 require) and config.tls = { verifyPeer,
 * verifyHost, ca, cert, key, servername } (PEM text; files are read in JS). */
static napi_status read_tls(napi_env env, napi_value cfg_obj, pool_config_t *cfg) {
  double mode = 0;
  napi_status st = js_get_number_prop(env, cfg_obj, "sslMode", 0, &mode);
  if (st != napi_ok) {
    return st;
  }
  cfg->ssl_mode = mode >= 2 ? DB_SSL_REQUIRE : mode >= 1 ? DB_SSL_PREFER : DB_SSL_DISABLE;
  tls_config_init(&cfg->tls);
  napi_value tls;
  napi_valuetype t;
  if ((st = napi_get_named_property(env, cfg_obj, "tls", &tls)) != napi_ok ||
      (st = napi_typeof(env, tls, &t)) != napi_ok || t != napi_object) {
    return st;
  }
  double verify_peer = 0, verify_host = 0;
  if ((st = js_get_number_prop(env, tls, "verifyPeer", 0, &verify_peer)) != napi_ok ||
      (st = js_get_number_prop(env, tls, "verifyHost", 0, &verify_host)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "ca", &cfg->tls.ca_pem)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "cert", &cfg->tls.cert_pem)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "key", &cfg->tls.key_pem)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "servername", &cfg->tls.servername)) != napi_ok) {
    return st;
  }
  cfg->tls.verify_peer = verify_peer != 0;
  cfg->tls.verify_host = verify_host != 0;
  return napi_ok;
}

/* poolCreate(config, onResults, onClosed) -> handle */
static napi_value js_pool_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle, name, resource;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "poolCreate(config, onResults, onClosed)");
    return NULL;
  }
  pool_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  double port = 5432, max = 10, pipeline = 100, timeout = 30000, stmts = 256;
  double idle_ms = 0, lifetime_ms = 0, cbind = 0, auth_allowed = 0;
  if (js_get_string_prop(env, argv[0], "host", &cfg.host) != napi_ok ||
      js_get_string_prop(env, argv[0], "path", &cfg.path) != napi_ok ||
      js_get_string_prop(env, argv[0], "user", &cfg.user) != napi_ok ||
      js_get_string_prop(env, argv[0], "password", &cfg.password) != napi_ok ||
      js_get_string_prop(env, argv[0], "database", &cfg.database) != napi_ok ||
      js_get_number_prop(env, argv[0], "port", 5432, &port) != napi_ok ||
      js_get_number_prop(env, argv[0], "max", 10, &max) != napi_ok ||
      js_get_number_prop(env, argv[0], "maxPipeline", 100, &pipeline) != napi_ok ||
      js_get_number_prop(env, argv[0], "connectTimeoutMs", 30000, &timeout) != napi_ok ||
      js_get_number_prop(env, argv[0], "statementCacheSize", 256, &stmts) != napi_ok ||
      js_get_number_prop(env, argv[0], "idleTimeoutMs", 0, &idle_ms) != napi_ok ||
      js_get_number_prop(env, argv[0], "maxLifetimeMs", 0, &lifetime_ms) != napi_ok ||
      js_get_number_prop(env, argv[0], "channelBinding", 0, &cbind) != napi_ok ||
      js_get_number_prop(env, argv[0], "authAllowed", 0, &auth_allowed) != napi_ok ||
      read_tls(env, argv[0], &cfg) != napi_ok ||
      read_params(env, argv[0], &cfg.params) != napi_ok ||
      js__read_driver(env, argv[0], &cfg.js) != napi_ok) {
    pool_config_free(&cfg);
    return NULL;
  }
  if (cfg.host == NULL && cfg.path == NULL) {
    pool_config_free(&cfg);
    js_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "a host or a socket path is required");
    return NULL;
  }
  if (!(port >= 1 && port <= 65535) || !(max >= 1 && max <= 65535) ||
      !(pipeline >= 1 && pipeline <= 1000000) || !(timeout >= 0) ||
      !(stmts >= 0 && stmts <= 100000) || !(idle_ms >= 0) || !(lifetime_ms >= 0) ||
      !(cbind >= PG_CBIND_PREFER && cbind <= PG_CBIND_REQUIRE) ||
      !(auth_allowed >= 0 && auth_allowed <= 15)) {
    pool_config_free(&cfg);
    js_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                        "port, max, a timeout or an authentication setting out of range");
    return NULL;
  }
  cfg.port = (uint16_t)port;
  cfg.max = (uint32_t)max;
  cfg.max_pipeline = (uint32_t)pipeline;
  cfg.connect_timeout_ms = (uint64_t)timeout;
  cfg.stmt_cache_max = (uint32_t)stmts;
  cfg.idle_timeout_ms = (uint64_t)idle_ms;
  cfg.max_lifetime_ms = (uint64_t)lifetime_ms;
  cfg.channel_binding = (pg_channel_binding_t)cbind;
  cfg.auth_allowed = (unsigned)auth_allowed;
  bool notices = false, password_fn = false;
  napi_value nv;
  if (napi_get_named_property(env, argv[0], "notices", &nv) == napi_ok) {
    napi_get_value_bool(env, nv, &notices);
  }
  if (napi_get_named_property(env, argv[0], "passwordFunction", &nv) == napi_ok) {
    napi_get_value_bool(env, nv, &password_fn);
  }
  cfg.password_fn = password_fn;
  bool allow_key = false;
  if (napi_get_named_property(env, argv[0], "allowPublicKeyRetrieval", &nv) == napi_ok) {
    napi_get_value_bool(env, nv, &allow_key);
  }
  cfg.allow_public_key_retrieval = allow_key;
  char *protocol = NULL;
  if (js_get_string_prop(env, argv[0], "protocol", &protocol) != napi_ok) {
    pool_config_free(&cfg);
    return NULL;
  }
  cfg.proto = protocol != NULL && strcmp(protocol, "mysql") == 0 ? POOL_PROTO_MYSQL : POOL_PROTO_PG;
  free(protocol);

  js_pool_t *jp = calloc(1, sizeof(*jp));
  if (jp == NULL) {
    pool_config_free(&cfg);
    js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return NULL;
  }
  jp->magic = JS_POOL_MAGIC;
  jp->env = env;
  list_init(&jp->outbox);
  base_intern_init(&jp->shapes, 4096);
  list_init(&jp->inflight);
  list_init(&jp->streaming);
  uv_loop_t *loop = NULL;
  char errmsg[256] = "could not create the pool";
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    pool_config_free(&cfg);
    free(jp);
    js_throw_error(env, "ERR_UVSQL_INTERNAL", "no event loop");
    return NULL;
  }
  int rc = pool_init(&jp->pool, loop, &cfg, &js__pool_handler, jp, errmsg, sizeof(errmsg));
  if (rc < 0) {
    /* pool_init freed cfg */
    free(jp);
    js_throw_error(env, rc == DB_ENOMEM ? "ERR_UVSQL_NO_MEMORY"
                        : rc == DB_EARG  ? "ERR_POSTGRES_NOT_SUPPORTED"
                                         : "ERR_POSTGRES_TLS_CONFIG",
                   errmsg);
    return NULL;
  }
  jp->pool_live = 1;
  jp->want_notices = notices;
  if (napi_create_reference(env, argv[1], 1, &jp->on_results) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &jp->on_closed) != napi_ok ||
      napi_create_string_utf8(env, "uvsql.pool", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_reference(env, resource, 1, &jp->async_resource) != napi_ok ||
      napi_async_init(env, resource, name, &jp->async_ctx) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, jp, js__on_ready_note,
                                      &jp->tsfn) != napi_ok ||
      napi_unref_threadsafe_function(env, jp->tsfn) != napi_ok ||
      napi_create_external(env, jp, js_pool_finalize, NULL, &handle) != napi_ok ||
      napi_add_env_cleanup_hook(env, js_pool_env_cleanup, jp) != napi_ok) {
    js__pool_release(jp);
    free(jp);
    js_throw_status(env, napi_generic_failure, "poolCreate");
    return NULL;
  }
  return handle;
}

/* `v` (a string) as UTF-8 appended to jp->scratch; *at and *len say where. One pass: the
 * UTF-16 length (cheap: napi_get_value_string_latin1 without a buffer returns String::Length)
 * bounds the UTF-8 size at 3 bytes per unit, so no length pass (String::Utf8Length) and no
 * malloc per string as js_get_string needs. */
static napi_status scratch_utf8(napi_env env, js_pool_t *jp, napi_value v, size_t *at,
                                size_t *len) {
  size_t units = 0;
  napi_status st = napi_get_value_string_latin1(env, v, NULL, 0, &units);
  if (st != napi_ok) {
    return st;
  }
  if (units > (SIZE_MAX - 1) / 3 || buf_reserve(&jp->scratch, units * 3 + 1) < 0) {
    napi_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return napi_generic_failure;
  }
  *at = buf_size(&jp->scratch);
  char *dst = (char *)buf_begin(&jp->scratch) + *at;
  st = napi_get_value_string_utf8(env, v, dst, units * 3 + 1, len);
  if (st == napi_ok) {
    jp->scratch.len += *len; /* bytes written in place, inside the reserved room */
  }
  return st;
}

/* How many bytes of the UTF-8 text `p` (n bytes) hold the first `units` UTF-16 units: JS sent
 * the lengths of the parameters in UTF-16 units (String.length), C has their UTF-8. -1 when the
 * text ends first. A lone surrogate was written as the 3-byte U+FFFD: one unit, as counted. */
static ssize_t utf8_prefix(const uint8_t *p, size_t n, uint32_t units) {
  size_t i = 0;
  while (units > 0) {
    if (i >= n) {
      return -1;
    }
    uint8_t c = p[i];
    size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t u = len == 4 ? 2 : 1;
    if (u > units || i + len > n) {
      return -1;
    }
    units -= u;
    i += len;
  }
  return (ssize_t)i;
}

#define PACKED_NULL UINT32_MAX
#define PACKED_NUMBER (UINT32_MAX - 1)

/* A MySQL number parameter (a JS number, `d`) in its wire form: LONGLONG (a safe integer, as
 * lib/mysql-params.js types it) or DOUBLE, 8 bytes little-endian. -1 when it is neither. */
static int wire_number(uint32_t type, double d, uint8_t out[8]) {
  uint64_t bits;
  if ((type & 0xFFu) == MYSQL_TYPE_LONGLONG) {
    /* A safe integer; UNSIGNED (lib/mysql-params.js marks those above 2^31 - 1 so, as Bun.SQL
     * does) must not be negative. Below 2^53 both wire forms are the same bytes. */
    double lo = (type & MY_PARAM_UNSIGNED) != 0 ? 0.0 : -9007199254740991.0;
    if (!(d >= lo && d <= 9007199254740991.0) || d != (double)(int64_t)d) {
      return -1;
    }
    bits = (uint64_t)(int64_t)d;
  } else if ((type & 0xFFu) == MYSQL_TYPE_DOUBLE && isfinite(d)) {
    memcpy(&bits, &d, 8);
  } else {
    return -1;
  }
  for (int i = 0; i < 8; i++) {
    out[i] = (uint8_t)(bits >> (8 * i));
  }
  return 0;
}

/* The packed parameters (lib/pool.js packParams): `joined`, every non-NULL value back to back,
 * and `meta`, a Uint32Array of [type, UTF-16 length or 0xffffffff for NULL] per parameter.
 * Two Node-API reads for the whole query instead of two napi_get_element and two string calls
 * per parameter. A MySQL number is not in `joined`: its length is 0xfffffffe and `nums` (a
 * Float64Array, by parameter index) holds it; it goes to the engine in its wire form
 * (MY_PARAM_BINARY), neither formatted as text in JS nor parsed back in C.
 * Fills jp->scratch_slices/scratch_types; the slices point into jp->scratch and
 * jp->scratch_nums, so they are valid until the next use of those. napi_ok, or a thrown
 * error. */
static napi_status read_packed_params(napi_env env, js_pool_t *jp, napi_value joined,
                                      napi_value meta, napi_value nums_value, uint32_t *nparams) {
  napi_typedarray_type tt;
  size_t count = 0;
  void *data = NULL;
  napi_status st = napi_get_typedarray_info(env, meta, &tt, &count, &data, NULL, NULL);
  if (st != napi_ok || tt != napi_uint32_array || count % 2 != 0) {
    napi_throw_type_error(env, NULL, "poolQuery: bad packed parameters");
    return napi_invalid_arg;
  }
  const uint32_t *m = data;
  uint32_t n = (uint32_t)(count / 2);
  if (n > 65535) {
    *nparams = n;
    return napi_ok; /* the caller refuses it */
  }
  size_t at = 0, len = 0;
  st = scratch_utf8(env, jp, joined, &at, &len);
  if (st != napi_ok) {
    return st;
  }
  buf_clear(&jp->scratch_slices);
  buf_clear(&jp->scratch_types);
  if (buf_reserve(&jp->scratch_slices, (size_t)n * sizeof(slice_t)) < 0 ||
      buf_reserve(&jp->scratch_types, (size_t)n * sizeof(uint32_t)) < 0) {
    napi_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return napi_generic_failure;
  }
  const double *nums = NULL;
  size_t nnums = 0;
  napi_valuetype nt = napi_undefined;
  if (nums_value != NULL && napi_typeof(env, nums_value, &nt) == napi_ok && nt == napi_object) {
    void *ndata = NULL;
    st = napi_get_typedarray_info(env, nums_value, &tt, &nnums, &ndata, NULL, NULL);
    if (st != napi_ok || tt != napi_float64_array) {
      napi_throw_type_error(env, NULL, "poolQuery: bad packed numbers");
      return napi_invalid_arg;
    }
    nums = ndata;
    buf_clear(&jp->scratch_nums);
    if (buf_reserve(&jp->scratch_nums, (size_t)n * 8) < 0) {
      napi_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
      return napi_generic_failure;
    }
  }
  slice_t *values = (slice_t *)buf_begin(&jp->scratch_slices);
  uint32_t *types = (uint32_t *)buf_begin(&jp->scratch_types);
  uint8_t *wire = nums != NULL ? (uint8_t *)buf_begin(&jp->scratch_nums) : NULL;
  const uint8_t *p = buf_begin(&jp->scratch) + at;
  size_t left = len;
  int mysql = jp->pool.cfg.proto == POOL_PROTO_MYSQL;
  for (uint32_t i = 0; i < n; i++) {
    types[i] = m[2 * i];
    uint32_t units = m[2 * i + 1];
    if (units == PACKED_NULL) {
      values[i].p = NULL; /* SQL NULL */
      values[i].n = 0;
      continue;
    }
    if (units == PACKED_NUMBER) {
      if (!mysql || i >= nnums || wire_number(types[i], nums[i], wire + 8 * (size_t)i) < 0) {
        napi_throw_type_error(env, NULL, "poolQuery: bad packed number");
        return napi_invalid_arg;
      }
      types[i] |= MY_PARAM_BINARY;
      values[i].p = wire + 8 * (size_t)i;
      values[i].n = 8;
      continue;
    }
    ssize_t bytes = utf8_prefix(p, left, units);
    if (bytes < 0) {
      napi_throw_type_error(env, NULL, "poolQuery: parameter lengths do not match their text");
      return napi_invalid_arg;
    }
    values[i].p = p;
    values[i].n = (size_t)bytes;
    p += bytes;
    left -= (size_t)bytes;
  }
  *nparams = n;
  return napi_ok;
}

/* poolQuery(handle, id, text, params, types, simple, raw[, slot, seq[, nums]]) -> undefined; throws
 * when the pool is closed. Parameters come packed (lib/pool.js: params is one string of every
 * non-NULL value, types a Uint32Array of [type, UTF-16 length or 0xffffffff] per parameter), or,
 * when some value is a Buffer (bytes, MySQL BLOB), as arrays: params of strings (text format),
 * Buffers or null, types of parameter type OIDs (0 = inferred). simple = true sends the text with
 * the simple protocol (no params); raw = true hands every cell over as text (for .raw()). */
static napi_value js_pool_query(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  if (!jp->pool_live) {
    js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "Connection closed"); /* Bun.SQL's wording */
    return NULL;
  }
  double id;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &id));
  buf_clear(&jp->scratch);
  size_t text_at = 0, text_len = 0;
  if (scratch_utf8(env, jp, argv[2], &text_at, &text_len) != napi_ok) {
    return NULL;
  }
  uint32_t nparams = 0;
  bool is_array = false;
  napi_valuetype pt = napi_undefined;
  int packed = argc >= 5 && napi_typeof(env, argv[3], &pt) == napi_ok && pt == napi_string;
  if (packed) {
    if (read_packed_params(env, jp, argv[3], argv[4], argc >= 10 ? argv[9] : NULL, &nparams) !=
        napi_ok) {
      return NULL;
    }
  } else if (argc >= 4 && napi_is_array(env, argv[3], &is_array) == napi_ok && is_array) {
    napi_get_array_length(env, argv[3], &nparams);
  }
  if (nparams > 65535) {
    js_throw_error(env, "ERR_POSTGRES_INVALID_QUERY_BINDING",
                   "a query can have at most 65535 parameters");
    return NULL;
  }
  /* A query without parameters (S1's `select 1`) needs no arrays: three calloc/free pairs were
   * 0.8k of MySQL S1's 34k instructions per query. */
  int heap = !packed && nparams > 0;
  slice_t no_values[1] = {{0}};
  uint32_t no_types[1] = {0};
  char *no_owned[1] = {NULL};
  slice_t *values = packed ? (slice_t *)buf_begin(&jp->scratch_slices)
                    : heap ? calloc(nparams, sizeof(slice_t)) : no_values;
  uint32_t *types = packed ? (uint32_t *)buf_begin(&jp->scratch_types)
                    : heap ? calloc(nparams, sizeof(uint32_t)) : no_types;
  char **owned = packed ? NULL : heap ? calloc(nparams, sizeof(char *)) : no_owned;
  pool_query_t *q = NULL;
  js_query_t *jq = NULL;
  int ok = values != NULL && (packed || owned != NULL) && types != NULL;
  bool types_array = false;
  if (ok && !packed && argc >= 5) {
    napi_is_array(env, argv[4], &types_array);
  }
  for (uint32_t i = 0; ok && !packed && i < nparams; i++) {
    napi_value v;
    napi_valuetype t;
    ok = napi_get_element(env, argv[3], i, &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok;
    if (!ok) {
      break;
    }
    if (types_array) {
      napi_value tv;
      uint32_t oid = 0;
      if (napi_get_element(env, argv[4], i, &tv) == napi_ok &&
          napi_get_value_uint32(env, tv, &oid) == napi_ok) {
        types[i] = oid;
      }
    }
    if (t == napi_null || t == napi_undefined) {
      continue; /* SQL NULL */
    }
    size_t len = 0;
    bool is_buffer = false;
    if (t == napi_object && napi_is_buffer(env, v, &is_buffer) == napi_ok && is_buffer) {
      /* Bytes as they are (MySQL BLOB parameters); PostgreSQL's bytea goes as hex text. */
      ok = js_copy_buffer(env, v, &owned[i], &len) == napi_ok;
    } else {
      ok = js_get_string(env, v, &owned[i], &len) == napi_ok;
    }
    if (ok) {
      values[i].p = (const uint8_t *)owned[i];
      values[i].n = len;
    }
  }
  /* Only now: appending the parameters may have moved the scratch. */
  const char *text = (const char *)buf_begin(&jp->scratch) + text_at;
  if (ok) {
    jq = js__query_new(jp, id);
    ok = jq != NULL;
  }
  if (ok) {
    q = pool_query_new(text, text_len, (uint16_t)nparams, types, values, jq);
    ok = q != NULL;
    bool simple = false;
    if (ok && argc >= 6) {
      napi_get_value_bool(env, argv[5], &simple);
    }
    if (ok) {
      q->simple = simple && nparams == 0;
      bool raw = false;
      if (argc >= 7) {
        napi_get_value_bool(env, argv[6], &raw);
      }
      jq->all_text = raw;
    }
  }
  int rc = 0;
  int32_t lease_slot = -1;
  uint32_t lease_gen = 0;
  napi_valuetype lt;
  if (ok && argc >= 9 && napi_typeof(env, argv[7], &lt) == napi_ok && lt == napi_number) {
    napi_get_value_int32(env, argv[7], &lease_slot);
    napi_get_value_uint32(env, argv[8], &lease_gen);
  }
  if (ok) {
    jq->pq = q;
    list_push_back(&jp->inflight, &jq->live);
    rc = lease_slot >= 0 ? pool_query_submit_on(&jp->pool, q, (uint32_t)lease_slot, lease_gen)
                         : pool_query_submit(&jp->pool, q);
    if (rc == 0) {
      js__on_flush(jp); /* e.g. a password request for the connection this query opened */
    } else {
      list_remove(&jq->live);
    }
  }
  if (heap) {
    for (uint32_t i = 0; owned != NULL && i < nparams; i++) {
      free(owned[i]);
    }
    free(owned);
    free(values);
    free(types);
  }
  if (!ok || rc < 0) {
    pool_query_free(q);
    if (jq != NULL) {
      js__query_free(jp, jq);
    }
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) {
      if (rc == DB_ECLOSED && lease_slot >= 0) {
        js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED",
                       "the reserved connection was closed; its transaction is over");
      } else if (rc == DB_ECLOSED) {
        js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "Connection closed"); /* Bun.SQL's wording */
      } else {
        js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
      }
    }
    return NULL;
  }
  return NULL;
}

/* poolReserve(handle, id, forTransaction): asks for an exclusive lease; answered in a batch as
 * kind 9 [slot, gen], or as a client error. Throws when the pool is closed. A transaction's
 * lease keeps running its queries through a graceful close (pool_slot_t.close_hold). */
static napi_value js_pool_reserve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  if (!jp->pool_live || jp->pool.closing) {
    js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "Connection closed"); /* Bun.SQL's wording */
    return NULL;
  }
  double id;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &id));
  js_query_t *jq = js__query_new(jp, id);
  pool_query_t *q = jq != NULL ? pool_query_new("", 0, 0, NULL, NULL, jq) : NULL;
  if (q == NULL) {
    free(jq);
    js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return NULL;
  }
  bool for_tx = false;
  if (argc > 2 && napi_get_value_bool(env, argv[2], &for_tx) != napi_ok) {
    for_tx = false;
  }
  /* Registered first: an idle connection grants the lease during the call (on_reserved). */
  jq->pq = q;
  list_push_back(&jp->inflight, &jq->live);
  if (pool_reserve(&jp->pool, q, for_tx) < 0) {
    list_remove(&jq->live);
    pool_query_free(q);
    js__query_free(jp, jq);
    js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "Connection closed"); /* Bun.SQL's wording */
    return NULL;
  }
  js__on_flush(jp); /* the lease if granted at once, or a password request */
  return NULL;
}

/* poolRelease(handle, slot, gen, discard): gives a lease back (a stale one is a no-op); with
 * discard = true its connection is closed instead of reused. */
static napi_value js_pool_release_lease(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  uint32_t slot = 0, gen = 0;
  if (read_slot_pair(env, argv, &slot, &gen) < 0) {
    return NULL;
  }
  bool discard = false;
  if (argc >= 4) {
    napi_get_value_bool(env, argv[3], &discard);
  }
  if (jp->pool_live) {
    pool_release(&jp->pool, slot, gen, discard);
  }
  return NULL;
}

/* poolCancel(handle, id) -> true when a cancel was made (a waiting query fails at once, a
 * running one gets a CancelRequest); false when the query is no longer in flight. */
static napi_value js_pool_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  double id = 0;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &id));
  int rc = DB_EARG;
  if (jp->pool_live) {
    for (list_node_t *n = jp->inflight.next; n != &jp->inflight; n = n->next) {
      js_query_t *jq = container_of(n, js_query_t, live);
      if (jq->id == id) {
        pool_callbacks_begin(&jp->pool);
        rc = pool_query_cancel(&jp->pool, jq->pq);
        pool_callbacks_end(&jp->pool); /* a waiting query failed at once */
        break;
      }
    }
  }
  /* 0 done or sent, 1 waits for the query's turn (pipelined behind others), < 0 not found. */
  NAPI_CALL(env, napi_create_int32(env, rc, &result));
  return result;
}

/* poolPassword(handle, slot, gen, password | null, error | null): the answer of the password
 * function for the connection that asked (kind 5). */
static napi_value js_pool_password(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  uint32_t slot = 0, gen = 0;
  if (read_slot_pair(env, argv, &slot, &gen) < 0) {
    return NULL;
  }
  char *password = NULL, *error = NULL;
  napi_valuetype t;
  if (argc >= 4 && napi_typeof(env, argv[3], &t) == napi_ok && t == napi_string &&
      js_get_string(env, argv[3], &password, NULL) != napi_ok) {
    return NULL;
  }
  if (argc >= 5 && napi_typeof(env, argv[4], &t) == napi_ok && t == napi_string &&
      js_get_string(env, argv[4], &error, NULL) != napi_ok) {
    base_wipe_free(password);
    return NULL;
  }
  if (jp->pool_live) {
    /* No callback comes from this synchronously: a failure closes the socket first. */
    pool_password_supplied(&jp->pool, slot, gen, password, error);
  }
  base_wipe_free(password);
  free(error);
  return NULL;
}

/* poolClose(handle, timeoutMs) -> true when already closed (no onClosed call follows).
 * timeoutMs < 0: wait for running and queued queries; 0: fail them at once; > 0: wait at most
 * that long, then fail what is left. */
static napi_value js_pool_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  double timeout = -1;
  if (argc >= 2) {
    napi_get_value_double(env, argv[1], &timeout);
  }
  int done = 1;
  if (jp->pool_live) {
    pool_callbacks_begin(&jp->pool);
    done = pool_close(&jp->pool, timeout == 0, timeout > 0 ? (uint64_t)timeout : 0);
    pool_callbacks_end(&jp->pool); /* delivers the queries an immediate close failed */
    if (done) {
      js__pool_release(jp);
    }
  }
  NAPI_CALL(env, napi_get_boolean(env, done != 0, &result));
  return result;
}

/* poolStats(handle) -> slot counts by state plus the pool's counters (see pool_stats_t). */
static napi_value js_pool_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, v;
  js_pool_t *jp = pool_call(env, info, &argc, argv);
  if (jp == NULL) {
    return NULL;
  }
  NAPI_CALL(env, napi_create_object(env, &obj));
  if (!jp->pool_live) {
    return obj;
  }
  uint32_t counts[SLOT__COUNT];
  pool_count_states(&jp->pool, counts);
  const char *names[SLOT__COUNT] = {"empty",    "connecting", "pending", "ready",
                                    "busy",     "reserved",   "closing"};
  for (int i = 0; i < SLOT__COUNT; i++) {
    NAPI_CALL(env, napi_create_uint32(env, counts[i], &v));
    NAPI_CALL(env, napi_set_named_property(env, obj, names[i], v));
  }
  const pool_stats_t *st = &jp->pool.stats;
  struct {
    const char *name;
    double value;
  } extra[] = {
    {"waiting", jp->pool.nwaiting},
    {"live", jp->pool.live_conns},
    {"opened", (double)st->opened},
    {"connected", (double)st->connected},
    {"connectFailures", (double)st->connect_failures},
    {"retries", (double)st->retries},
    {"closed", (double)st->closed},
    {"closedIdle", (double)st->closed_idle},
    {"closedLifetime", (double)st->closed_lifetime},
    {"closedByPool", (double)st->closed_by_pool},
    {"closedByError", (double)st->closed_by_error},
    {"staleEvents", (double)st->stale_events},
    {"queries", (double)st->queries},
    {"waiterMs", (double)st->waiter_ms},
    {"badTransitions", (double)st->bad_transitions},
    {"cancelResends", (double)st->cancel_resends},
  };
  for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
    NAPI_CALL(env, napi_create_double(env, extra[i].value, &v));
    NAPI_CALL(env, napi_set_named_property(env, obj, extra[i].name, v));
  }
  return obj;
}

napi_value js_pool_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"poolCreate", NULL, js_pool_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolQuery", NULL, js_pool_query, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolClose", NULL, js_pool_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolCancel", NULL, js_pool_cancel, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolPassword", NULL, js_pool_password, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolReserve", NULL, js_pool_reserve, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolRelease", NULL, js_pool_release_lease, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolStats", NULL, js_pool_stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  /* lib/pool.js keeps its views into a row buffer up to this size, as C keeps the buffer. */
  napi_value keep_max;
  NAPI_CALL(env, napi_create_uint32(env, JS_ROWS_KEEP_MAX, &keep_max));
  NAPI_CALL(env, napi_set_named_property(env, exports, "rowsKeepMax", keep_max));
  return exports;
}
