/* The protocol engine of a pooled connection: PostgreSQL (src/pg) or MySQL (src/mysql).
 *
 * The pool and the socket glue (pool_conn.c) talk to "the engine" through the pool__eng_*
 * functions below; this file is the only one that knows there are two. Both engines' events
 * are forwarded to the same pool callbacks, so every slot rule (generations, leases, retries)
 * is shared.
 *
 * A MySQL "killer" (pool_conn_t.killer) is a connection outside the slots that authenticates,
 * runs KILL QUERY <thread id> and quits: MySQL's way of cancelling a query, where PostgreSQL
 * sends a CancelRequest (pool_cancel.c).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../base/base_bytes.h"
#include "../base/base_err.h"
#include "pool_int.h"

static int is_mysql(const pool_conn_t *c) {
  return c->pool->cfg.proto == POOL_PROTO_MYSQL;
}

/* ---- events shared by both engines ------------------------------------------------------- */

static void on_eng_ready(void *ctx) {
  pool_conn_t *c = ctx;
  if (c->killer) {
    /* Its deadline keeps running: it bounds the KILL's answer (pool_cancel.c). */
    char text[48];
    int n = snprintf(text, sizeof(text), "KILL QUERY %" PRIu32, c->kill_thread_id);
    if (my_conn_simple_query(&c->eng.my, text, (size_t)n, c) < 0) {
      pool__conn_retire(c);
      return;
    }
    pool__cancel_sent(c->pool, &c->cancel);
    return;
  }
  net_sock_clear_deadline(&c->sock);
  pool__on_conn_handshake(c);
}

static void on_eng_fields(void *ctx, void *query, const db_field_t *f, uint16_t n) {
  pool_conn_t *c = ctx;
  if (!c->killer) {
    c->pool->handler->on_fields(c->pool->ctx, query, f, n);
  }
}

static void on_eng_row(void *ctx, void *query, const uint8_t *body, size_t n) {
  pool_conn_t *c = ctx;
  if (!c->killer) {
    ((pool_query_t *)query)->rows_seen = 1;
    c->pool->handler->on_row(c->pool->ctx, query, body, n);
  }
}

/* PostgreSQL: a cached statement whose plan DDL invalidated ("cached plan must not change
 * result type", 0A000) or that the server lost (26000), as the answer to its Bind (the engine
 * says so in stale_plan; the same codes raised by the running query are its answer). The
 * engine already forgot it; the query never ran and changed nothing. Outside a transaction
 * it simply runs once more (prepared afresh), as postgres.js does, instead of failing the
 * first query after every ALTER TABLE. Inside one (a lease, or a session BEGIN) the
 * transaction is aborted, so the error is the answer. */
static int stale_plan_retry(pool_conn_t *c, const pool_query_t *q) {
  if (is_mysql(c) || q->replanned || !c->eng.pg.stale_plan) {
    return 0;
  }
  pool_t *p = c->pool;
  return pool__conn_current(c) && p->slots[c->slot].state != SLOT_RESERVED &&
         c->eng.pg.tx_status == 'I';
}

static size_t leading_keyword(const char *text, size_t n, char *out, size_t cap);

/* The server's "interrupted by a cancel" error: PostgreSQL 57014 (also a statement_timeout),
 * MySQL 1317 (KILL QUERY). */
static int is_cancel_error(const pool_conn_t *c, const db_error_t *e) {
  if (is_mysql(c)) {
    return e->number == 1317;
  }
  return e->code.n == 5 && memcmp(e->code.p, "57014", 5) == 0;
}

/* Rows it already handed to the owner are taken back (the owner says whether it can). */
static int retry_taken_back(pool_conn_t *c, pool_query_t *q) {
  const pool_handler_t *h = c->pool->handler;
  if (h->on_query_retry == NULL || !h->on_query_retry(c->pool->ctx, q)) {
    return 0;
  }
  q->rows_seen = 0;
  return 1;
}

/* A cancel error on a query nobody cancelled, while a cancel sent on this connection may still
 * land (pool_conn_t.stray_window): that cancel arrived after its own query ended, or it was
 * PostgreSQL's second signal (pool_cancel.c). The query runs
 * once more when that provably changes nothing the caller could see: no command tag and no
 * row reached its caller, it is not part of a lease (whose queries never move to another
 * connection), and it ran outside any transaction, so the interruption rolled it back whole.
 * PostgreSQL: the session was idle ('I') before it. MySQL: autocommit and no transaction, and
 * only a SELECT: a killed write on a non-transactional table (MyISAM, Aria) keeps what it did. */
static int stray_cancel_rerun(pool_conn_t *c, pool_query_t *q, const db_error_t *e) {
  if (!c->stray_window || !is_cancel_error(c, e)) {
    return 0;
  }
  if (q->cancel_requested || q->replanned || q->delivered || !pool__conn_current(c) ||
      c->pool->slots[c->slot].state == SLOT_RESERVED) {
    return 0;
  }
  int harmless;
  if (!is_mysql(c)) {
    harmless = c->eng.pg.tx_status == 'I';
  } else {
    uint16_t st = c->eng.my.server_status;
    char verb[8];
    leading_keyword(q->text, q->text_len, verb, sizeof(verb));
    harmless = (st & MY_STATUS_AUTOCOMMIT) && !(st & MY_STATUS_IN_TRANS) &&
               strcmp(verb, "SELECT") == 0;
  }
  /* The interruption often lands after the first rows went out (the executor checks for
   * interrupts between rows): those rows are taken back from the owner if none reached the
   * user yet, else the error stays the answer. */
  return harmless && (!q->rows_seen || retry_taken_back(c, q));
}

static void on_eng_query_error(void *ctx, void *query, const db_error_t *e) {
  pool_conn_t *c = ctx;
  if (c->killer) {
    return;
  }
  pool_query_t *q = query;
  if (stray_cancel_rerun(c, q, e) || stale_plan_retry(c, q)) {
    q->replan = 1; /* held back: on_eng_query_done sends it again */
    return;
  }
  c->pool->handler->on_query_error(c->pool->ctx, query, e);
}

static void on_eng_query_done(void *ctx, void *query, int status, const db_error_t *err) {
  pool_conn_t *c = ctx;
  if (c->killer) {
    /* Answered, OK or ERR (the victim's thread is flagged, or there is nothing to kill): the
     * victim may take queries again. A failed connection says nothing: status < 0. */
    c->cancel.resolved = status == 0;
    pool__conn_retire(c);
    return;
  }
  pool_query_t *q = query;
  if (q->replan && status == 0) {
    q->replan = 0;
    q->replanned = 1;
    pool__requeue(c, q);
    return;
  }
  pool__on_query_done(c, query, status, err);
}

static void on_eng_fatal(void *ctx, int code, const char *message, const db_error_t *err) {
  pool_conn_t *c = ctx;
  if (!c->killer) {
    pool__on_conn_died(c, code, message, err);
  }
  net_sock_close(&c->sock);
}

static void on_eng_cancel_due(void *ctx) {
  pool_conn_t *c = ctx;
  /* Called just before the previous query's on_query_done: that one is still to leave. */
  (void)pool__send_cancel(c->pool, c, 1);
}

static int on_eng_tls_start(void *ctx) {
  pool_conn_t *c = ctx;
  if (c->pool->tls_ctx == NULL) {
    return DB_ETLS;
  }
  /* MySQL's SSLRequest is still in the engine's output (PostgreSQL's went out before the
   * server's answer): it must leave in plaintext, before TLS wraps everything. */
  buf_t *out = pool__eng_output(c);
  if (buf_size(out) > 0 && !c->sock.closing) {
    int sent = net_sock_send(&c->sock, out);
    if (sent < 0) {
      return sent;
    }
  }
  int rc = tls_conn_new(c->pool->tls_ctx, &c->tls);
  if (rc == 0) {
    rc = tls_conn_start(c->tls); /* the ClientHello leaves with the next flush */
  }
  return rc;
}

/* ---- PostgreSQL only -------------------------------------------------------------------- */

static void on_pg_command(void *ctx, void *query, slice_t tag) {
  pool_conn_t *c = ctx;
  ((pool_query_t *)query)->delivered = 1;
  c->pool->handler->on_command(c->pool->ctx, query, tag);
}

static void on_pg_notice(void *ctx, const db_error_t *notice) {
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

static const pg_handler_t conn_pg_handler = {
  .on_ready = on_eng_ready,
  .on_fields = on_eng_fields,
  .on_row = on_eng_row,
  .on_command = on_pg_command,
  .on_query_error = on_eng_query_error,
  .on_query_done = on_eng_query_done,
  .on_fatal = on_eng_fatal,
  .on_parameter = NULL,
  .on_notice = on_pg_notice,
  .on_notification = on_pg_notification,
  .on_cancel_due = on_eng_cancel_due,
  .on_tls_start = on_eng_tls_start,
};

/* ---- MySQL only -------------------------------------------------------------------------- */

/* The statement's first keyword, upper-cased ("INSERT", "SELECT", ...): MySQL's OK packet has
 * no command tag, and results carry one (Bun.SQL's `command`). Comments and parentheses before
 * it are skipped. */
static size_t leading_keyword(const char *text, size_t n, char *out, size_t cap) {
  size_t i = 0;
  while (i < n) {
    if (isspace((unsigned char)text[i]) || text[i] == '(') {
      i++;
    } else if (text[i] == '#' || (text[i] == '-' && i + 1 < n && text[i + 1] == '-')) {
      while (i < n && text[i] != '\n') {
        i++;
      }
    } else if (text[i] == '/' && i + 1 < n && text[i + 1] == '*') {
      const char *end = NULL;
      for (size_t k = i + 2; k + 1 < n; k++) {
        if (text[k] == '*' && text[k + 1] == '/') {
          end = text + k + 2;
          break;
        }
      }
      i = end != NULL ? (size_t)(end - text) : n;
    } else {
      break;
    }
  }
  size_t len = 0;
  while (i < n && len + 1 < cap && isalpha((unsigned char)text[i])) {
    out[len++] = (char)toupper((unsigned char)text[i++]);
  }
  out[len] = '\0';
  return len;
}

/* " <v>" in decimal at tag + len; the new length. */
static size_t put_space_u64(char *tag, size_t len, uint64_t v) {
  uint8_t digits[20];
  const uint8_t *at = wr_u64_decimal_back(digits + sizeof(digits), v);
  size_t n = (size_t)(digits + sizeof(digits) - at);
  tag[len++] = ' ';
  memcpy(tag + len, at, n);
  return len + n;
}

/* An OK packet -> the pool's command tag: "<KEYWORD> <affected rows> <last insert id>"
 * (lib/result.js reads it back for MySQL). Every MySQL result ends with one, so it is built by
 * hand: snprintf was 1.3k instructions of MySQL S1's 34k per query (callgrind). */
static void on_my_command(void *ctx, void *query, const my_ok_t *ok) {
  pool_conn_t *c = ctx;
  if (c->killer) {
    return;
  }
  pool_query_t *q = query;
  q->delivered = 1;
  char tag[24 + 2 * 21]; /* a keyword of at most 23 characters and two u64s, each after a space */
  size_t n = leading_keyword(q->text != NULL ? q->text : "", q->text_len, tag, 24);
  n = put_space_u64(tag, n, ok->affected_rows);
  n = put_space_u64(tag, n, ok->last_insert_id);
  c->pool->handler->on_command(c->pool->ctx, query, (slice_t){(const uint8_t *)tag, n});
}

static const my_handler_t conn_my_handler = {
  .on_ready = on_eng_ready,
  .on_fields = on_eng_fields,
  .on_row = on_eng_row,
  .on_command = on_my_command,
  .on_query_error = on_eng_query_error,
  .on_query_done = on_eng_query_done,
  .on_fatal = on_eng_fatal,
  .on_tls_start = on_eng_tls_start,
  .on_cancel_due = on_eng_cancel_due,
};

/* ---- the engine interface used by the pool ----------------------------------------------- */

int pool__eng_init(pool_conn_t *c, const char *password) {
  pool_t *p = c->pool;
  db_ssl_mode_t ssl = p->cfg.path != NULL ? DB_SSL_DISABLE : p->cfg.ssl_mode;
  if (is_mysql(c)) {
    my_config_t cfg = {
      .user = p->cfg.user,
      .password = password,
      .database = p->cfg.database,
      .attrs = (const char *const *)p->cfg.params,
      .stmt_cache_max = p->cfg.stmt_cache_max,
      .ssl_mode = ssl,
      .secure_transport = p->cfg.path != NULL,
      .allow_public_key_retrieval = p->cfg.allow_public_key_retrieval,
    };
    return my_conn_init(&c->eng.my, &cfg, &conn_my_handler, c);
  }
  pg_config_t cfg = {
    .user = p->cfg.user,
    .password = password,
    .database = p->cfg.database,
    .params = (const char *const *)p->cfg.params,
    .stmt_cache_max = p->cfg.stmt_cache_max,
    .ssl_mode = ssl,
    .channel_binding = p->cfg.channel_binding,
    .auth_allowed = p->cfg.auth_allowed,
  };
  return pg_conn_init(&c->eng.pg, &cfg, &conn_pg_handler, c);
}

void pool__eng_destroy(pool_conn_t *c) {
  if (is_mysql(c)) {
    my_conn_destroy(&c->eng.my);
  } else {
    pg_conn_destroy(&c->eng.pg);
  }
}

buf_t *pool__eng_output(pool_conn_t *c) {
  return is_mysql(c) ? my_conn_output(&c->eng.my) : pg_conn_output(&c->eng.pg);
}

void pool__eng_feed(pool_conn_t *c, const uint8_t *bytes, size_t n) {
  if (is_mysql(c)) {
    (void)my_conn_feed(&c->eng.my, bytes, n);
  } else {
    (void)pg_conn_feed(&c->eng.pg, bytes, n);
  }
}

void pool__eng_fail(pool_conn_t *c, int code, const char *message) {
  if (is_mysql(c)) {
    my_conn_fail(&c->eng.my, code, message);
  } else {
    pg_conn_fail(&c->eng.pg, code, message);
  }
}

void pool__eng_terminate(pool_conn_t *c) {
  if (is_mysql(c)) {
    my_conn_terminate(&c->eng.my);
  } else {
    pg_conn_terminate(&c->eng.pg);
  }
}

void pool__eng_tls_ready(pool_conn_t *c, const uint8_t *cbind, size_t cbind_len) {
  if (is_mysql(c)) {
    (void)my_conn_tls_ready(&c->eng.my);
  } else {
    (void)pg_conn_tls_ready(&c->eng.pg, cbind, cbind_len);
  }
}

int pool__eng_set_password(pool_conn_t *c, const char *password) {
  return is_mysql(c) ? my_conn_set_password(&c->eng.my, password)
                     : pg_conn_set_password(&c->eng.pg, password);
}

int pool__eng_send(pool_conn_t *c, pool_query_t *q) {
  if (is_mysql(c)) {
    return q->simple ? my_conn_simple_query(&c->eng.my, q->text, q->text_len, q)
                     : my_conn_query(&c->eng.my, q->text, q->text_len, q->nparams, q->types,
                                     q->values, q);
  }
  return q->simple ? pg_conn_simple_query(&c->eng.pg, q->text, q->text_len, q)
                   : pg_conn_query(&c->eng.pg, q->text, q->text_len, q->nparams, q->types,
                                   q->values, q);
}

const char *pool__eng_send_error(pool_conn_t *c, int rc) {
  if (rc == DB_EARG && is_mysql(c)) {
    return my_conn_arg_error(&c->eng.my);
  }
  return rc == DB_EARG ? "query text contains a NUL byte" : base_err_message(rc);
}

int pool__eng_in_transaction(const pool_conn_t *c) {
  return !is_mysql(c) && c->eng.pg.tx_status != 'I';
}

int pool__eng_request_cancel(pool_conn_t *c, pool_query_t *q) {
  return is_mysql(c) ? my_conn_request_cancel(&c->eng.my, q)
                     : pg_conn_request_cancel(&c->eng.pg, q);
}

const char *pool__eng_error_message(const pool_conn_t *c) {
  return is_mysql(c) ? my_conn_error_message(&c->eng.my) : pg_conn_error_message(&c->eng.pg);
}

int pool__eng_error(const pool_conn_t *c) {
  return is_mysql(c) ? c->eng.my.err : c->eng.pg.err;
}
