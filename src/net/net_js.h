/* The `js` I/O driver: JS owns the sockets (Bun.connect under Bun, node:net under Node) and C
 * owns everything else. Under Bun the libuv socket functions are aborting stubs, so this is the
 * only driver there; under Node it is selectable so CI runs every suite with both drivers.
 *
 * C -> JS: net_sock_* calls on a js socket queue ops (OPEN, WRITE, END, DESTROY, REF) here;
 * the host (src/napi/js_sock.c) hands the whole queue to JS in one call at a safe point: when
 * the driver's bracket ends (an event from JS, a connect deadline), when a pool callback ends
 * (net_js_flush from pool__end_callback), or else from a 0 ms uv_timer. JS never calls back
 * into C while it runs the ops: its socket events arrive later, one at a time.
 * JS -> C: every socket event enters through net_js_event(), which brackets the callbacks so
 * the ops they queue leave in one batch at its end.
 * Direct writes: when JS reports an fd with "connected" (Bun, whose socket.write is one
 * non-blocking send with nothing buffered in between), a WRITE op that finds JS holding none of
 * the socket's bytes is sent by C itself, at the same safe points; only what the kernel does not
 * take goes to JS as a WRITE op (JS then waits for `drain`), and C writes directly again once JS
 * reported every WRITE op it got as drained.
 *
 * Sockets are known to JS by a number, never by a pointer: a table maps id -> net_sock_t, an
 * id stays valid until JS reported the socket's "closed" event, and a stale id (an index whose
 * generation moved on) is ignored. Everything runs on the JS thread.
 */
#ifndef UVSQL_NET_JS_H
#define UVSQL_NET_JS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net_sock.h"

/* Ops for JS; the numbers are shared with lib/driver-js.js. */
enum {
  NET_JS_OP_OPEN = 1,    /* connect to s->host:s->port or s->path, ref'd or not */
  NET_JS_OP_WRITE = 2,   /* write the socket's queued bytes */
  NET_JS_OP_END = 3,     /* close once the written bytes are out */
  NET_JS_OP_DESTROY = 4, /* close now */
  NET_JS_OP_REF = 5,     /* ref or unref per s->ref */
};

/* Events from JS; the numbers are shared with lib/driver-js.js. */
enum {
  NET_JS_EV_CONNECT = 1, /* connected; `code`: the socket's fd when JS may share it, else -1 */
  NET_JS_EV_DATA = 2,    /* bytes arrived */
  NET_JS_EV_END = 3,     /* the peer closed */
  NET_JS_EV_ERROR = 4,   /* the socket failed: `code` is a negative errno or UV_EAI_* number */
  NET_JS_EV_CLOSED = 5,  /* JS let go of the socket: the last event for this id */
  NET_JS_EV_DRAINED = 6, /* the kernel took every byte of the first `code` WRITE ops (mod 2^32) */
};

typedef struct {
  uint8_t op;
  double id;
} net_js_op_t;

typedef struct {
  /* Runs `n` ops in JS (one call). net_js_lookup() gives each op's socket, or NULL when it is
   * gone meanwhile (the op is then skipped). Must not call into the driver. */
  void (*run)(void *ctx, net_js_t *js, const net_js_op_t *ops, size_t n);
} net_js_host_t;

typedef struct {
  net_sock_t *sock; /* NULL when free */
  uint32_t gen;
  uint8_t ref_js;     /* the ref state JS last got (with OPEN or REF) */
  uint8_t ref_queued; /* a REF op is queued: it carries s->ref as it is when it leaves */
} net_js_slot_t;

struct net_js_s {
  uv_loop_t *loop;
  const net_js_host_t *host;
  void *host_ctx;
  int refs;              /* the host's handle and every pool using this driver */
  int gone;              /* the host can no longer call JS (environment teardown) */
  int depth;             /* nesting of driver brackets: ops wait until it is 0 */
  net_js_slot_t *slots;  /* owned: the id table */
  uint32_t nslots;
  uint32_t live;         /* sockets in the table */
  net_js_op_t *ops;      /* owned: queued for JS */
  size_t nops, cap_ops;
  size_t nurgent;        /* queued ops other than REF: only these make a bracket's end flush */
  uv_timer_t kick;       /* delivers ops queued outside any bracket */
  int kick_live;         /* initialised and not yet closed */
};

/* NULL on ENOMEM. The host holds the first reference. */
net_js_t *net_js_new(uv_loop_t *loop, const net_js_host_t *host, void *host_ctx);
/* References for pools (NULL-safe): the driver outlives every pool that uses it. */
void net_js_retain(net_js_t *js);
void net_js_release(net_js_t *js);

/* One event from JS for socket `id`: bytes for DATA, `code` for ERROR. Stale ids are ignored. */
void net_js_event(net_js_t *js, double id, int ev, const uint8_t *p, size_t n, int code);
/* The socket that op id refers to, or NULL when it is gone. */
net_sock_t *net_js_lookup(net_js_t *js, double id);
/* Hands the queued ops to JS unless inside a bracket (NULL-safe). REF ops alone do not make
 * it call JS: they wait for the 0 ms timer, or for other ops to go along with. */
void net_js_flush(net_js_t *js);
/* A bracket around callbacks to the owner (NULL-safe): ops leave when the outermost ends. */
void net_js_enter(net_js_t *js);
void net_js_leave(net_js_t *js);
/* Environment teardown: no more JS. Sockets that wait for JS's "closed" event count as closed
 * now (their owners get on_closed), and queued ops are dropped. */
void net_js_shutdown(net_js_t *js);

/* The driver half of the net_sock_* functions (net_sock.c dispatches here). */
int net__js_connect(net_sock_t *s);
void net__js_send(net_sock_t *s);
void net__js_end(net_sock_t *s);
void net__js_close(net_sock_t *s);
void net__js_set_ref(net_sock_t *s);

#endif
