/* Cancelling a running query, without ever cancelling another one.
 *
 * PostgreSQL: a CancelRequest, a one-shot connection to the same server that sends the 16-byte
 * request with the backend's key; the server signals that backend and then closes the
 * connection. MySQL: KILL QUERY <thread id> from a connection of its own (a "killer",
 * pool__conn_open_killer), answered with OK once the victim's thread is flagged.
 *
 * Either way the server interrupts whatever the backend runs when the request arrives. If the
 * cancelled query ended first (the cancel connection stalled on the way), a query sent after it
 * on the same connection would be the one cancelled: another caller's query, since connections
 * are shared (RELIABILITY.md F15). So from the moment a cancel is asked for until it is
 * resolved, the pool gives the victim connection no query (pool_conn_t.cancel_holds,
 * pick_slot); and from the moment it is sent (its query runs, every query before it is done)
 * until it is resolved, nothing more is written on it (cancels_out, pool__conn_flush): what
 * waits in the engine then (a reserved connection's next queries, a MySQL EXECUTE that waited
 * for its PREPARE answer) is behind the cancelled query and leaves once the cancel is resolved.
 * Writes are not held while a cancel waits for its query's turn: the queries before it must
 * still go out, or that turn never comes. Resolution never depends on the victim's progress,
 * so a hold always ends. A request that reaches an idle backend is dropped by the server
 * (PostgreSQL resets QueryCancelPending before reading the next command; MariaDB resets KILL
 * QUERY at the next command), so once it is resolved the next query is safe:
 *   - resolved: PostgreSQL closed the cancel connection (it signals first, then exits); MySQL
 *     answered the KILL (OK or an error); or the request never left (connect failed).
 *   - unknown: the cancel connection failed or hit its deadline after the request may have
 *     left (it could still be sitting in a stalled network). Then the victim connection is
 *     closed: always safe, and the slot is never held longer than the deadline.
 * Queries already pipelined behind the cancelled one when the cancel went out stay exposed: if
 * the cancelled query ends first, the late request interrupts the next one. Such a query is
 * recognised (a cancel error on a query nobody cancelled while a cancel sent on its connection
 * may still land: pool_conn_t.stray_window) and run once more when that is provably
 * harmless (pool_engine.c, stray_cancel_rerun); otherwise its error is reported.
 *
 * A request that the server acted on can still miss its query: it is sent when the query
 * becomes the running one (at once, or at the previous query's end), but the backend may not
 * have started it yet. PostgreSQL ignores a SIGINT that lands while it reads a message (even
 * one already buffered: between the previous query's Sync and the target's Execute); MariaDB
 * resets KILL QUERY when its next command starts (and a MySQL EXECUTE that waits for its
 * PREPARE answer leaves only once the KILL is resolved). Neither server answers anything
 * before the query ends (PostgreSQL flushes nothing before Sync), so no "it started" reply can
 * time the request. So when a cancel is resolved and the query it was sent for still runs
 * (pool_cancel_t.mark: no query left the connection since), it is sent once more after a
 * backoff (50 ms, doubling to 1 s) until the query ends: one request lands while it runs. The
 * connection still takes no new query meanwhile (the re-send keeps a hold); writes flow
 * between the sends, as at any resolution. A successful cancel's error arrives well within
 * the first delay, so a re-send is rare and, when late, hits an idle backend (dropped) or a
 * query already pipelined behind (the stray window above covers it).
 */
#include <stdlib.h>

#include "../base/base_err.h"
#include "pool_int.h"

/* A cancel holds a slot for at most this long, whatever connectionTimeout says. */
#define POOL_CANCEL_TIMEOUT_MAX_MS 10000u
/* Re-sends of a cancel whose query still runs: first delay, and the cap of the doubling. */
#define RESEND_BASE_MS 50u
#define RESEND_CAP_MS 1000u

/* A TLS session's cancel goes the way the session went (as Bun.SQL and libpq 17 do): an
 * SSLRequest, the handshake with the session's TLS settings, then the request, encrypted. In the
 * clear the 16 bytes would show the backend's cancel key to the network, and a server that
 * only takes TLS would never read them. A server that declines TLS or fails verification gets
 * nothing: the query runs on. */
enum { CANCEL_PLAIN, CANCEL_SSL_ANSWER, CANCEL_HANDSHAKE, CANCEL_SENT };

typedef struct {
  pool_cancel_t rec;
  pool_t *pool;
  net_sock_t sock;
  int phase;
  tls_conn_t *tls; /* a TLS session's cancel, from the 'S' on */
  buf_t request;   /* the CancelRequest, until the handshake is done */
  buf_t cipher;    /* TLS output on its way to the socket */
} pool_canceller_t;

uint64_t pool__cancel_timeout_ms(const pool_t *p) {
  uint64_t t = p->cfg.connect_timeout_ms;
  return t > 0 && t < POOL_CANCEL_TIMEOUT_MAX_MS ? t : POOL_CANCEL_TIMEOUT_MAX_MS;
}

/* The victim's connection, if it is still the one the cancel was made for. */
static pool_conn_t *victim(pool_t *p, const pool_cancel_t *k) {
  if (k->slot >= p->cfg.max) {
    return NULL;
  }
  pool_slot_t *s = &p->slots[k->slot];
  return s->gen == k->gen ? s->conn : NULL;
}

/* The connection still runs queries and may take a cancel (not closing). */
static int may_resend(const pool_t *p, const pool_conn_t *c) {
  const pool_slot_t *s = &p->slots[c->slot];
  return s->inflight > 0 && !c->sock.closing &&
         (s->state == SLOT_READY || s->state == SLOT_BUSY || s->state == SLOT_RESERVED);
}

/* A cancel was acted on while its query still runs: it may have landed between two commands
 * and been dropped, so it goes once more later. The hold taken here keeps the connection
 * from new queries until then; pool__cancel_query_left gives it back if the query ends
 * first. */
static void plan_resend(pool_t *p, pool_conn_t *c) {
  if (!may_resend(p, c)) {
    return;
  }
  uint32_t shift = c->resends < 5 ? c->resends : 5;
  uint64_t delay = (uint64_t)RESEND_BASE_MS << shift;
  c->resends++;
  c->resend_at_ms = net_now(p->loop) + (delay < RESEND_CAP_MS ? delay : RESEND_CAP_MS);
  c->cancel_holds++;
  p->resends_pending++;
}

/* One cancel for `c` is resolved (`sent`: it had been sent). */
static void hold_given_back(pool_t *p, pool_conn_t *c, int sent) {
  if (sent && c->cancels_out > 0) {
    c->cancels_out--;
  }
  if (c->cancel_holds > 0) {
    c->cancel_holds--;
  }
  if (c->cancel_holds > 0 && c->cancels_out > 0) {
    return;
  }
  if (p->slots[c->slot].inflight == 0) {
    pool__cancel_quiet(c);
  }
  pool_slot_state_t st = p->slots[c->slot].state;
  if (st == SLOT_READY || st == SLOT_BUSY || st == SLOT_RESERVED) {
    pool__conn_flush(c); /* what waited behind the cancelled query, if writes may go now */
    pool__dispatch(p);   /* ...and queries, if the slot takes them again */
  }
}

void pool__cancel_sent(pool_t *p, pool_cancel_t *k) {
  k->sent = 1;
  pool_conn_t *c = victim(p, k);
  if (c != NULL) {
    c->stray_window = 1;
  }
}

void pool__cancel_closed(pool_t *p, pool_cancel_t *k) {
  p->in_callback++;
  list_remove(&k->node);
  p->live_cancels--;
  pool_conn_t *c = victim(p, k);
  if (c != NULL) {
    if (k->sent && !k->resolved) {
      /* The request may still reach the server and hit whatever runs then. */
      pool__eng_fail(c, DB_ECLOSED,
                     "connection closed: a cancel request sent on it got no answer in time");
    } else {
      if (k->resolved && k->mark == c->queries_left) {
        plan_resend(p, c);
      }
      hold_given_back(p, c, 1);
    }
  }
  pool__end_callback(p); /* checks whether a closing pool is done */
}

void pool__cancel_query_left(pool_conn_t *c) {
  c->queries_left++;
  c->resends = 0;
  if (c->resend_at_ms == 0) {
    return;
  }
  c->resend_at_ms = 0; /* the query it was for ended: nothing left to cancel */
  if (pool__conn_current(c)) {
    hold_given_back(c->pool, c, 0);
  }
}

uint64_t pool__cancel_resends(pool_t *p, uint64_t now, int fire) {
  uint64_t due = UINT64_MAX;
  if (p->resends_pending == 0) {
    return due;
  }
  uint32_t pending = 0; /* counted again: a connection that died took its re-send along */
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    pool_conn_t *c = p->slots[i].conn;
    if (c == NULL || c->resend_at_ms == 0) {
      continue;
    }
    if (fire && now >= c->resend_at_ms) {
      c->resend_at_ms = 0;
      if (!may_resend(p, c)) {
        hold_given_back(p, c, 0); /* it is closing: its queries fail anyway */
        continue;
      }
      p->stats.cancel_resends++;
      (void)pool__send_cancel(p, c, 0); /* with the hold plan_resend kept */
      continue;
    }
    pending++;
    due = c->resend_at_ms < due ? c->resend_at_ms : due;
  }
  p->resends_pending = pending;
  return due;
}

void pool__cancel_quiet(pool_conn_t *c) {
  if (c->cancels_out == 0) {
    c->stray_window = 0;
  }
}

void pool__cancel_abort_all(pool_t *p) {
  list_node_t *n = p->cancels.next;
  while (n != &p->cancels) {
    pool_cancel_t *k = container_of(n, pool_cancel_t, node);
    n = n->next;
    net_sock_close(k->sock); /* its on_closed reports through pool__cancel_closed */
  }
}

/* ---- PostgreSQL's CancelRequest connection ---------------------------------------------- */

static void on_cancel_connect(net_sock_t *s, int status) {
  pool_canceller_t *k = s->data;
  if (status < 0) {
    net_sock_close(s); /* nothing left: the query simply runs to its end */
    return;
  }
  if (k->phase == CANCEL_PLAIN) {
    k->phase = CANCEL_SENT;
    pool__cancel_sent(k->pool, &k->rec); /* the request, queued before the connect, is leaving */
  }
}

/* Whatever TLS has to send (handshake records, the encrypted request) goes out. */
static int cancel_tls_flush(pool_canceller_t *k) {
  int rc = tls_conn_take_output(k->tls, &k->cipher);
  if (rc == 0 && buf_size(&k->cipher) > 0) {
    rc = net_sock_send(&k->sock, &k->cipher);
  }
  return rc;
}

/* The answer to the SSLRequest: 'S' starts the handshake; anything else ends the cancel with
 * nothing sent (the session is TLS, so a plaintext request would give its key away). */
static void cancel_ssl_answer(pool_canceller_t *k, const uint8_t *p, size_t n) {
  if (p[0] != 'S' || n != 1 || tls_conn_new(k->pool->tls_ctx, &k->tls) < 0 ||
      tls_conn_start(k->tls) < 0 || cancel_tls_flush(k) < 0) {
    net_sock_close(&k->sock);
    return;
  }
  k->phase = CANCEL_HANDSHAKE;
}

/* Ciphertext during the handshake. At its end the request leaves only if its query still
 * runs: the dial took a while, and a request for a query that ended would stop the next one. */
static void cancel_handshake(pool_canceller_t *k, const uint8_t *p, size_t n) {
  buf_t plain;
  buf_init(&plain);
  int rc = tls_conn_feed(k->tls, p, n, &plain);
  buf_destroy(&plain);
  if (rc == 0) {
    rc = cancel_tls_flush(k);
  }
  if (rc != 0) {
    net_sock_close(&k->sock); /* not verified, or the server went: nothing was sent */
    return;
  }
  if (!tls_conn_handshake_done(k->tls)) {
    return;
  }
  pool_conn_t *c = victim(k->pool, &k->rec);
  if (c == NULL || c->queries_left != k->rec.mark) {
    k->rec.resolved = 1; /* its query ended: nothing to cancel */
    net_sock_close(&k->sock);
    return;
  }
  rc = tls_conn_write(k->tls, buf_begin(&k->request), buf_size(&k->request));
  if (rc == 0) {
    k->phase = CANCEL_SENT;
    pool__cancel_sent(k->pool, &k->rec);
    rc = cancel_tls_flush(k);
  }
  if (rc != 0) {
    net_sock_close(&k->sock);
  }
}

/* PostgreSQL answers a CancelRequest with nothing. A server that answers anyway (one that took
 * it for the start of a session) has read the request and acted on it as it will: the cancel is
 * resolved, and the connection closes now instead of lingering until the deadline and then
 * costing the victim its connection (as Bun.SQL does, postgres-query-cancel.test.ts). */
static void on_cancel_read(net_sock_t *s, const uint8_t *p, size_t n) {
  pool_canceller_t *k = s->data;
  if (n == 0) {
    return;
  }
  if (k->phase == CANCEL_SSL_ANSWER) {
    cancel_ssl_answer(k, p, n);
  } else if (k->phase == CANCEL_HANDSHAKE) {
    cancel_handshake(k, p, n);
  } else if (!k->rec.resolved) {
    k->rec.resolved = 1;
    net_sock_close(s);
  }
}

static void on_cancel_end(net_sock_t *s, int status) {
  pool_canceller_t *k = s->data;
  /* The server closes the connection after it signalled the backend; a reset or the deadline
   * says nothing about whether the request arrived. Before the request left, a close is just
   * a failed dial: the query runs on. */
  k->rec.resolved = k->phase == CANCEL_SENT && status == DB_ECLOSED;
  net_sock_close(s);
}

static void on_cancel_closed(net_sock_t *s) {
  pool_canceller_t *k = s->data;
  pool__cancel_closed(k->pool, &k->rec);
  tls_conn_free(k->tls);
  buf_destroy(&k->request);
  buf_destroy(&k->cipher);
  free(k);
}

static const net_sock_cb_t cancel_sock_cb = {
  .on_connect = on_cancel_connect,
  .on_read = on_cancel_read,
  .on_end = on_cancel_end,
  .on_closed = on_cancel_closed,
};

/* < 0 only when nothing was created; later failures end in on_cancel_closed. */
static int send_cancel_request(pool_t *p, pool_conn_t *c, uint64_t mark) {
  pool_canceller_t *k = calloc(1, sizeof(*k));
  if (k == NULL) {
    return DB_ENOMEM;
  }
  k->pool = p;
  k->rec.slot = c->slot;
  k->rec.gen = c->gen;
  k->rec.sock = &k->sock;
  k->rec.mark = mark;
  list_push_back(&p->cancels, &k->rec.node);
  p->live_cancels++;
  net_sock_init(&k->sock, p->loop, p->cfg.js, &cancel_sock_cb, k);
  buf_init(&k->request);
  buf_init(&k->cipher);
  int rc = pg_conn_cancel_message(&c->eng.pg, &k->request);
  if (rc == 0 && c->tls != NULL) {
    /* SSLRequest (protocol 55.2.10): Int32 length 8, Int32 80877103. */
    static const uint8_t ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    k->phase = CANCEL_SSL_ANSWER;
    rc = buf_append(&k->cipher, ssl_request, sizeof(ssl_request));
    if (rc == 0) {
      rc = net_sock_send(&k->sock, &k->cipher); /* queued until connected */
    }
  } else if (rc == 0) {
    rc = net_sock_send(&k->sock, &k->request); /* queued until connected */
  }
  if (rc == 0) {
    /* The deadline is never cleared: it bounds the wait for the server's close too. */
    rc = net_sock_connect(&k->sock, p->cfg.host, p->cfg.port, p->cfg.path,
                          pool__cancel_timeout_ms(p));
  }
  if (rc < 0) {
    net_sock_close(&k->sock); /* on_cancel_closed gives the hold back */
  }
  return 0;
}

int pool__send_cancel(pool_t *p, pool_conn_t *c, uint32_t leaving) {
  uint64_t mark = c->queries_left + leaving; /* what queries_left is while the target runs */
  /* The cancelled query may still sit in the engine's output (queued this tick): it leaves
   * now, ahead of a request that needs a connection of its own to arrive, and before writes
   * are held. */
  pool__conn_flush(c);
  int rc = p->cfg.proto == POOL_PROTO_MYSQL ? pool__conn_open_killer(p, c, mark)
                                            : send_cancel_request(p, c, mark);
  if (rc < 0) {
    /* Nothing was created that could give the hold back later. */
    p->in_callback++;
    hold_given_back(p, c, 0);
    pool__end_callback(p);
    return rc;
  }
  c->cancels_out++;
  return 0;
}
