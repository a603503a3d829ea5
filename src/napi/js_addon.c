/* Addon entry point: the only exported symbol (everything else is hidden). */
#include "js.h"

static napi_value addon_init(napi_env env, napi_value exports) {
  if (js_pool_init(env, exports) == NULL || js_sock_init(env, exports) == NULL) {
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, addon_init)
