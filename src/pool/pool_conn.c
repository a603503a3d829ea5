/* One pooled connection: glues a net_sock_t (and TLS) to a protocol engine (pool_engine.c)
 * and reports to the pool.
 *
 * Every event from the socket or the engine first asks pool__conn_current(): once the slot's
 * generation moved on (the connection died or was retired), the connection only drains its
 * queries' completions and closes; it can no longer change the slot. */
#include "pool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"

/* ---- socket events ---------------------------------------------------------------------- */

/* Fails the connection with the TLS layer's reason. */
static void conn_tls_failed(pool_conn_t *c, int rc) {
  char msg[240];
  snprintf(msg, sizeof(msg), "%s", tls_conn_error(c->tls));
  pool__eng_fail(c, rc, msg);
}

void pool__conn_flush(pool_conn_t *c) {
  buf_t *out = pool__eng_output(c);
  if (c->sock.closing || c->cancels_out > 0) {
    return; /* a cancel sent for this connection is unresolved: nothing leaves (pool_cancel.c) */
  }
  int rc = 0;
  if (c->tls != NULL) {
    /* Engine bytes go through TLS; whatever TLS produced (handshake records too) goes out. */
    if (buf_size(out) > 0) {
      rc = tls_conn_write(c->tls, buf_begin(out), buf_size(out));
      buf_clear(out);
    }
    if (rc == 0) {
      rc = tls_conn_take_output(c->tls, &c->cipher);
    }
    if (rc < 0) {
      conn_tls_failed(c, rc); /* closes the socket: nothing more goes out */
      return;
    }
    out = &c->cipher;
  }
  if (buf_size(out) == 0) {
    return;
  }
  rc = net_sock_send(&c->sock, out);
  if (rc < 0) {
    pool__eng_fail(c, rc, base_err_message(rc));
  }
}

/* Queries are written once per loop turn, not one write per query (uv driver). A query made
 * inside a pool callback (the results callback: S1's next query, S2's 256 lanes) waits for the
 * end of that callback (pool__end_callback), so one write carries all of them; one made
 * elsewhere (a loop in the main script: S3) waits for the pool timer, armed at 0 ms, i.e. the
 * next loop turn, unless this much is already queued, which goes at once so the server works
 * while JS keeps issuing. The js driver coalesces on its own (net_js.c), so it flushes at once. */
#define POOL_FLUSH_NOW_BYTES (16 * 1024)

void pool__conn_flush_soon(pool_conn_t *c) {
  pool_t *p = c->pool;
  if (p->cfg.js != NULL || buf_size(pool__eng_output(c)) >= POOL_FLUSH_NOW_BYTES) {
    pool__conn_flush(c);
    return;
  }
  if (!c->flush_pending) {
    c->flush_pending = 1;
    if (p->flush_pending++ == 0 && p->in_callback == 0) {
      pool__schedule(p); /* the pool timer at 0 ms (pool_timer.c) */
    }
  }
}

void pool__flush_pending(pool_t *p) {
  if (p->flush_pending == 0) {
    return;
  }
  p->flush_pending = 0;
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    pool_conn_t *c = p->slots[i].conn;
    if (c != NULL && c->flush_pending) {
      c->flush_pending = 0;
      pool__conn_flush(c);
    }
  }
}

/* Ciphertext from the socket: decrypt, finish the handshake, feed the engine. */
static void conn_feed_tls(pool_conn_t *c, const uint8_t *bytes, size_t n) {
  buf_clear(&c->plain);
  int rc = tls_conn_feed(c->tls, bytes, n, &c->plain);
  if (rc < 0) {
    conn_tls_failed(c, rc);
    return;
  }
  if (!c->tls_ready && tls_conn_handshake_done(c->tls)) {
    c->tls_ready = 1;
    uint8_t cbind[TLS_END_POINT_MAX];
    size_t cbind_len = 0;
    if (tls_conn_server_end_point(c->tls, cbind, sizeof(cbind), &cbind_len) < 0) {
      cbind_len = 0; /* SCRAM then runs without channel binding */
    }
    pool__eng_tls_ready(c, cbind, cbind_len);
  }
  if (buf_size(&c->plain) > 0) {
    pool__eng_feed(c, buf_begin(&c->plain), buf_size(&c->plain));
  }
  if (rc == TLS_PEER_CLOSED) {
    pool__eng_fail(c, DB_ECLOSED, "the server closed the connection");
  }
}

/* Bun.SQL's wording ("Connection timeout after 4s", "... after 200ms"): code written against
 * Bun matches on it. what says which step did not finish. */
static void conn_timeout_message(const pool_conn_t *c, char *msg, size_t size, const char *what) {
  unsigned long long ms = (unsigned long long)c->pool->cfg.connect_timeout_ms;
  if (ms % 1000 == 0) {
    snprintf(msg, size, "Connection timeout after %llus (%s)", ms / 1000, what);
  } else {
    snprintf(msg, size, "Connection timeout after %llums (%s)", ms, what);
  }
}

static void on_sock_connect(net_sock_t *s, int status) {
  pool_conn_t *c = s->data;
  pool_t *p = c->pool;
  p->in_callback++;
  if (status < 0) {
    char msg[200];
    if (status == DB_ETIMEDOUT) {
      conn_timeout_message(c, msg, sizeof(msg), "the TCP connect did not complete");
    } else if (c->pool->cfg.path != NULL) {
      snprintf(msg, sizeof(msg), "could not connect to %s: %s (%s)", c->pool->cfg.path,
               base_err_message(status), base_err_name(status));
    } else {
      snprintf(msg, sizeof(msg), "could not connect to %s:%u: %s (%s)", c->pool->cfg.host,
               (unsigned)c->pool->cfg.port, base_err_message(status), base_err_name(status));
    }
    pool__eng_fail(c, status, msg); /* -> on_pg_fatal -> close */
  } else {
    pool__conn_flush(c);
  }
  pool__end_callback(p);
}

static void on_sock_read(net_sock_t *s, const uint8_t *bytes, size_t n) {
  pool_conn_t *c = s->data;
  pool_t *p = c->pool;
  p->in_callback++;
  if (c->tls != NULL) {
    conn_feed_tls(c, bytes, n);
  } else {
    pool__eng_feed(c, bytes, n);
  }
  pool__conn_flush(c);
  pool__end_callback(p);
}

static void on_sock_end(net_sock_t *s, int status) {
  pool_conn_t *c = s->data;
  pool_t *p = c->pool;
  p->in_callback++;
  if (status == DB_ETIMEDOUT) {
    char msg[200];
    conn_timeout_message(c, msg, sizeof(msg), "the server did not finish the handshake");
    pool__eng_fail(c, status, msg);
  } else if (status == DB_ECLOSED) {
    pool__eng_fail(c, status, "the server closed the connection");
  } else {
    char msg[160];
    snprintf(msg, sizeof(msg), "connection error: %s (%s)", base_err_message(status),
             base_err_name(status));
    pool__eng_fail(c, status, msg);
  }
  net_sock_close(&c->sock);
  pool__end_callback(p);
}

static void on_sock_closed(net_sock_t *s) {
  pool_conn_t *c = s->data;
  pool_t *p = c->pool;
  p->in_callback++;
  /* A socket closed without a failure (retired, or a connect that could not start) still
   * owes its queries an answer. */
  pool__eng_fail(c, c->close_code != 0 ? c->close_code : DB_ECLOSED,
               c->close_msg[0] != '\0' ? c->close_msg : "connection closed");
  if (!c->killer && pool__conn_current(c)) {
    pool__on_conn_died(c, DB_ECLOSED, "connection closed", NULL);
  }
  if (c->had_connected) {
    /* onclose: why this connection ended, once, for connections that had connected. */
    int err = pool__eng_error(c);
    int reason = c->retire_reason != 0 ? c->retire_reason : err != 0 ? err : DB_ECLOSED;
    if (reason == DB_ECLOSED && c->retire_reason == DB_ECLOSED) {
      p->stats.closed_by_pool++;
    } else if (reason != DB_EIDLE && reason != DB_ELIFETIME) {
      p->stats.closed_by_error++;
    }
    p->handler->on_disconnected(p->ctx, reason, c->retire_reason != 0 ? base_err_message(reason)
                                                                     : pool__eng_error_message(c));
  }
  pool__eng_destroy(c);
  tls_conn_free(c->tls);
  buf_destroy(&c->plain);
  buf_destroy(&c->cipher);
  if (c->killer) {
    pool__cancel_closed(p, &c->cancel);
    free(c);
  } else {
    free(c);
    pool__on_conn_freed(p);
  }
  pool__end_callback(p);
}

static const net_sock_cb_t conn_sock_cb = {
  .on_connect = on_sock_connect,
  .on_read = on_sock_read,
  .on_end = on_sock_end,
  .on_closed = on_sock_closed,
};

/* ---- lifecycle -------------------------------------------------------------------------- */

int pool__conn_open(pool_t *p, uint32_t index) {
  pool_conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    return DB_ENOMEM;
  }
  c->pool = p;
  c->slot = index;
  c->gen = p->slots[index].gen;
  int rc = pool__eng_init(c, p->cfg.password);
  if (rc < 0) {
    free(c);
    return rc;
  }
  net_sock_init(&c->sock, p->loop, p->cfg.js, &conn_sock_cb, c);
  p->slots[index].conn = c;
  p->live_conns++;
  if (p->cfg.password_fn) {
    /* The socket opens once the password function answered (pool_password_supplied). */
    c->awaiting_password = 1;
    p->handler->on_password_needed(p->ctx, index, c->gen);
    return 0;
  }
  return pool__conn_connect(c);
}

/* < 0 only when nothing was created (the caller gives the victim's hold back); any later
 * failure ends in on_sock_closed -> pool__cancel_closed. */
int pool__conn_open_killer(pool_t *p, pool_conn_t *victim, uint64_t mark) {
  pool_conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    return DB_ENOMEM;
  }
  c->pool = p;
  c->slot = UINT32_MAX; /* in no slot: pool__conn_current() is false for it */
  c->killer = 1;
  c->kill_thread_id = my_conn_thread_id(&victim->eng.my);
  /* The victim's password: with a password function the pool's own is not set. */
  int rc = pool__eng_init(c, victim->eng.my.password);
  if (rc < 0) {
    free(c);
    return rc;
  }
  net_sock_init(&c->sock, p->loop, p->cfg.js, &conn_sock_cb, c);
  c->cancel.slot = victim->slot;
  c->cancel.gen = victim->gen;
  c->cancel.sock = &c->sock;
  c->cancel.mark = mark;
  list_push_back(&p->cancels, &c->cancel.node);
  p->live_cancels++;
  return pool__conn_connect(c);
}

int pool__conn_connect(pool_conn_t *c) {
  pool_t *p = c->pool;
  c->awaiting_password = 0;
  /* A killer's deadline is the cancel's: never cleared, it bounds the KILL's answer too. */
  int rc = net_sock_connect(&c->sock, p->cfg.host, p->cfg.port, p->cfg.path,
                            c->killer ? pool__cancel_timeout_ms(p) : p->cfg.connect_timeout_ms);
  if (rc < 0) {
    /* No connect callback will come. Close, and let the close callback fail the connection
     * the one usual way: asynchronously, so the caller sees no callback from this call. */
    c->close_code = rc;
    snprintf(c->close_msg, sizeof(c->close_msg), "could not start connecting: %s (%s)",
             base_err_message(rc), base_err_name(rc));
    net_sock_close(&c->sock);
    return 0;
  }
  return 0;
}

void pool__conn_fail_early(pool_conn_t *c, int code, const char *message) {
  c->close_code = code;
  snprintf(c->close_msg, sizeof(c->close_msg), "%s", message);
  net_sock_close(&c->sock);
}

void pool__conn_retire(pool_conn_t *c) {
  pool__eng_terminate(c); /* queues Terminate / COM_QUIT when the handshake had finished */
  /* With a cancel unresolved, queued queries must not leave now that they are failed: the
   * flush keeps them (and the Terminate) back, and the server just sees the socket close. */
  pool__conn_flush(c);
  net_sock_end(&c->sock);
}
