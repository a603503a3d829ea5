/* Cancelling a running query. MySQL: KILL QUERY from a connection of its own
 * (pool__conn_open_killer). PostgreSQL: CancelRequest, a one-shot connection to the same server that sends the 16-byte request with
 * the backend's key, then closes. The server answers nothing; it just interrupts whatever that
 * backend runs. */
#include <stdlib.h>

#include "../base/base_err.h"
#include "pool_int.h"

typedef struct {
  pool_t *pool;
  net_sock_t sock;
} pool_canceller_t;

static void on_cancel_connect(net_sock_t *s, int status) {
  if (status < 0) {
    net_sock_close(s); /* best effort: the query simply runs to its end */
    return;
  }
  net_sock_end(s); /* the request was queued before the connect; close once it is written */
}

static void on_cancel_read(net_sock_t *s, const uint8_t *p, size_t n) {
  (void)s;
  (void)p;
  (void)n;
}

static void on_cancel_end(net_sock_t *s, int status) {
  (void)status;
  net_sock_close(s);
}

static void on_cancel_closed(net_sock_t *s) {
  pool_canceller_t *k = s->data;
  pool_t *p = k->pool;
  free(k);
  p->live_cancels--;
  pool__check_closed(p);
}

static const net_sock_cb_t cancel_sock_cb = {
  .on_connect = on_cancel_connect,
  .on_read = on_cancel_read,
  .on_end = on_cancel_end,
  .on_closed = on_cancel_closed,
};

int pool__send_cancel(pool_t *p, pool_conn_t *c) {
  if (p->cfg.proto == POOL_PROTO_MYSQL) {
    return pool__conn_open_killer(p, c); /* KILL QUERY on a connection of its own */
  }
  pool_canceller_t *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    return DB_ENOMEM;
  }
  k->pool = p;
  net_sock_init(&k->sock, p->loop, p->cfg.js, &cancel_sock_cb, k);
  buf_t msg;
  buf_init(&msg);
  int rc = pg_conn_cancel_message(&c->eng.pg, &msg);
  if (rc == 0) {
    rc = net_sock_send(&k->sock, &msg); /* queued until connected */
  }
  buf_destroy(&msg);
  p->live_cancels++;
  if (rc == 0) {
    rc = net_sock_connect(&k->sock, p->cfg.host, p->cfg.port, p->cfg.path,
                          p->cfg.connect_timeout_ms);
  }
  if (rc < 0) {
    net_sock_close(&k->sock); /* on_cancel_closed frees */
  }
  return rc;
}
