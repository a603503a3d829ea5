/* Conversions between JS values and C data, and error throwing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js.h"

void js_throw_status(napi_env env, napi_status st, const char *call) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    return;
  }
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *detail = info != NULL && info->error_message != NULL ? info->error_message
                                                                    : "Node-API call failed";
  char msg[256];
  (void)st;
  snprintf(msg, sizeof(msg), "uvsql internal error: %s (%s)", detail, call);
  napi_throw_error(env, "ERR_UVSQL_INTERNAL", msg);
}

void js_throw_type_error(napi_env env, const char *code, const char *message) {
  napi_throw_type_error(env, code, message);
}

void js_throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
}

napi_status js_copy_buffer(napi_env env, napi_value v, char **out, size_t *len) {
  void *data = NULL;
  size_t n = 0;
  *out = NULL;
  napi_status st = napi_get_buffer_info(env, v, &data, &n);
  if (st != napi_ok) {
    return st;
  }
  char *copy = malloc(n + 1);
  if (copy == NULL) {
    napi_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return napi_generic_failure;
  }
  if (n > 0) {
    memcpy(copy, data, n);
  }
  copy[n] = '\0';
  *out = copy;
  *len = n;
  return napi_ok;
}

napi_status js_get_string(napi_env env, napi_value v, char **out, size_t *len) {
  size_t n = 0;
  *out = NULL;
  napi_status st = napi_get_value_string_utf8(env, v, NULL, 0, &n);
  if (st != napi_ok) {
    return st;
  }
  char *s = malloc(n + 1);
  if (s == NULL) {
    napi_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return napi_generic_failure;
  }
  st = napi_get_value_string_utf8(env, v, s, n + 1, &n);
  if (st != napi_ok) {
    free(s);
    return st;
  }
  *out = s;
  if (len != NULL) {
    *len = n;
  }
  return napi_ok;
}

/* Gets obj[key] and its type; *absent = 1 for undefined/null. Throws a TypeError naming the
 * option when the type is not `want`. */
static napi_status get_typed_prop(napi_env env, napi_value obj, const char *key, napi_valuetype want,
                                  const char *want_name, napi_value *out, int *absent) {
  napi_valuetype t;
  *absent = 0;
  napi_status st = napi_get_named_property(env, obj, key, out);
  if (st != napi_ok) {
    return st;
  }
  if ((st = napi_typeof(env, *out, &t)) != napi_ok) {
    return st;
  }
  if (t == napi_undefined || t == napi_null) {
    *absent = 1;
    return napi_ok;
  }
  if (t != want) {
    char msg[128];
    snprintf(msg, sizeof(msg), "option '%s' must be a %s", key, want_name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return want == napi_string ? napi_string_expected : napi_number_expected;
  }
  return napi_ok;
}

napi_status js_get_string_prop(napi_env env, napi_value obj, const char *key, char **out) {
  napi_value v;
  int absent;
  *out = NULL;
  napi_status st = get_typed_prop(env, obj, key, napi_string, "string", &v, &absent);
  if (st != napi_ok || absent) {
    return st;
  }
  return js_get_string(env, v, out, NULL);
}

napi_status js_get_number_prop(napi_env env, napi_value obj, const char *key, double fallback,
                               double *out) {
  napi_value v;
  int absent;
  *out = fallback;
  napi_status st = get_typed_prop(env, obj, key, napi_number, "number", &v, &absent);
  if (st != napi_ok || absent) {
    return st;
  }
  return napi_get_value_double(env, v, out);
}

void js_call_async(napi_env env, napi_async_context ctx, napi_ref fn_ref, size_t argc,
                   napi_value *argv) {
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) {
    return;
  }
  /* The receiver must be an object: napi_make_callback converts it with ToObject. */
  napi_get_global(env, &recv);
  napi_status st = napi_make_callback(env, ctx, recv, fn, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (st == napi_pending_exception || pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

napi_value js_string(napi_env env, const char *p, size_t n) {
  napi_value v = NULL;
  if (napi_create_string_utf8(env, p != NULL ? p : "", p != NULL ? n : 0, &v) != napi_ok) {
    return NULL;
  }
  return v;
}
