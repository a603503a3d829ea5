/* The Node-API side of the `js` I/O driver (src/net/net_js.h): JS entry points for socket
 * events, and the host that hands queued ops to JS (lib/driver-js.js).
 *
 *   driverCreate(run, plainCall) -> handle   one per JS environment (lib/driver-js.js keeps
 *                                    it); plainCall: call `run` with napi_call_function (Bun)
 *                                    rather than as an async callback (Node)
 *   driverEvent(handle, id, ev, data)   a socket event; data: a Buffer or an ArrayBuffer (DATA),
 *                                    an errno (ERROR),
 *                                    the fd C may write to directly or nothing (CONNECT), the
 *                                    number of WRITE ops now all in the kernel (DRAINED)
 *   run(op, id, arg, op, id, arg, ...)  called from C, the ops as arguments; more than 8 ops
 *                                    come as one array [op, id, arg, ...] instead
 *     OPEN: arg = [host | null, port, path | null, ref]; WRITE: a Buffer (a copy);
 *     END, DESTROY: undefined; REF: a boolean.
 * A pool uses the driver when its config has `driver: handle` (js__read_driver).
 */
#include <stdlib.h>

#include "../net/net_js.h"
#include "js.h"

typedef struct {
  napi_env env;
  net_js_t *js;            /* one reference (the pools hold theirs) */
  napi_ref run;            /* strong: the JS function that runs ops */
  napi_async_context async_ctx;
  napi_ref async_resource; /* strong, as in js_pool.c: the resource must outlive async_ctx */
  int env_gone;
  int plain_call;          /* run through napi_call_function (see call_run) */
} js_sock_t;

/* Tells a driver handle from any other wrapped object (a pool handle, say). */
static const napi_type_tag driver_tag = {0x757673716c6a7300ull, 0x6472697665720001ull};

/* ---- C -> JS ---------------------------------------------------------------------------- */

static napi_value op_arg(napi_env env, net_sock_t *s, uint8_t op) {
  napi_value v = NULL, part;
  switch (op) {
  case NET_JS_OP_OPEN:
    napi_create_array_with_length(env, 4, &v);
    if (s->host != NULL && s->path == NULL) {
      napi_create_string_utf8(env, s->host, NAPI_AUTO_LENGTH, &part);
    } else {
      napi_get_null(env, &part);
    }
    napi_set_element(env, v, 0, part);
    napi_create_uint32(env, s->port, &part);
    napi_set_element(env, v, 1, part);
    if (s->path != NULL) {
      napi_create_string_utf8(env, s->path, NAPI_AUTO_LENGTH, &part);
    } else {
      napi_get_null(env, &part);
    }
    napi_set_element(env, v, 2, part);
    napi_get_boolean(env, s->ref != 0, &part);
    napi_set_element(env, v, 3, part);
    break;
  case NET_JS_OP_WRITE:
    napi_create_buffer_copy(env, buf_size(&s->wpending), buf_begin(&s->wpending), NULL, &v);
    break;
  case NET_JS_OP_REF:
    napi_get_boolean(env, s->ref != 0, &v);
    break;
  default:
    napi_get_undefined(env, &v);
    break;
  }
  return v;
}

/* Up to this many values (8 ops) travel as the call's arguments, more as one array: filling
 * an array costs a Node-API call per value. */
#define RUN_ARGS_MAX 24

static void call_run(js_sock_t *h, size_t argc, napi_value *argv) {
  napi_env env = h->env;
  if (!h->plain_call) {
    /* As an async callback: from a timer (no JS on the stack) the ticks and microtasks that
     * the socket calls queue must still drain. */
    js_call_async(env, h->async_ctx, h->run, argc, argv);
    return;
  }
  /* Bun drains the microtasks after each native callback of its loop (a uv timer here: the
   * deferred CLOSED events of lib/driver-bun.js arrive), so a plain call is enough there, and
   * it is cheaper than make_callback (S1 under Bun: about 5% less client CPU). */
  napi_value fn, recv;
  if (napi_get_reference_value(env, h->run, &fn) != napi_ok || fn == NULL ||
      napi_get_global(env, &recv) != napi_ok) {
    return;
  }
  if (napi_call_function(env, recv, fn, argc, argv, NULL) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void host_run(void *ctx, net_js_t *js, const net_js_op_t *ops, size_t n) {
  js_sock_t *h = ctx;
  napi_env env = h->env;
  if (h->env_gone) {
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  napi_value args[RUN_ARGS_MAX], batch = NULL, v[3];
  int as_array = n * 3 > RUN_ARGS_MAX;
  uint32_t k = 0;
  if (as_array) {
    napi_create_array(env, &batch);
  }
  for (size_t i = 0; i < n; i++) {
    net_sock_t *s = net_js_lookup(js, ops[i].id);
    if (s == NULL) {
      continue; /* JS already let go of it */
    }
    napi_create_uint32(env, ops[i].op, &v[0]);
    napi_create_double(env, ops[i].id, &v[1]);
    v[2] = op_arg(env, s, ops[i].op);
    for (int j = 0; j < 3; j++, k++) {
      if (as_array) {
        napi_set_element(env, batch, k, v[j]);
      } else {
        args[k] = v[j];
      }
    }
  }
  if (k > 0) {
    call_run(h, as_array ? 1 : k, as_array ? &batch : args);
  }
  napi_close_handle_scope(env, scope);
}

static const net_js_host_t host = {.run = host_run};

/* ---- lifetime --------------------------------------------------------------------------- */

static void drop_refs(js_sock_t *h) {
  if (h->env_gone) {
    return; /* the environment frees its references itself */
  }
  if (h->run != NULL) {
    napi_delete_reference(h->env, h->run);
  }
  if (h->async_ctx != NULL) {
    napi_async_destroy(h->env, h->async_ctx);
  }
  if (h->async_resource != NULL) {
    napi_delete_reference(h->env, h->async_resource);
  }
}

/* Teardown: JS will send no more events. Sockets waiting for theirs are done now. */
static void driver_env_cleanup(void *arg) {
  js_sock_t *h = arg;
  h->env_gone = 1;
  net_js_shutdown(h->js);
}

static void driver_finalize(napi_env env, void *data, void *hint) {
  js_sock_t *h = data;
  (void)env;
  (void)hint;
  if (!h->env_gone) {
    napi_remove_env_cleanup_hook(h->env, driver_env_cleanup, h);
  }
  h->js->gone = 1; /* pools still open keep the driver, but nobody runs its ops any more */
  net_js_release(h->js);
  drop_refs(h);
  free(h);
}

/* ---- JS entry points -------------------------------------------------------------------- */

/* driverCreate(run, plainCall) -> handle */
static napi_value js_driver_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], handle, name, resource;
  uv_loop_t *loop = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  NAPI_CALL(env, napi_get_uv_event_loop(env, &loop));
  js_sock_t *h = calloc(1, sizeof(*h));
  if (h == NULL || (h->js = net_js_new(loop, &host, h)) == NULL) {
    free(h);
    js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return NULL;
  }
  h->env = env;
  bool plain = false;
  if (argc >= 2) {
    napi_get_value_bool(env, argv[1], &plain);
  }
  h->plain_call = plain;
  if (napi_create_reference(env, argv[0], 1, &h->run) != napi_ok ||
      napi_create_string_utf8(env, "uvsql.driver", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_reference(env, resource, 1, &h->async_resource) != napi_ok ||
      napi_async_init(env, resource, name, &h->async_ctx) != napi_ok ||
      napi_create_object(env, &handle) != napi_ok ||
      napi_type_tag_object(env, handle, &driver_tag) != napi_ok ||
      napi_wrap(env, handle, h, driver_finalize, NULL, NULL) != napi_ok) {
    drop_refs(h);
    net_js_release(h->js);
    free(h);
    js_throw_status(env, napi_generic_failure, "driverCreate");
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, driver_env_cleanup, h) != napi_ok) {
    js_throw_status(env, napi_generic_failure, "driverCreate");
    return NULL; /* the handle is wrapped: its finalizer frees */
  }
  return handle;
}

static js_sock_t *unwrap_driver(napi_env env, napi_value v) {
  bool tagged = false;
  void *p = NULL;
  if (napi_check_object_type_tag(env, v, &driver_tag, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &p) != napi_ok) {
    return NULL;
  }
  return p;
}

/* A DATA chunk's bytes: an ArrayBuffer under Bun (lib/driver-bun.js asks Bun.connect for
 * those), a Buffer from node:net. Bun's napi_get_buffer_info (and napi_get_typedarray_info)
 * first moves a small chunk's in-heap storage into an ArrayBuffer of its own, an allocation and
 * a copy per read (0.7 us of MySQL S1's 60 per query); an ArrayBuffer's bytes are where they
 * are. */
static napi_status read_chunk(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_ab = false;
  if (napi_is_arraybuffer(env, v, &is_ab) == napi_ok && is_ab) {
    return napi_get_arraybuffer_info(env, v, data, len);
  }
  return napi_get_buffer_info(env, v, data, len);
}

/* driverEvent(handle, id, ev, data) */
static napi_value js_driver_event(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_sock_t *h = argc >= 3 ? unwrap_driver(env, argv[0]) : NULL;
  double id = 0;
  int32_t ev = 0, code = 0;
  if (h == NULL || napi_get_value_double(env, argv[1], &id) != napi_ok ||
      napi_get_value_int32(env, argv[2], &ev) != napi_ok) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "driverEvent(handle, id, event, data)");
    return NULL;
  }
  void *data = NULL;
  size_t len = 0;
  if (ev == NET_JS_EV_DATA && (argc < 4 || read_chunk(env, argv[3], &data, &len) != napi_ok)) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "driverEvent: data must be a Buffer or ArrayBuffer");
    return NULL;
  }
  if (ev == NET_JS_EV_CONNECT) {
    code = -1; /* no fd: every write goes through JS */
  }
  if ((ev == NET_JS_EV_ERROR || ev == NET_JS_EV_CONNECT || ev == NET_JS_EV_DRAINED) && argc >= 4) {
    napi_get_value_int32(env, argv[3], &code); /* DRAINED: a count mod 2^32, wrapped as int32 */
  }
  if (!h->env_gone) {
    net_js_event(h->js, id, ev, data, len, code);
  }
  return NULL;
}

napi_status js__read_driver(napi_env env, napi_value cfg, struct net_js_s **out) {
  napi_value v;
  napi_valuetype t;
  *out = NULL;
  napi_status st = napi_get_named_property(env, cfg, "driver", &v);
  if (st != napi_ok || (st = napi_typeof(env, v, &t)) != napi_ok || t != napi_object) {
    return st;
  }
  js_sock_t *h = unwrap_driver(env, v);
  if (h == NULL) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "config.driver is not a driver handle");
    return napi_invalid_arg;
  }
  net_js_retain(h->js);
  *out = h->js;
  return napi_ok;
}

napi_value js_sock_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"driverCreate", NULL, js_driver_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"driverEvent", NULL, js_driver_event, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
