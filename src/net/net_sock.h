/* One client socket (TCP or unix) plus its connect deadline. Two drivers sit behind this API:
 * `uv` (net_sock.c: uv_tcp/uv_pipe on the runtime's own libuv loop, used under Node) and `js`
 * (net_js.c: JS owns the socket, Bun.connect or node:net, and pumps bytes through Node-API;
 * used under Bun, whose libuv socket functions are aborting stubs). net_sock_init's `js` argument picks one; the
 * owner (src/pool) sees no difference. The connect deadline is a uv_timer for both (real in Bun).
 *
 * Contract (libuv's): a function that returns < 0 never calls back. After net_sock_connect()
 * returns 0, exactly one on_connect follows; after a successful connect, on_read delivers bytes
 * until one on_end (EOF or error). net_sock_close() may be called at any time, also from inside
 * a callback; no callback but on_closed follows it, and memory may be freed only in on_closed.
 * Everything runs on the loop thread.
 */
#ifndef UVSQL_NET_SOCK_H
#define UVSQL_NET_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "../base/base_buf.h"

typedef struct net_sock_s net_sock_t;
typedef struct net_js_s net_js_t; /* the js driver of one JS environment (net_js.h) */

typedef struct {
  void (*on_connect)(net_sock_t *s, int status);
  void (*on_read)(net_sock_t *s, const uint8_t *p, size_t n);
  /* The peer closed (DB_ECLOSED) or the socket failed (negative errno); reading stopped. */
  void (*on_end)(net_sock_t *s, int status);
  /* Every handle is closed: the memory may be released now. */
  void (*on_closed)(net_sock_t *s);
} net_sock_cb_t;

struct net_sock_s {
  void *data; /* owner's pointer */
  uv_loop_t *loop;
  net_js_t *js;      /* borrowed: the js driver, or NULL for the uv driver */
  double js_id;      /* js driver: this socket's id in the driver's table (0: none) */
  int js_open;       /* js driver: JS holds a socket for js_id (until its "closed" event) */
  int js_write_queued; /* js driver: a WRITE op for wpending is queued */
  int js_end_sent;   /* js driver: JS was told to end (it closes once the bytes are out) */
  int js_ended;      /* js driver: the end (or failed connect) was reported to the owner */
  int js_fd;         /* js driver: the fd JS reported with "connected", for direct writes; -1: none */
  uint32_t js_handed;  /* js driver: WRITE ops handed to JS so far (mod 2^32) */
  uint32_t js_drained; /* js driver: of those, how many JS reported as all taken by the kernel */
  const char *host;  /* borrowed (the pool's config outlives its sockets); js driver */
  const char *path;  /* borrowed, likewise */
  const net_sock_cb_t *cb;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } h;
  int h_live;        /* h is initialised and not yet closed */
  uv_timer_t timer;  /* the connect deadline */
  int timer_live;    /* timer is initialised and not yet closed */
  uv_getaddrinfo_t gai;
  int gai_live;      /* a lookup is in flight: memory must wait for its callback */
  uv_connect_t connect_req;
  uv_write_t write_req;
  buf_t winflight;   /* owned by libuv while `writing` */
  buf_t wpending;    /* bytes queued behind the write in flight */
  int writing;
  int connected;
  int closing;
  int ending;        /* close once the queued bytes are written */
  int pending_closes;
  int ref;           /* whether the handles keep the loop alive */
  struct addrinfo *addrs; /* owned: the resolved addresses */
  struct addrinfo *next_addr;
  uint16_t port;
  int last_err;
  uint8_t rbuf[65536];
};

/* `js` NULL: the uv driver; else the js driver that will own this socket's JS side. */
void net_sock_init(net_sock_t *s, uv_loop_t *loop, net_js_t *js, const net_sock_cb_t *cb,
                   void *data);

/* Connects to host:port (host may be a name or an IP literal), or to a unix socket when `path`
 * is not NULL. The deadline covers lookup and connect. */
int net_sock_connect(net_sock_t *s, const char *host, uint16_t port, const char *path,
                     uint64_t timeout_ms);

/* Queues the bytes of `src` for writing and leaves `src` empty (its storage may be swapped
 * with the socket's, so no copy is made when the socket is idle). */
int net_sock_send(net_sock_t *s, buf_t *src);

/* Stops the connect deadline (the protocol handshake has its own). */
void net_sock_clear_deadline(net_sock_t *s);

/* Whether this socket keeps the process alive (idle pooled connections should not). */
void net_sock_set_ref(net_sock_t *s, int ref);

void net_sock_close(net_sock_t *s);

/* Closes after the bytes already queued are written (a polite Terminate/COM_QUIT). */
void net_sock_end(net_sock_t *s);

/* Shared by the drivers (net_sock.c), not for owners. */
/* Starts the connect deadline timer (uv_timer: real in both runtimes). */
int net__deadline_start(net_sock_t *s, uint64_t timeout_ms);
/* Reports the end of a connect attempt (stops the deadline on failure). */
void net__connect_done(net_sock_t *s, int status);
/* Frees what the socket owns and calls on_closed once nothing is pending any more. */
void net__maybe_closed(net_sock_t *s);

#endif
