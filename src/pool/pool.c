/* The pool: queries, dispatch of waiting queries to slots, connection events, close.
 * State changes go through pool_slot_fire() (pool_fsm.c); deadlines live in pool_timer.c. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "../base/base_mem.h"
#include "../net/net_js.h"
#include "pool_int.h"

/* ---- configuration and queries ---------------------------------------------------------- */

void pool_config_free(pool_config_t *cfg) {
  free(cfg->host);
  free(cfg->path);
  free(cfg->user);
  base_wipe_free(cfg->password);
  free(cfg->database);
  if (cfg->params != NULL) {
    for (size_t i = 0; cfg->params[i] != NULL; i++) {
      free(cfg->params[i]);
    }
    free(cfg->params);
  }
  tls_config_destroy(&cfg->tls);
  net_js_release(cfg->js);
  memset(cfg, 0, sizeof(*cfg));
}

int pool_init(pool_t *p, uv_loop_t *loop, pool_config_t *cfg, const pool_handler_t *h, void *ctx,
              char *errmsg, size_t errlen) {
  memset(p, 0, sizeof(*p));
  p->loop = loop;
  p->cfg = *cfg;
  memset(cfg, 0, sizeof(*cfg));
  if (p->cfg.max == 0) {
    p->cfg.max = 1;
  }
  if (p->cfg.max_pipeline == 0) {
    p->cfg.max_pipeline = 1;
  }
  p->rng = (uint64_t)(uintptr_t)p ^ net_now(loop) ^ 0x9e3779b97f4a7c15ull;
  p->handler = h;
  p->ctx = ctx;
  list_init(&p->waiting);
  list_init(&p->cancels);
  p->slots = calloc(p->cfg.max, sizeof(pool_slot_t));
  if (p->slots == NULL) {
    pool_config_free(&p->cfg);
    return DB_ENOMEM;
  }
  if (p->cfg.ssl_mode != DB_SSL_DISABLE && p->cfg.path == NULL) {
    /* One TLS context for every connection: CA, client certificate and checks. */
    int rc = tls_ctx_new(&p->cfg.tls, &p->tls_ctx, errmsg, errlen);
    if (rc < 0) {
      free(p->slots);
      p->slots = NULL;
      pool_config_free(&p->cfg);
      return rc;
    }
  }
  return 0;
}

void pool_destroy(pool_t *p) {
  list_node_t *n;
  while ((n = list_pop_front(&p->waiting)) != NULL) {
    pool_query_free(container_of(n, pool_query_t, node));
  }
  free(p->slots);
  p->slots = NULL;
  tls_ctx_free(p->tls_ctx);
  /* The timer handle was closed before on_closed (or never started). */
  p->tls_ctx = NULL;
  pool_config_free(&p->cfg);
}

pool_query_t *pool_query_new(const char *text, size_t text_len, uint16_t nparams,
                             const uint32_t *types, const slice_t *values, void *data) {
  size_t total = 0;
  for (uint16_t i = 0; i < nparams; i++) {
    total += values[i].n;
  }
  /* One allocation for the query, its arrays, its text and its parameter bytes: a query is
   * made and freed per call (S2: 100k of them), and five malloc/free pairs showed up. Slices
   * first (pointer alignment), then the types, then the bytes. */
  size_t head = (sizeof(pool_query_t) + 7) & ~(size_t)7;
  size_t size = head + (size_t)nparams * sizeof(slice_t) + (size_t)nparams * sizeof(uint32_t) +
                text_len + 1 + total;
  pool_query_t *q = malloc(size);
  if (q == NULL) {
    return NULL;
  }
  memset(q, 0, sizeof(*q));
  uint8_t *p = (uint8_t *)q + head;
  q->values = (slice_t *)p;
  p += (size_t)nparams * sizeof(slice_t);
  q->types = (uint32_t *)p;
  p += (size_t)nparams * sizeof(uint32_t);
  q->text = (char *)p;
  p += text_len + 1;
  q->storage = p;
  memcpy(q->text, text, text_len);
  q->text[text_len] = '\0';
  q->text_len = text_len;
  q->nparams = nparams;
  size_t off = 0;
  for (uint16_t i = 0; i < nparams; i++) {
    q->types[i] = types != NULL ? types[i] : 0;
    if (values[i].p == NULL) {
      q->values[i].p = NULL; /* SQL NULL */
      q->values[i].n = 0;
      continue;
    }
    memcpy(q->storage + off, values[i].p, values[i].n);
    q->values[i].p = q->storage + off;
    q->values[i].n = values[i].n;
    off += values[i].n;
  }
  q->data = data;
  list_init(&q->node);
  return q;
}

void pool_query_free(pool_query_t *q) {
  free(q); /* its arrays, text and bytes live in the same block (pool_query_new) */
}

/* ---- dispatch --------------------------------------------------------------------------- */

static int slot_send(pool_t *p, uint32_t index, pool_query_t *q) {
  pool_slot_t *s = &p->slots[index];
  int rc = pool__eng_send(s->conn, q);
  if (rc < 0) {
    return rc;
  }
  s->inflight++;
  q->sent = 1;
  q->slot = index;
  q->gen = s->gen;
  p->stats.waiter_ms += net_now(p->loop) - q->queued_ms;
  pool_slot_fire(p, index, SLOT_EV_LEASE);
  return 0;
}

/* A cancel for the slot's connection is unresolved: it takes no query (pool_cancel.c). */
static int slot_held(const pool_slot_t *s) {
  return s->conn != NULL && s->conn->cancel_holds > 0;
}

/* The slot that should take the next query: an idle one first. A busy one (pipelining,
 * least loaded, under the pipeline bound) only once the pool cannot grow: every slot is in
 * use or dials are backing off. Until then a query waits for a connection of its own, so a
 * slow query never holds back the ones queued behind it on the same connection.
 * UINT32_MAX when none can take it now. */
static uint32_t pick_slot(const pool_t *p) {
  uint32_t best = UINT32_MAX;
  int can_grow = 0;
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    const pool_slot_t *s = &p->slots[i];
    if (slot_held(s)) {
      continue;
    }
    if (s->state == SLOT_READY && !s->expired) {
      return i;
    }
    /* A slot that is empty or still connecting will soon offer a connection of its own. */
    can_grow |= s->state == SLOT_EMPTY || s->state == SLOT_CONNECTING || s->state == SLOT_PENDING;
    if (s->state == SLOT_BUSY && !s->expired && s->inflight < p->cfg.max_pipeline &&
        (best == UINT32_MAX || s->inflight < p->slots[best].inflight)) {
      best = i;
    }
  }
  if (can_grow && p->retry_at_ms == 0 && !p->closing) {
    return UINT32_MAX; /* a new connection will take it */
  }
  return best;
}

static void fail_waiting(pool_t *p, int code, const char *message, const db_error_t *err) {
  list_node_t *n;
  while ((n = list_pop_front(&p->waiting)) != NULL) {
    pool_query_t *q = container_of(n, pool_query_t, node);
    p->nwaiting--;
    p->handler->on_query_done(p->ctx, q, code, message, err);
    pool_query_free(q);
  }
}

/* Connections that are being opened (and will take waiting queries once accepted). */
static uint32_t count_opening(const pool_t *p) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    n += p->slots[i].state == SLOT_CONNECTING || p->slots[i].state == SLOT_PENDING;
  }
  return n;
}

/* An idle connection for an exclusive lease, or UINT32_MAX. */
static uint32_t pick_idle_slot(const pool_t *p) {
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    if (p->slots[i].state == SLOT_READY && !p->slots[i].expired && !slot_held(&p->slots[i])) {
      return i;
    }
  }
  return UINT32_MAX;
}

/* Gives a waiting reservation request the idle connection `index`. */
static void grant_lease(pool_t *p, uint32_t index, pool_query_t *q) {
  pool_slot_t *s = &p->slots[index];
  list_remove(&q->node);
  p->nwaiting--;
  p->stats.waiter_ms += net_now(p->loop) - q->queued_ms;
  pool_slot_fire(p, index, SLOT_EV_RESERVE); /* bumps lease_seq */
  s->close_hold = q->reserve == 2;
  p->handler->on_reserved(p->ctx, q, index, s->lease_seq);
  pool_query_free(q);
}

static void dispatch_once(pool_t *p);

/* Not re-entrant by design: sending can fail a connection synchronously, whose callbacks ask
 * for another dispatch while this one walks the waiting list. That request is remembered and
 * served by another pass, never by a nested walk. */
void pool__dispatch(pool_t *p) {
  if (p->dispatching) {
    p->dispatch_again = 1;
    return;
  }
  p->dispatching = 1;
  do {
    p->dispatch_again = 0;
    dispatch_once(p);
  } while (p->dispatch_again);
  p->dispatching = 0;
}

static void dispatch_once(pool_t *p) {
  /* In FIFO order; a reservation that cannot be served yet (it needs an idle connection)
   * does not hold back the queries behind it, which busy connections can take. */
  list_node_t *n = p->waiting.next;
  while (n != &p->waiting) {
    pool_query_t *q = container_of(n, pool_query_t, node);
    n = n->next;
    if (q->reserve) {
      uint32_t idle = pick_idle_slot(p);
      if (idle != UINT32_MAX) {
        grant_lease(p, idle, q);
      }
      continue;
    }
    uint32_t index = pick_slot(p);
    if (index == UINT32_MAX) {
      break; /* no connection can take a query, nor a reservation (none is idle) */
    }
    list_remove(&q->node);
    p->nwaiting--;
    int rc = slot_send(p, index, q);
    if (rc < 0) {
      /* Cannot even be queued (ENOMEM, NUL in the text, a bad parameter): fails alone. */
      char msg[200];
      snprintf(msg, sizeof(msg), "%s%s", rc == DB_EARG ? "" : "could not queue the query: ",
               pool__eng_send_error(p->slots[index].conn, rc));
      p->handler->on_query_done(p->ctx, q, rc, msg, NULL);
      pool_query_free(q);
      continue;
    }
    pool__conn_flush_soon(p->slots[index].conn);
    if (p->dispatch_again) {
      return; /* the list may have changed under us: walk it again from the start */
    }
  }
  /* Still waiting: open more connections, one per waiting query, up to max; lazily, so a
   * burst that one connection serves does not open them all. After a failed dial, only once
   * the backoff has passed (the timer dispatches again then). */
  if (p->nwaiting == 0 || p->retry_at_ms != 0) {
    return;
  }
  uint32_t opening = count_opening(p);
  /* After failures, probe with one dial at a time until one succeeds. */
  uint32_t want = p->retry_attempt > 0 ? 1 : p->nwaiting;
  for (uint32_t i = 0; i < p->cfg.max && opening < want; i++) {
    if (p->slots[i].state != SLOT_EMPTY) {
      continue;
    }
    pool_slot_fire(p, i, SLOT_EV_OPEN);
    int rc = pool__conn_open(p, i);
    if (rc < 0) {
      pool_slot_fire(p, i, SLOT_EV_DIED);
      break;
    }
    p->stats.opened++;
    opening++;
  }
}

int pool_reserve(pool_t *p, pool_query_t *q, int for_tx) {
  q->reserve = for_tx ? 2 : 1;
  return pool_query_submit(p, q);
}

int pool_query_submit_on(pool_t *p, pool_query_t *q, uint32_t slot, uint32_t seq) {
  pool_slot_t *s = slot < p->cfg.max ? &p->slots[slot] : NULL;
  if (s == NULL || s->lease_seq != seq || s->state != SLOT_RESERVED || s->release_pending) {
    return DB_ECLOSED;
  }
  p->stats.queries++;
  q->queued_ms = net_now(p->loop);
  int rc = slot_send(p, slot, q);
  if (rc < 0) {
    return rc;
  }
  pool__conn_flush_soon(s->conn);
  return 0;
}

/* A reserved connection with nothing running goes back to the pool, or away when the pool
 * closes, its lifetime is over or it is still inside a transaction. */
static void lease_returned(pool_t *p, uint32_t index) {
  pool_slot_t *s = &p->slots[index];
  int expired = s->expired;
  /* A connection still inside a transaction must not serve the next pooled query, which would
   * run inside it: closing it rolls it back (Bun.SQL sends ROLLBACK). Pooled queries are left
   * alone: with max 1 a BEGIN ... COMMIT sent as separate queries is how Bun lets a pool run a
   * transaction. */
  int discard = s->discard_pending || (s->conn != NULL && pool__eng_in_transaction(s->conn));
  pool_slot_fire(p, index, SLOT_EV_RELEASE);
  if (discard) {
    pool__retire(p, index, DB_ECLOSED);
  } else if (expired) {
    p->stats.closed_lifetime++;
    pool__retire(p, index, DB_ELIFETIME);
  } else if (p->closing && list_empty(&p->waiting)) {
    pool__retire(p, index, DB_ECLOSED);
  }
}

void pool_release(pool_t *p, uint32_t slot, uint32_t seq, int discard) {
  pool_slot_t *s = slot < p->cfg.max ? &p->slots[slot] : NULL;
  if (s == NULL || s->lease_seq != seq || s->state != SLOT_RESERVED || s->release_pending) {
    p->stats.stale_events++; /* its connection died or was retired: nothing to give back */
    return;
  }
  s->discard_pending = discard;
  if (s->inflight > 0) {
    s->release_pending = 1;
    return;
  }
  p->in_callback++;
  lease_returned(p, slot);
  pool__end_callback(p);
}

int pool_query_submit(pool_t *p, pool_query_t *q) {
  if (p->closing) {
    return DB_ECLOSED;
  }
  p->stats.queries++;
  q->queued_ms = net_now(p->loop);
  list_push_back(&p->waiting, &q->node);
  p->nwaiting++;
  pool__dispatch(p);
  pool__schedule(p);
  return 0;
}

void pool_password_supplied(pool_t *p, uint32_t slot, uint32_t gen, const char *password,
                            const char *error) {
  pool_slot_t *s = slot < p->cfg.max ? &p->slots[slot] : NULL;
  if (s == NULL || s->gen != gen || s->conn == NULL || !s->conn->awaiting_password) {
    p->stats.stale_events++;
    return;
  }
  pool_conn_t *c = s->conn;
  if (error != NULL || password == NULL) {
    char msg[200];
    /* The function's own message, unchanged: Bun.SQL rejects with the function's error. */
    snprintf(msg, sizeof(msg), "%s", error ? error : "the password function returned no value");
    pool__conn_fail_early(c, DB_ENOPASSWORD, msg);
    return;
  }
  if (pool__eng_set_password(c, password) < 0) {
    pool__conn_fail_early(c, DB_ENOMEM, "out of memory");
    return;
  }
  pool__conn_connect(c);
}

int pool_query_cancel(pool_t *p, pool_query_t *q) {
  if (q->cancel_requested) {
    return 0; /* already on its way: one hold per cancel, given back once */
  }
  if (!q->sent) {
    list_remove(&q->node);
    p->nwaiting--;
    /* Bun.SQL's words for a query it never sent. */
    p->handler->on_query_done(p->ctx, q, DB_ECANCELED, "Query cancelled", NULL);
    pool_query_free(q);
    return 0;
  }
  pool_slot_t *s = &p->slots[q->slot];
  if (s->gen != q->gen || s->conn == NULL) {
    return DB_EARG; /* its connection is gone: the query is being failed anyway */
  }
  int rc = pool__eng_request_cancel(s->conn, q);
  if (rc < 0) {
    return rc;
  }
  q->cancel_requested = 1;
  /* From now on the connection takes no query until the cancel is resolved: not only when it
   * is sent now (rc 1), but also when it waits for q's turn (0, on_cancel_due), so no query is
   * pipelined behind one that will be cancelled. Once sent, nothing is written either. */
  s->conn->cancel_holds++;
  return rc == 1 ? pool__send_cancel(p, s->conn, 0) : 1;
}

/* ---- connection events ------------------------------------------------------------------ */

int pool__conn_current(const pool_conn_t *c) {
  if (c->slot >= c->pool->cfg.max) {
    return 0; /* a MySQL killer: never a slot's connection */
  }
  const pool_slot_t *s = &c->pool->slots[c->slot];
  return s->gen == c->gen && s->conn == c;
}

void pool__retire(pool_t *p, uint32_t index, int reason) {
  pool_conn_t *c = p->slots[index].conn;
  if (pool_slot_fire(p, index, SLOT_EV_CLOSE) < 0) {
    return;
  }
  c->retire_reason = reason;
  pool__conn_retire(c);
}

void pool__on_conn_handshake(pool_conn_t *c) {
  pool_t *p = c->pool;
  if (!pool__conn_current(c)) {
    p->stats.stale_events++;
    return;
  }
  if (pool_slot_fire(p, c->slot, SLOT_EV_HANDSHAKE) == 0) {
    /* Not READY yet: the owner confirms from a later loop turn (pool_accept_ready). */
    p->handler->on_connected(p->ctx, c->slot, c->gen);
  }
}

int pool_accept_ready(pool_t *p, uint32_t slot, uint32_t gen) {
  pool_slot_t *s = slot < p->cfg.max ? &p->slots[slot] : NULL;
  if (s == NULL || s->gen != gen || s->state != SLOT_PENDING || s->conn == NULL) {
    /* The connection died (or was replaced) after its handshake: a ghost. Drop it. */
    p->stats.stale_events++;
    return 0;
  }
  p->in_callback++;
  pool_slot_fire(p, slot, SLOT_EV_ACCEPT);
  s->conn->had_connected = 1;
  p->stats.connected++;
  pool__reset_retry(p);
  if (p->closing && list_empty(&p->waiting)) {
    pool__retire(p, slot, DB_ECLOSED);
  }
  pool__end_callback(p);
  return 1;
}

/* Whether a failed dial is worth trying again: not when the server refused the connection or
 * the credentials, the TLS checks failed, or the configuration is wrong. */
static int dial_retryable(int code, const db_error_t *err) {
  switch (code) {
    case DB_ESERVER:
      if (err != NULL && err->code.n == 5) {
        const char *sqlstate = (const char *)err->code.p;
        /* starting up / shutting down, too many connections, admin shutdown, connection
         * exceptions: transient. Anything else (28xxx auth, 3D000 no database): not. */
        return memcmp(sqlstate, "57P03", 5) == 0 || memcmp(sqlstate, "53300", 5) == 0 ||
               memcmp(sqlstate, "57P01", 5) == 0 || memcmp(sqlstate, "57P02", 5) == 0 ||
               memcmp(sqlstate, "08", 2) == 0;
      }
      return 0;
    case DB_ECLOSED:
    case -ECONNRESET:
    case -EPIPE:
    case -ECONNABORTED:
    case -ETIMEDOUT:
    case -EHOSTUNREACH:
    case -ENETUNREACH:
    case -4095: /* EOF */
      return 1;
    default:
      return 0;
  }
}

void pool__on_conn_died(pool_conn_t *c, int code, const char *message, const db_error_t *err) {
  pool_t *p = c->pool;
  if (!pool__conn_current(c)) {
    p->stats.stale_events++;
    return;
  }
  pool_slot_state_t was = p->slots[c->slot].state;
  uint32_t seq = p->slots[c->slot].lease_seq;
  pool_slot_fire(p, c->slot, SLOT_EV_DIED);
  if (was == SLOT_RESERVED && p->handler->on_lease_lost != NULL) {
    p->handler->on_lease_lost(p->ctx, c->slot, seq);
  }
  if (was != SLOT_CONNECTING && was != SLOT_PENDING) {
    return;
  }
  p->stats.connect_failures++;
  /* A dial failed. No slot is redialled before a backoff has passed, whatever else is in
   * flight and whatever the failure: a dead server must not see a storm of attempts. */
  int scheduled = pool__plan_retry(p, code);
  int retry = scheduled && dial_retryable(code, err);
  p->stats.retries += retry;
  if (p->nwaiting == 0 || count_opening(p) > 0) {
    return; /* nobody waits, or another dial may still succeed */
  }
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    if (p->slots[i].state == SLOT_READY || p->slots[i].state == SLOT_BUSY) {
      return; /* an open connection will serve the waiting queries */
    }
  }
  if (retry) {
    return;
  }
  /* Refused, bad credentials, or retried until connectionTimeout: the waiting queries fail
   * now with the reason. */
  pool__reset_retry(p);
  fail_waiting(p, code, message, err);
}

/* The query left connection `c` (answered, failed, or sent back to the queue): the slot's
 * bookkeeping. */
static void query_left_conn(pool_conn_t *c);

void pool__requeue(pool_conn_t *c, pool_query_t *q) {
  pool_t *p = c->pool;
  q->sent = 0;
  list_push_front(&p->waiting, &q->node); /* first in line: it was sent before the others */
  p->nwaiting++;
  query_left_conn(c);
  pool__cancel_query_left(c);
  pool__dispatch(p);
}

void pool__on_query_done(pool_conn_t *c, pool_query_t *q, int status, const db_error_t *err) {
  pool_t *p = c->pool;
  const char *message = status < 0 ? pool__eng_error_message(c) : NULL;
  char own[256];
  if (status == DB_EARG && err != NULL && err->message.p != NULL) {
    /* Failed by the engine alone (MySQL: a parameter count the statement does not take). */
    snprintf(own, sizeof(own), "%.*s", (int)err->message.n, (const char *)err->message.p);
    message = own;
    err = NULL;
  }
  p->handler->on_query_done(p->ctx, q, status, message, err);
  pool_query_free(q);
  query_left_conn(c);
  pool__cancel_query_left(c);
}

static void query_left_conn(pool_conn_t *c) {
  pool_t *p = c->pool;
  if (!pool__conn_current(c)) {
    return; /* the slot moved on: nothing of it to give back */
  }
  pool_slot_t *s = &p->slots[c->slot];
  assert(s->inflight > 0);
  if (s->inflight > 0) {
    s->inflight--;
  }
  if (s->inflight == 0) {
    pool__cancel_quiet(c);
  }
  if (s->state == SLOT_RESERVED) {
    if (s->inflight == 0) {
      pool_slot_fire(p, c->slot, SLOT_EV_DRAINED); /* stays RESERVED; the socket idles */
      if (s->release_pending) {
        lease_returned(p, c->slot);
        pool__dispatch(p);
      } else if (p->closing && !s->close_hold) {
        pool__retire(p, c->slot, DB_ECLOSED);
      }
    }
    return;
  }
  if (s->state != SLOT_BUSY) {
    return; /* CLOSING: its queries are being failed; the socket close moves the slot */
  }
  if (s->inflight == 0) {
    pool_slot_fire(p, c->slot, SLOT_EV_DRAINED);
    /* Retire only now that nothing runs on it: lifetime expiry never kills a query. */
    if (s->expired) {
      p->stats.closed_lifetime++;
      pool__retire(p, c->slot, DB_ELIFETIME);
    } else if (p->closing && list_empty(&p->waiting)) {
      pool__retire(p, c->slot, DB_ECLOSED);
      return;
    }
  }
  pool__dispatch(p);
}

void pool_callbacks_begin(pool_t *p) {
  p->in_callback++;
}

void pool_callbacks_end(pool_t *p) {
  pool__end_callback(p);
}

void pool__on_conn_freed(pool_t *p) {
  p->live_conns--;
  p->stats.closed++;
  pool__check_closed(p);
}

void pool__end_callback(pool_t *p) {
  if (--p->in_callback == 0) {
    /* Waiting queries may have lost their last connection attempt. */
    if (!list_empty(&p->waiting)) {
      pool__dispatch(p);
    }
    pool__flush_pending(p);
    net_js_flush(p->cfg.js); /* writes leave before JS reads the results (js driver) */
    p->handler->flush(p->ctx);
    /* The queries JS made while it read the results: one write per connection. */
    pool__flush_pending(p);
    pool__schedule(p);
    pool__check_closed(p);
  }
}

/* ---- close ------------------------------------------------------------------------------ */

static void on_timer_closed(net_timer_t *t) {
  pool_t *p = t->data;
  p->timer_closed = 1;
  pool__check_closed(p);
}

void pool__check_closed(pool_t *p) {
  if (!p->closing || p->close_reported || p->live_conns > 0 || p->live_cancels > 0 ||
      p->in_callback > 0) {
    return;
  }
  if (p->timer.live) {
    net_timer_close(&p->timer, on_timer_closed); /* on_closed once the handle is gone */
    return;
  }
  if (p->timer.cb != NULL && !p->timer_closed) {
    return; /* still closing */
  }
  p->close_reported = 1;
  p->handler->on_closed(p->ctx);
}

int pool_close(pool_t *p, int now, uint64_t timeout_ms) {
  p->closing = 1;
  if (now) {
    fail_waiting(p, DB_ECLOSED, "the pool was closed", NULL);
    p->close_deadline_ms = 0;
    pool__cancel_abort_all(p); /* their connections are closed below: nothing left to hit */
  } else if (timeout_ms > 0) {
    /* A later close() with a shorter timeout brings the deadline forward (as in Bun.SQL); a
     * longer one leaves it: the pool stops waiting at the earliest deadline any call gave. */
    uint64_t due = net_now(p->loop) + timeout_ms;
    if (p->close_deadline_ms == 0 || due < p->close_deadline_ms) {
      p->close_deadline_ms = due;
    }
  }
  if (list_empty(&p->waiting)) {
    pool__reset_retry(p);
  }
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    pool_slot_t *s = &p->slots[i];
    int idle = s->state == SLOT_READY;
    int opening_unneeded =
        (s->state == SLOT_CONNECTING || s->state == SLOT_PENDING) && list_empty(&p->waiting);
    /* A lease with nothing running is closed too: a forgotten reserve() cannot hold close()
     * forever. Its holder's next query fails with CONNECTION_CLOSED, never runs elsewhere. */
    /* A transaction's lease is not forgotten: begin() releases it when its callback ends. */
    int reserved_idle = s->state == SLOT_RESERVED && (now || (s->inflight == 0 && !s->close_hold));
    int busy_now = (now && s->state == SLOT_BUSY) || reserved_idle;
    if (idle || opening_unneeded || busy_now) {
      pool__retire(p, i, DB_ECLOSED);
    }
  }
  if (p->live_conns == 0 && p->live_cancels == 0 && !p->close_reported && !p->timer.live &&
      p->timer.cb == NULL) {
    p->close_reported = 1;
    return 1; /* nothing was ever opened: no callback follows */
  }
  pool__schedule(p);
  pool__check_closed(p);
  return 0;
}

void pool_count_states(const pool_t *p, uint32_t counts[SLOT__COUNT]) {
  memset(counts, 0, sizeof(uint32_t) * SLOT__COUNT);
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    counts[p->slots[i].state]++;
  }
}
