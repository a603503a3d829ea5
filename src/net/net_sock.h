/* One client socket (TCP or unix) plus its connect deadline, on the host runtime's own libuv
 * loop (the `uv` driver, used under Node).
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

void net_sock_init(net_sock_t *s, uv_loop_t *loop, const net_sock_cb_t *cb, void *data);

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

#endif
