/* The `js` driver (see net_js.h): an id table, an op queue for JS, and the events from JS
 * turned into the net_sock callbacks. Calls no uv function but uv_timer_* and uv_close, which
 * are real in Bun. */
#include "net_js.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../base/base_err.h"

#define ID_INDEX_SPAN 16777216.0 /* 2^24 sockets; id = gen * span + index, exact in a double */
#define GEN_MAX 0x1fffffffu      /* gen * span stays below 2^53 */

/* ---- lifetime --------------------------------------------------------------------------- */

net_js_t *net_js_new(uv_loop_t *loop, const net_js_host_t *host, void *host_ctx) {
  net_js_t *js = calloc(1, sizeof(*js));
  if (js == NULL) {
    return NULL;
  }
  js->loop = loop;
  js->host = host;
  js->host_ctx = host_ctx;
  js->refs = 1;
  return js;
}

static void js_free(net_js_t *js) {
  free(js->slots);
  free(js->ops);
  free(js);
}

static void on_kick_closed(uv_handle_t *h) {
  js_free(h->data);
}

void net_js_retain(net_js_t *js) {
  if (js != NULL) {
    js->refs++;
  }
}

void net_js_release(net_js_t *js) {
  if (js == NULL || --js->refs > 0) {
    return;
  }
  /* Every pool is gone, so every socket is too. */
  if (js->kick_live) {
    js->kick_live = 0;
    uv_close((uv_handle_t *)&js->kick, on_kick_closed);
    return;
  }
  js_free(js);
}

/* ---- the id table ----------------------------------------------------------------------- */

static double slot_id(const net_js_t *js, uint32_t index) {
  return (double)js->slots[index].gen * ID_INDEX_SPAN + (double)index;
}

net_sock_t *net_js_lookup(net_js_t *js, double id) {
  if (!(id >= ID_INDEX_SPAN) || id != (double)(uint64_t)id) {
    return NULL;
  }
  uint64_t v = (uint64_t)id;
  uint32_t index = (uint32_t)(v % (uint64_t)ID_INDEX_SPAN);
  uint64_t gen = v / (uint64_t)ID_INDEX_SPAN;
  if (index >= js->nslots || js->slots[index].gen != gen) {
    return NULL;
  }
  return js->slots[index].sock;
}

static int table_add(net_js_t *js, net_sock_t *s) {
  uint32_t index = 0;
  while (index < js->nslots && js->slots[index].sock != NULL) {
    index++;
  }
  if (index == js->nslots) {
    uint32_t n = js->nslots == 0 ? 16 : js->nslots * 2;
    if (n > (uint32_t)ID_INDEX_SPAN) {
      return DB_ENOMEM;
    }
    net_js_slot_t *slots = realloc(js->slots, n * sizeof(*slots));
    if (slots == NULL) {
      return DB_ENOMEM;
    }
    memset(slots + js->nslots, 0, (n - js->nslots) * sizeof(*slots));
    js->slots = slots;
    js->nslots = n;
  }
  net_js_slot_t *slot = &js->slots[index];
  /* A new generation: an event for the previous socket at this index can never reach s. */
  slot->gen = slot->gen >= GEN_MAX ? 1 : slot->gen + 1;
  slot->sock = s;
  slot->ref_queued = 0; /* a REF op for the previous socket here may still be queued */
  s->js_id = slot_id(js, index);
  js->live++;
  return 0;
}

static net_js_slot_t *slot_of(net_js_t *js, const net_sock_t *s) {
  return &js->slots[(uint64_t)s->js_id % (uint64_t)ID_INDEX_SPAN];
}

static void table_remove(net_js_t *js, net_sock_t *s) {
  if (net_js_lookup(js, s->js_id) == s) {
    slot_of(js, s)->sock = NULL;
    js->live--;
  }
  s->js_id = 0;
}

/* ---- ops for JS ------------------------------------------------------------------------- */

static void flush_all(net_js_t *js);

static void on_kick(uv_timer_t *t) {
  flush_all(t->data);
}

/* Outside a bracket nobody is sure to flush soon: a 0 ms timer does (ref'd, so a write that
 * is on its way keeps the process alive). */
static void arm_kick(net_js_t *js) {
  if (!js->kick_live) {
    if (uv_timer_init(js->loop, &js->kick) < 0) {
      return;
    }
    js->kick.data = js;
    js->kick_live = 1;
  }
  uv_timer_start(&js->kick, on_kick, 0, 0);
}

/* REF ops are lazy: a pooled socket is ref'd when a query starts and unref'd when it goes
 * idle, twice per query one at a time (S1), and the next query usually comes before the loop
 * turns. So a REF op waits for the 0 ms timer (or for other ops), and leaves only if JS's state
 * then differs from s->ref: one crossing per query instead of three. */
static int queue_op(net_sock_t *s, uint8_t op) {
  net_js_t *js = s->js;
  if (js->nops == js->cap_ops) {
    size_t cap = js->cap_ops == 0 ? 32 : js->cap_ops * 2;
    net_js_op_t *ops = realloc(js->ops, cap * sizeof(*ops));
    if (ops == NULL) {
      return DB_ENOMEM; /* the socket never hears of it; its deadline or the peer ends it */
    }
    js->ops = ops;
    js->cap_ops = cap;
  }
  js->ops[js->nops].op = op;
  js->ops[js->nops].id = s->js_id;
  js->nops++;
  if (op != NET_JS_OP_REF) {
    js->nurgent++;
  }
  if (js->depth == 0 || op == NET_JS_OP_REF) {
    arm_kick(js);
  }
  return 0;
}

/* Drops the REF ops that would not change JS's state, and notes what JS will hold. */
static size_t settle_refs(net_js_t *js, net_js_op_t *ops, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    net_sock_t *s = net_js_lookup(js, ops[i].id);
    if (s != NULL && ops[i].op == NET_JS_OP_OPEN) {
      slot_of(js, s)->ref_js = (uint8_t)s->ref; /* OPEN carries s->ref (js_sock.c) */
    } else if (s != NULL && ops[i].op == NET_JS_OP_REF) {
      net_js_slot_t *slot = slot_of(js, s);
      slot->ref_queued = 0;
      if (slot->ref_js == s->ref) {
        continue;
      }
      slot->ref_js = (uint8_t)s->ref;
    }
    ops[k++] = ops[i];
  }
  return k;
}

/* ---- direct writes ---------------------------------------------------------------------- */

#ifdef MSG_NOSIGNAL
/* The send Bun's socket.write makes (Bun 1.4 under strace: one sendto per write, these flags,
 * nothing buffered in front of it), made here instead: no crossing into JS, no Buffer copy.
 * Allowed while JS holds none of this socket's bytes (every WRITE op it got is drained) and
 * neither side has ended it (an fd Bun closed could be reused by another socket). */
static int direct_ok(const net_sock_t *s) {
  return s->js_fd >= 0 && s->js_open && !s->js_ended && s->js_handed == s->js_drained;
}

/* Sends what the kernel takes now; 1 when nothing is left. A hard error leaves the bytes to
 * JS, whose write fails the same way and reports it through the usual events. */
static int send_direct(net_sock_t *s) {
  while (buf_size(&s->wpending) > 0) {
    ssize_t n = send(s->js_fd, buf_begin(&s->wpending), buf_size(&s->wpending),
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      buf_consume(&s->wpending, (size_t)n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        s->js_fd = -1;
      }
      return 0;
    }
  }
  return 1;
}
#else
static int direct_ok(const net_sock_t *s) {
  (void)s;
  return 0;
}

static int send_direct(net_sock_t *s) {
  (void)s;
  return 0;
}
#endif

/* Sends the WRITE ops that may go directly and drops those fully sent; the others (with what
 * is left of their bytes) stay for JS and are counted as handed. */
static size_t write_direct(net_js_t *js, net_js_op_t *ops, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    net_sock_t *s = ops[i].op == NET_JS_OP_WRITE ? net_js_lookup(js, ops[i].id) : NULL;
    if (s != NULL) {
      if (direct_ok(s) && send_direct(s)) {
        s->js_write_queued = 0;
        continue;
      }
      s->js_handed++;
    }
    ops[k++] = ops[i];
  }
  return k;
}

static void flush_all(net_js_t *js) {
  if (js->depth > 0 || js->nops == 0) {
    return;
  }
  if (js->kick_live) {
    uv_timer_stop(&js->kick);
  }
  /* Taken out first: whatever JS causes later queues into a fresh array. */
  net_js_op_t *ops = js->ops;
  size_t n = settle_refs(js, ops, js->nops);
  if (!js->gone) {
    n = write_direct(js, ops, n);
  }
  js->ops = NULL;
  js->nops = 0;
  js->cap_ops = 0;
  js->nurgent = 0;
  if (!js->gone && n > 0) {
    js->host->run(js->host_ctx, js, ops, n);
  }
  for (size_t i = 0; i < n; i++) {
    net_sock_t *s = ops[i].op == NET_JS_OP_WRITE ? net_js_lookup(js, ops[i].id) : NULL;
    if (s != NULL) {
      s->js_write_queued = 0; /* the host took the bytes (or there is no JS left to take them) */
      buf_clear(&s->wpending);
    }
  }
  free(ops);
}

void net_js_flush(net_js_t *js) {
  if (js != NULL && js->nurgent > 0) {
    flush_all(js);
  }
}

void net_js_enter(net_js_t *js) {
  if (js != NULL) {
    js->depth++;
  }
}

void net_js_leave(net_js_t *js) {
  if (js != NULL && --js->depth == 0) {
    net_js_flush(js);
  }
}

/* ---- the net_sock half ------------------------------------------------------------------ */

int net__js_connect(net_sock_t *s) {
  int rc = table_add(s->js, s);
  if (rc < 0) {
    return rc;
  }
  s->js_open = 1;
  queue_op(s, NET_JS_OP_OPEN);
  net__js_send(s); /* bytes queued before the connect (a CancelRequest) follow the OPEN */
  return 0;
}

void net__js_send(net_sock_t *s) {
  if (s->js_open && !s->js_end_sent && !s->js_write_queued && buf_size(&s->wpending) > 0) {
    s->js_write_queued = 1;
    queue_op(s, NET_JS_OP_WRITE);
  }
}

void net__js_end(net_sock_t *s) {
  if (s->js_open && s->connected) {
    net__js_send(s);
    queue_op(s, NET_JS_OP_END);
    s->js_end_sent = 1;
  }
  /* Not connected yet: nothing to say politely, so close now, as the uv driver does. */
  net_sock_close(s);
}

void net__js_close(net_sock_t *s) {
  if (s->js_open) {
    if (!s->js_end_sent) {
      queue_op(s, NET_JS_OP_DESTROY);
    }
    s->pending_closes++; /* until JS reports "closed" */
  }
}

void net__js_set_ref(net_sock_t *s) {
  if (!s->js_open || s->closing) {
    return;
  }
  net_js_slot_t *slot = slot_of(s->js, s);
  if (!slot->ref_queued && queue_op(s, NET_JS_OP_REF) == 0) {
    slot->ref_queued = 1;
  }
}

/* ---- events from JS --------------------------------------------------------------------- */

/* The socket ended by itself (peer close, error, or JS let go): tell the owner once. */
static void sock_ended(net_sock_t *s, int status) {
  if (s->closing || s->js_ended) {
    return;
  }
  s->js_ended = 1;
  if (!s->connected) {
    net__connect_done(s, status);
  } else {
    s->cb->on_end(s, status);
  }
}

static void sock_js_closed(net_js_t *js, net_sock_t *s) {
  table_remove(js, s);
  s->js_open = 0;
  if (s->closing) {
    s->pending_closes--;
    net__maybe_closed(s); /* may free s */
    return;
  }
  sock_ended(s, DB_ECLOSED);
}

void net_js_event(net_js_t *js, double id, int ev, const uint8_t *p, size_t n, int code) {
  net_sock_t *s = net_js_lookup(js, id);
  if (s == NULL) {
    return; /* stale: JS still reported on a socket C let go of */
  }
  if (ev == NET_JS_EV_END || ev == NET_JS_EV_ERROR || ev == NET_JS_EV_CLOSED) {
    s->js_fd = -1; /* Bun may have closed it already, and the number may come back for another */
  }
  net_js_enter(js);
  switch (ev) {
  case NET_JS_EV_CONNECT:
    if (!s->closing && !s->connected && !s->js_ended) {
      s->connected = 1;
      s->js_fd = code;
      net__connect_done(s, 0);
    }
    break;
  case NET_JS_EV_DATA:
    if (!s->closing && !s->js_ended && n > 0) {
      s->cb->on_read(s, p, n);
    }
    break;
  case NET_JS_EV_END:
    sock_ended(s, DB_ECLOSED);
    break;
  case NET_JS_EV_ERROR:
    sock_ended(s, code < 0 ? code : DB_ECLOSED);
    break;
  case NET_JS_EV_CLOSED:
    sock_js_closed(js, s);
    break;
  case NET_JS_EV_DRAINED:
    s->js_drained = (uint32_t)code;
    break;
  default:
    break;
  }
  net_js_leave(js);
}

void net_js_shutdown(net_js_t *js) {
  js->gone = 1;
  js->depth++; /* owners' callbacks below must not flush into JS */
  for (uint32_t i = 0; i < js->nslots; i++) {
    net_sock_t *s = js->slots[i].sock;
    if (s == NULL) {
      continue;
    }
    if (!s->closing) {
      net_sock_close(s); /* normally the pools closed theirs already */
    }
    sock_js_closed(js, s);
  }
  js->depth--;
  js->nops = 0;
  js->nurgent = 0;
  if (js->kick_live) {
    uv_timer_stop(&js->kick);
  }
}
