/* The `uv` driver: libuv TCP/pipe sockets on the runtime's loop, plus what both drivers share
 * (the connect deadline and the close bookkeeping). Only Node reaches the uv_tcp/uv_pipe/
 * uv_getaddrinfo/uv_read/uv_write calls here: under Bun those are aborting stubs, every
 * socket has `js` set, and each public function hands it to net_js.c before touching them
 * (test/unit/uv-symbols.test.js keeps the list of uv-driver-only symbols). */
#include "net_sock.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "net_js.h"

void net_sock_init(net_sock_t *s, uv_loop_t *loop, net_js_t *js, const net_sock_cb_t *cb,
                   void *data) {
  memset(s, 0, offsetof(net_sock_t, rbuf));
  s->loop = loop;
  s->js = js;
  s->cb = cb;
  s->data = data;
  s->ref = 1;
  s->js_fd = -1;
  buf_init(&s->winflight);
  buf_init(&s->wpending);
}

static void sock_apply_ref(net_sock_t *s, uv_handle_t *h) {
  if (s->ref) {
    uv_ref(h);
  } else {
    uv_unref(h);
  }
}

/* ---- closing ---------------------------------------------------------------------------- */

void net__maybe_closed(net_sock_t *s) {
  if (s->closing && s->pending_closes == 0 && !s->gai_live && !s->writing) {
    if (s->addrs != NULL) {
      uv_freeaddrinfo(s->addrs);
      s->addrs = NULL;
    }
    buf_destroy(&s->winflight);
    buf_destroy(&s->wpending);
    s->cb->on_closed(s);
  }
}

static void on_handle_closed(uv_handle_t *h) {
  net_sock_t *s = h->data;
  s->pending_closes--;
  net__maybe_closed(s);
}

void net_sock_close(net_sock_t *s) {
  if (s->closing) {
    return;
  }
  s->closing = 1;
  if (s->js != NULL) {
    net__js_close(s); /* asks JS to destroy its socket; its "closed" event ends the wait */
  }
  if (s->gai_live) {
    uv_cancel((uv_req_t *)&s->gai); /* its callback still runs, with UV_EAI_CANCELED */
  }
  if (s->h_live) {
    s->h_live = 0;
    s->pending_closes++;
    uv_close(&s->h.handle, on_handle_closed);
  }
  if (s->timer_live) {
    s->timer_live = 0;
    s->pending_closes++;
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
  }
  net__maybe_closed(s);
}

void net_sock_end(net_sock_t *s) {
  if (s->closing) {
    return;
  }
  if (s->js != NULL) {
    net__js_end(s);
    return;
  }
  s->ending = 1;
  if (!s->writing) {
    net_sock_close(s);
  }
}

/* ---- connecting ------------------------------------------------------------------------- */

void net__connect_done(net_sock_t *s, int status) {
  if (status < 0 && s->timer_live) {
    uv_timer_stop(&s->timer);
  }
  s->cb->on_connect(s, status);
}

/* The deadline covers the protocol handshake too: it keeps running after the TCP connect until
 * the owner calls net_sock_clear_deadline(). */
static void on_deadline(uv_timer_t *t) {
  net_sock_t *s = t->data;
  net_js_t *js = s->js; /* a js socket's ops reach JS when the driver's bracket ends */
  if (s->closing) {
    return;
  }
  net_js_enter(js);
  if (!s->connected) {
    net__connect_done(s, DB_ETIMEDOUT);
  } else {
    s->js_ended = 1;
    s->cb->on_end(s, DB_ETIMEDOUT);
  }
  net_js_leave(js);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out) {
  net_sock_t *s = h->data;
  (void)suggested;
  out->base = (char *)s->rbuf;
  out->len = sizeof(s->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b) {
  net_sock_t *s = st->data;
  if (s->closing) {
    return;
  }
  if (nread > 0) {
    s->cb->on_read(s, (const uint8_t *)b->base, (size_t)nread);
    return;
  }
  if (nread < 0) {
    uv_read_stop(st);
    s->cb->on_end(s, nread == UV_EOF ? DB_ECLOSED : (int)nread);
  }
}

static int sock_connect_addr(net_sock_t *s, const struct sockaddr *addr);

/* Connects to the next resolved address; 0 when an attempt started, else the last error. */
static int sock_connect_next(net_sock_t *s) {
  while (s->next_addr != NULL) {
    struct addrinfo *ai = s->next_addr;
    s->next_addr = ai->ai_next;
    if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
      return sock_connect_addr(s, ai->ai_addr);
    }
  }
  return s->last_err != 0 ? s->last_err : DB_ECLOSED;
}

/* A failed attempt's handle is closed; only now may the memory be initialised again. */
static void on_retry_closed(uv_handle_t *h) {
  net_sock_t *s = h->data;
  s->pending_closes--;
  if (s->closing) {
    net__maybe_closed(s);
    return;
  }
  int rc = sock_connect_next(s);
  if (rc < 0) {
    net__connect_done(s, rc);
  }
}

static void on_connected(uv_connect_t *req, int status) {
  net_sock_t *s = req->data;
  if (s->closing) {
    return;
  }
  if (status < 0) {
    s->last_err = status;
    if (s->next_addr != NULL) {
      /* e.g. ::1 refused while 127.0.0.1 listens: try the next address. */
      s->h_live = 0;
      s->pending_closes++;
      uv_close(&s->h.handle, on_retry_closed);
      return;
    }
    net__connect_done(s, status);
    return;
  }
  s->connected = 1;
  int rc = uv_read_start(&s->h.stream, on_alloc, on_read);
  if (rc == 0 && buf_size(&s->wpending) > 0) {
    buf_t empty;
    buf_init(&empty);
    rc = net_sock_send(s, &empty);
  }
  net__connect_done(s, rc);
}

static int sock_connect_addr(net_sock_t *s, const struct sockaddr *addr) {
  int rc = uv_tcp_init(s->loop, &s->h.tcp);
  if (rc < 0) {
    return rc;
  }
  s->h_live = 1;
  s->h.handle.data = s;
  sock_apply_ref(s, &s->h.handle);
  uv_tcp_nodelay(&s->h.tcp, 1);
  s->connect_req.data = s;
  return uv_tcp_connect(&s->connect_req, &s->h.tcp, addr, on_connected);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  net_sock_t *s = req->data;
  s->gai_live = 0;
  if (s->closing) {
    if (res != NULL) {
      uv_freeaddrinfo(res);
    }
    net__maybe_closed(s);
    return;
  }
  if (status < 0) {
    net__connect_done(s, status);
    return;
  }
  s->addrs = res;
  s->next_addr = res;
  int rc = sock_connect_next(s);
  if (rc < 0) {
    net__connect_done(s, rc);
  }
}

int net__deadline_start(net_sock_t *s, uint64_t timeout_ms) {
  int rc = uv_timer_init(s->loop, &s->timer);
  if (rc < 0) {
    return rc;
  }
  s->timer_live = 1;
  s->timer.data = s;
  sock_apply_ref(s, (uv_handle_t *)&s->timer);
  if (timeout_ms > 0) {
    /* A timer counts from the loop's clock, which is when the current loop turn began. A dial
     * made late in a long JS turn (the first query's turn also loads the addon: ~40 ms) would
     * time out that much early, so the clock is brought up to date first (once per dial;
     * uv_update_time is one of Bun 1.4's real uv functions, RUNTIMES.md). */
    uv_update_time(s->loop);
    uv_timer_start(&s->timer, on_deadline, timeout_ms, 0);
  }
  return 0;
}

int net_sock_connect(net_sock_t *s, const char *host, uint16_t port, const char *path,
                     uint64_t timeout_ms) {
  int rc = net__deadline_start(s, timeout_ms);
  if (rc < 0) {
    return rc;
  }
  s->port = port;
  s->host = host;
  s->path = path;
  if (s->js != NULL) {
    return net__js_connect(s);
  }
  if (path != NULL) {
    rc = uv_pipe_init(s->loop, &s->h.pipe, 0);
    if (rc < 0) {
      return rc;
    }
    s->h_live = 1;
    s->h.handle.data = s;
    sock_apply_ref(s, &s->h.handle);
    s->connect_req.data = s;
    uv_pipe_connect(&s->connect_req, &s->h.pipe, path, on_connected);
    return 0;
  }
  /* IP literals skip the resolver. inet_pton, not uv_ip4_addr: the latter is a stub in Bun. */
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return sock_connect_addr(s, (struct sockaddr *)&ss);
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return sock_connect_addr(s, (struct sockaddr *)&ss);
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char service[8];
  snprintf(service, sizeof(service), "%u", (unsigned)port);
  s->gai.data = s;
  rc = uv_getaddrinfo(s->loop, &s->gai, on_resolved, host, service, &hints);
  if (rc == 0) {
    s->gai_live = 1;
  }
  return rc;
}

void net_sock_clear_deadline(net_sock_t *s) {
  if (s->timer_live) {
    uv_timer_stop(&s->timer);
  }
}

void net_sock_set_ref(net_sock_t *s, int ref) {
  s->ref = ref ? 1 : 0;
  if (s->js != NULL) {
    net__js_set_ref(s);
  }
  if (s->h_live) {
    sock_apply_ref(s, &s->h.handle);
  }
  if (s->timer_live) {
    sock_apply_ref(s, (uv_handle_t *)&s->timer);
  }
}

/* ---- writing ---------------------------------------------------------------------------- */

static int sock_write_start(net_sock_t *s);

static void on_written(uv_write_t *req, int status) {
  net_sock_t *s = req->data;
  s->writing = 0;
  buf_clear(&s->winflight);
  if (s->closing) {
    net__maybe_closed(s);
    return;
  }
  if (s->ending && (status < 0 || buf_size(&s->wpending) == 0)) {
    net_sock_close(s);
    return;
  }
  if (status < 0) {
    /* The read side reports the failure (EOF/ECONNRESET) as well; stop writing. */
    s->cb->on_end(s, status);
    return;
  }
  if (buf_size(&s->wpending) > 0) {
    int rc = sock_write_start(s);
    if (rc < 0) {
      s->cb->on_end(s, rc);
    }
  }
}

static int sock_write_start(net_sock_t *s) {
  buf_t tmp = s->winflight;
  s->winflight = s->wpending;
  s->wpending = tmp;
  buf_clear(&s->wpending);
  uv_buf_t b; /* filled by hand: uv_buf_init is one of Bun's aborting stubs */
  b.base = (char *)buf_begin(&s->winflight);
  b.len = buf_size(&s->winflight);
  s->write_req.data = s;
  int rc = uv_write(&s->write_req, &s->h.stream, &b, 1, on_written);
  if (rc == 0) {
    s->writing = 1;
  }
  return rc;
}

/* A burst of queries issued in one synchronous stretch of JS (50k `sql\`...\`` calls in a loop)
 * would otherwise sit in wpending until on_written, which libuv delivers only in the next loop
 * turn even when the first write finished at once; the server would idle meanwhile. So once
 * this many bytes are pending and the write in flight is fully in the kernel (libuv's write
 * queue is empty, only its callback is outstanding), write them straight away. Smaller amounts
 * still coalesce into the write that on_written starts. */
#define NET_BURST_BYTES (16 * 1024)

/* Writes what the kernel takes of wpending at once, without a request; the rest stays. An
 * error (UV_EAGAIN: the kernel is full) leaves everything queued: a later uv_write, or the read
 * side, reports a real failure. */
static void sock_try_write(net_sock_t *s) {
  uv_buf_t b; /* filled by hand: uv_buf_init is one of Bun's aborting stubs */
  b.base = (char *)buf_begin(&s->wpending);
  b.len = buf_size(&s->wpending);
  int n = uv_try_write(&s->h.stream, &b, 1);
  if (n > 0) {
    buf_consume(&s->wpending, (size_t)n);
  }
}

static void sock_write_burst(net_sock_t *s) {
  if (uv_stream_get_write_queue_size(&s->h.stream) == 0) {
    sock_try_write(s); /* else the kernel is full; on_written sends the rest */
  }
}

int net_sock_send(net_sock_t *s, buf_t *src) {
  if (s->closing) {
    buf_clear(src);
    return DB_ECLOSED;
  }
  if (buf_size(src) > 0) {
    if (buf_size(&s->wpending) == 0) {
      /* Swap storage instead of copying. */
      buf_t tmp = s->wpending;
      s->wpending = *src;
      *src = tmp;
      buf_clear(src);
    } else {
      int rc = buf_append(&s->wpending, buf_begin(src), buf_size(src));
      buf_clear(src);
      if (rc < 0) {
        return rc;
      }
    }
  }
  if (s->js != NULL) {
    net__js_send(s); /* queues a WRITE op for JS; bytes stay in wpending until then */
    return 0;
  }
  if (!s->connected || buf_size(&s->wpending) == 0) {
    return 0;
  }
  if (!s->writing) {
    /* Nothing in flight: straight to the kernel. Most writes complete here, with no write
     * request, so no callback a loop turn later and no epoll_ctl (libuv re-arms the watcher
     * when a request drains): one syscall per write instead of two. */
    sock_try_write(s);
    /* The rest (or everything after an error, which the request then reports) goes the usual
     * way. */
    return buf_size(&s->wpending) == 0 ? 0 : sock_write_start(s);
  }
  if (buf_size(&s->wpending) >= NET_BURST_BYTES) {
    sock_write_burst(s);
  }
  return 0;
}
