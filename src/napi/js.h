/* The Node-API layer: the only code that includes node_api.h. Everything runs on the JS thread
 * (which is also the loop thread). */
#ifndef UVSQL_JS_H
#define UVSQL_JS_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>

/* Throws a JS Error for a failed napi call (unless one is already pending). */
void js_throw_status(napi_env env, napi_status st, const char *call);

/* Checks a napi call; on failure throws and returns NULL from the calling function. */
#define NAPI_CALL(env, call)                   \
  do {                                         \
    napi_status st_ = (call);                  \
    if (st_ != napi_ok) {                      \
      js_throw_status((env), st_, #call);      \
      return NULL;                             \
    }                                          \
  } while (0)

/* Same, for functions returning void. */
#define NAPI_CALL_VOID(env, call)              \
  do {                                         \
    napi_status st_ = (call);                  \
    if (st_ != napi_ok) {                      \
      js_throw_status((env), st_, #call);      \
      return;                                  \
    }                                          \
  } while (0)

/* Throws `new TypeError(message)` with err.code = code. */
void js_throw_type_error(napi_env env, const char *code, const char *message);
void js_throw_error(napi_env env, const char *code, const char *message);

/* Reads a property of `obj` as a malloc'd UTF-8 string. *out = NULL when the property is
 * undefined or null. Returns napi_ok, or throws a TypeError and returns an error status. */
napi_status js_get_string_prop(napi_env env, napi_value obj, const char *key, char **out);
/* Reads a number property; `fallback` when undefined. */
napi_status js_get_number_prop(napi_env env, napi_value obj, const char *key, double fallback,
                               double *out);
/* Reads a string value (malloc'd, NUL-terminated, *len excludes the NUL). */
napi_status js_get_string(napi_env env, napi_value v, char **out, size_t *len);
/* Copies a Buffer's bytes (malloc'd, with a NUL after them that *len excludes). */
napi_status js_copy_buffer(napi_env env, napi_value v, char **out, size_t *len);

/* Creates a JS string from bytes that the server sent (invalid UTF-8 is replaced). */
napi_value js_string(napi_env env, const char *p, size_t n);

/* Calls a JS callback as a top-level async callback (microtasks drain after it unless JS is
 * already on the stack, and AsyncLocalStorage context is kept); an exception goes to the
 * process, like an uncaught one. */
void js_call_async(napi_env env, napi_async_context ctx, napi_ref fn_ref, size_t argc,
                   napi_value *argv);

/* Registers the pool functions on `exports`. */
napi_value js_pool_init(napi_env env, napi_value exports);

/* Registers the js I/O driver's functions on `exports` (js_sock.c). */
napi_value js_sock_init(napi_env env, napi_value exports);
/* config.driver -> a counted reference to its js driver (NULL when absent: the uv driver).
 * Throws a TypeError for anything but a driver handle. */
struct net_js_s;
napi_status js__read_driver(napi_env env, napi_value cfg, struct net_js_s **out);

#endif
