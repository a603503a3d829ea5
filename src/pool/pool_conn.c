/* One pooled connection: glues a net_sock_t to a pg_conn_t and reports to the pool.
 *
 * Every event from the socket or the engine first asks pool__conn_current(): once the slot's
 * generation moved on (the connection died or was retired), the connection only drains its
 * queries' completions and closes; it can no longer change the slot. */
#include "pool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"

/* ---- engine events ---------------------------------------------------------------------- */

static void on_pg_ready(void *ctx) {
  pool_conn_t *c = ctx;
  net_sock_clear_deadline(&c->sock);
  pool__on_conn_handshake(c);
}

static void on_pg_fields(void *ctx, void *query, const pg_field_t *f, uint16_t n) {
  pool_conn_t *c = ctx;
  c->pool->handler->on_fields(c->pool->ctx, query, f, n);
}

static void on_pg_row(void *ctx, void *query, const uint8_t *body, size_t n) {
  pool_conn_t *c = ctx;
  c->pool->handler->on_row(c->pool->ctx, query, body, n);
}

static void on_pg_command(void *ctx, void *query, slice_t tag) {
  pool_conn_t *c = ctx;
  c->pool->handler->on_command(c->pool->ctx, query, tag);
}

static void on_pg_query_error(void *ctx, void *query, const pg_error_t *e) {
  pool_conn_t *c = ctx;
  c->pool->handler->on_query_error(c->pool->ctx, query, e);
}

static void on_pg_query_done(void *ctx, void *query, int status, const pg_error_t *err) {
  pool_conn_t *c = ctx;
  pool__on_query_done(c, query, status, err);
}

static void on_pg_fatal(void *ctx, int code, const char *message, const pg_error_t *err) {
  pool_conn_t *c = ctx;
  pool__on_conn_died(c, code, message, err);
  net_sock_close(&c->sock);
}

static void on_pg_notice(void *ctx, const pg_error_t *notice) {
  pool_conn_t *c = ctx;
  if (c->pool->handler->on_notice != NULL) {
    c->pool->handler->on_notice(c->pool->ctx, notice);
  }
}

static void on_pg_notification(void *ctx, uint32_t pid, slice_t channel, slice_t payload) {
  pool_conn_t *c = ctx;
  if (c->pool->handler->on_notification != NULL) {
    c->pool->handler->on_notification(c->pool->ctx, pid, channel, payload);
  }
}

static void on_pg_cancel_due(void *ctx) {
  pool_conn_t *c = ctx;
  (void)pool__send_cancel(c->pool, c);
}

static int on_pg_tls_start(void *ctx) {
  pool_conn_t *c = ctx;
  if (c->pool->tls_ctx == NULL) {
    return DB_ETLS;
  }
  int rc = tls_conn_new(c->pool->tls_ctx, &c->tls);
  if (rc == 0) {
    rc = tls_conn_start(c->tls); /* the ClientHello leaves with the next flush */
  }
  return rc;
}

static const pg_handler_t conn_pg_handler = {
  .on_ready = on_pg_ready,
  .on_fields = on_pg_fields,
  .on_row = on_pg_row,
  .on_command = on_pg_command,
  .on_query_error = on_pg_query_error,
  .on_query_done = on_pg_query_done,
  .on_fatal = on_pg_fatal,
  .on_parameter = NULL,
  .on_notice = on_pg_notice,
  .on_notification = on_pg_notification,
  .on_cancel_due = on_pg_cancel_due,
  .on_tls_start = on_pg_tls_start,
};

/* ---- socket events ---------------------------------------------------------------------- */

/* Fails the connection with the TLS layer's reason. */
static void conn_tls_failed(pool_conn_t *c, int rc) {
  char msg[240];
  snprintf(msg, sizeof(msg), "%s", tls_conn_error(c->tls));
  pg_conn_fail(&c->pg, rc, msg);
}

void pool__conn_flush(pool_conn_t *c) {
  buf_t *out = pg_conn_output(&c->pg);
  if (c->sock.closing) {
    return;
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
    pg_conn_fail(&c->pg, rc, base_err_message(rc));
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
    pg_conn_tls_ready(&c->pg, cbind, cbind_len);
  }
  if (buf_size(&c->plain) > 0) {
    pg_conn_feed(&c->pg, buf_begin(&c->plain), buf_size(&c->plain));
  }
  if (rc == TLS_PEER_CLOSED) {
    pg_conn_fail(&c->pg, DB_ECLOSED, "the server closed the connection");
  }
}

static void on_sock_connect(net_sock_t *s, int status) {
  pool_conn_t *c = s->data;
  pool_t *p = c->pool;
  p->in_callback++;
  if (status < 0) {
    char msg[200];
    if (c->pool->cfg.path != NULL) {
      snprintf(msg, sizeof(msg), "could not connect to %s: %s (%s)", c->pool->cfg.path,
               base_err_message(status), base_err_name(status));
    } else {
      snprintf(msg, sizeof(msg), "could not connect to %s:%u: %s (%s)", c->pool->cfg.host,
               (unsigned)c->pool->cfg.port, base_err_message(status), base_err_name(status));
    }
    pg_conn_fail(&c->pg, status, msg); /* -> on_pg_fatal -> close */
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
    pg_conn_feed(&c->pg, bytes, n);
  }
  pool__conn_flush(c);
  pool__end_callback(p);
}

static void on_sock_end(net_sock_t *s, int status) {
  pool_conn_t *c = s->data;
  pool_t *p = c->pool;
  p->in_callback++;
  if (status == DB_ETIMEDOUT) {
    pg_conn_fail(&c->pg, status, "timed out waiting for the server to finish the handshake");
  } else if (status == DB_ECLOSED) {
    pg_conn_fail(&c->pg, status, "the server closed the connection");
  } else {
    char msg[160];
    snprintf(msg, sizeof(msg), "connection error: %s (%s)", base_err_message(status),
             base_err_name(status));
    pg_conn_fail(&c->pg, status, msg);
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
  pg_conn_fail(&c->pg, c->close_code != 0 ? c->close_code : DB_ECLOSED,
               c->close_msg[0] != '\0' ? c->close_msg : "connection closed");
  if (pool__conn_current(c)) {
    pool__on_conn_died(c, DB_ECLOSED, "connection closed", NULL);
  }
  if (c->had_connected) {
    /* onclose: why this connection ended, once, for connections that had connected. */
    int reason = c->retire_reason != 0 ? c->retire_reason : c->pg.err != 0 ? c->pg.err : DB_ECLOSED;
    if (reason == DB_ECLOSED && c->retire_reason == DB_ECLOSED) {
      p->stats.closed_by_pool++;
    } else if (reason != DB_EIDLE && reason != DB_ELIFETIME) {
      p->stats.closed_by_error++;
    }
    p->handler->on_disconnected(p->ctx, reason, c->retire_reason != 0 ? base_err_message(reason)
                                                                     : pg_conn_error_message(&c->pg));
  }
  pg_conn_destroy(&c->pg);
  tls_conn_free(c->tls);
  buf_destroy(&c->plain);
  buf_destroy(&c->cipher);
  free(c);
  pool__on_conn_freed(p);
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
  pg_config_t cfg = {
    .user = p->cfg.user,
    .password = p->cfg.password,
    .database = p->cfg.database,
    .params = (const char *const *)p->cfg.params,
    .stmt_cache_max = p->cfg.stmt_cache_max,
    .ssl_mode = p->cfg.path != NULL ? PG_SSL_DISABLE : p->cfg.ssl_mode,
  };
  int rc = pg_conn_init(&c->pg, &cfg, &conn_pg_handler, c);
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

int pool__conn_connect(pool_conn_t *c) {
  pool_t *p = c->pool;
  c->awaiting_password = 0;
  int rc = net_sock_connect(&c->sock, p->cfg.host, p->cfg.port, p->cfg.path,
                            p->cfg.connect_timeout_ms);
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
  pg_conn_terminate(&c->pg); /* queues Terminate when the handshake had finished */
  pool__conn_flush(c);
  net_sock_end(&c->sock);
}
