/* MySQL commands: the send queue, the in-flight queue and the answers to them.
 *
 * Each caller query becomes one or more ops (PREPARE, EXECUTE, QUERY...). Ops go out in the
 * order queued; an EXECUTE whose statement id is not known yet (its PREPARE is still in flight)
 * stops the send queue until the prepare answer comes, so the server always sees commands in
 * call order and answers are matched to ops by position. Only the front in-flight op reads
 * packets; its result-set progress is c->rs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "my_int.h"
#include "my_row.h"

static const char setup_sql[] = "SET time_zone = '+00:00'";

static my_op_t *op_new(my_op_kind_t kind, my_query_t *q) {
  my_op_t *op = calloc(1, sizeof(*op));
  if (op != NULL) {
    op->kind = kind;
    op->q = q;
    buf_init(&op->payload);
  }
  return op;
}

static void op_free(my_conn_t *c, my_op_t *op) {
  if (op->stmt != NULL) {
    my_stmt_release(&c->stmts, op->stmt);
  }
  buf_destroy(&op->payload);
  free(op);
}

static my_op_t *front_op(const list_node_t *list) {
  list_node_t *n = list_front(list);
  return n != NULL ? container_of(n, my_op_t, node) : NULL;
}

void my__free_ops(my_conn_t *c) {
  list_node_t *n;
  while ((n = list_pop_front(&c->sendq)) != NULL) {
    op_free(c, container_of(n, my_op_t, node));
  }
  while ((n = list_pop_front(&c->inflight)) != NULL) {
    op_free(c, container_of(n, my_op_t, node));
  }
}

void my__fail_pending(my_conn_t *c, int code, const db_error_t *err) {
  my__free_ops(c);
  list_node_t *n;
  while ((n = list_pop_front(&c->queries)) != NULL) {
    my_query_t *q = container_of(n, my_query_t, node);
    void *query = q->query;
    free(q);
    c->handler->on_query_done(c->ctx, query, code, err);
  }
}

int my__expected_seq(const my_conn_t *c) {
  return list_empty(&c->inflight) ? -1 : c->seq;
}

/* Writes one op's payload as packets numbered from 0 and moves it in flight. */
static int op_write(my_conn_t *c, my_op_t *op) {
  uint8_t seq = 0;
  int rc = my_packet_write(&c->out, &seq, buf_begin(&op->payload), buf_size(&op->payload));
  if (rc < 0) {
    return rc;
  }
  op->start_seq = seq;
  buf_destroy(&op->payload); /* sent: no need to keep it */
  if (list_empty(&c->inflight)) {
    c->seq = seq;
    c->rs = MY_RS_FIRST;
  }
  list_push_back(&c->inflight, &op->node);
  return 0;
}

static int write_close(my_conn_t *c, uint32_t id) {
  uint8_t p[5] = {MY_COM_STMT_CLOSE};
  uint8_t seq = 0;
  my_wr32(p + 1, id);
  return my_packet_write(&c->out, &seq, p, sizeof(p)); /* COM_STMT_CLOSE has no answer */
}

/* Ends query q (state first, then the callback: the owner may queue or close from it). */
static void query_done(my_conn_t *c, my_query_t *q, int status, const db_error_t *err) {
  int was_front = list_front(&c->queries) == &q->node;
  list_remove(&q->node);
  void *query = q->query;
  free(q);
  if (was_front) {
    list_node_t *n = list_front(&c->queries);
    my_query_t *next = n != NULL ? container_of(n, my_query_t, node) : NULL;
    if (next != NULL && next->cancel && c->handler->on_cancel_due != NULL) {
      next->cancel = 0;
      c->handler->on_cancel_due(c->ctx);
    }
  }
  c->handler->on_query_done(c->ctx, query, status, err);
}

/* Drops the unsent ops of q (its prepare failed, or its parameters do not fit). */
static void drop_unsent(my_conn_t *c, my_query_t *q) {
  for (list_node_t *n = c->sendq.next; n != &c->sendq;) {
    my_op_t *op = container_of(n, my_op_t, node);
    n = n->next;
    if (op->q == q) {
      list_remove(&op->node);
      op_free(c, op);
    }
  }
}

/* An EXECUTE whose statement failed to prepare for an earlier query: prepare it again for this
 * one, uncached (a cached entry's prepare could sit behind this op and never come). */
static int reprepare(my_conn_t *c, my_op_t *exec) {
  int evicted;
  uint32_t evicted_id;
  my_stmt_t *st = my_stmt_add(&c->stmts, exec->stmt->text, exec->stmt->text_len, 0, &evicted,
                              &evicted_id);
  my_op_t *prep = op_new(MY_OP_PREPARE, exec->q);
  int rc = st != NULL && prep != NULL
               ? my_msg_command(&prep->payload, MY_COM_STMT_PREPARE, st->text, st->text_len)
               : DB_ENOMEM;
  if (rc < 0) {
    if (st != NULL) {
      my_stmt_release(&c->stmts, st);
    }
    if (prep != NULL) {
      op_free(c, prep);
    }
    return rc;
  }
  my_stmt_release(&c->stmts, exec->stmt);
  exec->stmt = st; /* the exec keeps add()'s reference; the prepare takes one more */
  st->users++;
  prep->stmt = st;
  /* The list is circular: pushing "at the back" of the exec's node inserts just before it. */
  list_push_back(&exec->node, &prep->node);
  return 0;
}

/* An EXECUTE at the front of the send queue whose statement is READY. */
static int send_execute(my_conn_t *c, my_op_t *op) {
  my_stmt_t *st = op->stmt;
  /* A one-shot statement is closed right after its last execution is queued. */
  int close_after = !st->cached && st->users == 1;
  list_remove(&op->node);
  if (st->nparams != op->nparams) {
    my_query_t *q = op->q;
    db_error_t e;
    memset(&e, 0, sizeof(e));
    snprintf(c->argmsg, sizeof(c->argmsg),
             "the statement takes %u parameters, but %u were given", st->nparams, op->nparams);
    e.message.p = (const uint8_t *)c->argmsg;
    e.message.n = strlen(c->argmsg);
    int rc = close_after ? write_close(c, st->id) : 0;
    op_free(c, op);
    drop_unsent(c, q);
    query_done(c, q, DB_EARG, &e);
    return rc;
  }
  my_msg_patch_stmt_id(&op->payload, st->id);
  uint32_t id = st->id;
  int rc = op_write(c, op);
  if (rc == 0 && close_after) {
    rc = write_close(c, id);
  }
  if (rc < 0) {
    op_free(c, op);
  }
  return rc;
}

int my__flush(my_conn_t *c) {
  int rc = 0;
  my_op_t *op;
  while (rc == 0 && c->state == MY_ST_READY && (op = front_op(&c->sendq)) != NULL) {
    if (op->kind == MY_OP_EXECUTE) {
      if (op->stmt->state == MY_STMT_PREPARING) {
        break; /* the gate: its id comes with the prepare answer */
      }
      rc = op->stmt->state == MY_STMT_FAILED ? reprepare(c, op) : send_execute(c, op);
      continue;
    }
    list_remove(&op->node);
    if (op->kind == MY_OP_CLOSE) {
      rc = write_close(c, op->close_id);
      op_free(c, op);
      continue;
    }
    rc = op_write(c, op);
    if (rc < 0) {
      op_free(c, op);
    }
  }
  if (rc < 0) {
    my__fail(c, rc, NULL, "out of memory queueing a command");
  }
  return rc;
}

int my__start_setup(my_conn_t *c) {
  /* DATETIME/TIMESTAMP values then read as UTC, whatever the server's zone. */
  my_op_t *op = op_new(MY_OP_SETUP, NULL);
  int rc = op != NULL ? my_msg_command(&op->payload, MY_COM_QUERY, setup_sql,
                                       sizeof(setup_sql) - 1)
                      : DB_ENOMEM;
  if (rc == 0) {
    rc = op_write(c, op);
  }
  if (rc < 0) {
    if (op != NULL) {
      op_free(c, op);
    }
    my__fail(c, rc, NULL, "out of memory");
    return rc;
  }
  c->state = MY_ST_SETUP;
  return 0;
}

/* ---- queueing ----------------------------------------------------------------------------- */

static int check_open(const my_conn_t *c) {
  if (c->state == MY_ST_FAILED || c->state == MY_ST_CLOSED) {
    return c->err < 0 ? c->err : DB_ECLOSED;
  }
  return 0;
}

static my_query_t *query_new(my_conn_t *c, void *query) {
  my_query_t *q = calloc(1, sizeof(*q));
  if (q != NULL) {
    q->query = query;
    list_push_back(&c->queries, &q->node);
  }
  return q;
}

/* Queues a one-op command (COM_QUERY, COM_PING, COM_RESET_CONNECTION). */
static int queue_single(my_conn_t *c, my_op_kind_t kind, uint8_t command, const void *arg,
                        size_t n, void *query) {
  int rc = check_open(c);
  if (rc < 0) {
    return rc;
  }
  my_op_t *op = op_new(kind, NULL);
  if (op == NULL || my_msg_command(&op->payload, command, arg, n) < 0) {
    if (op != NULL) {
      op_free(c, op);
    }
    return DB_ENOMEM;
  }
  op->q = query_new(c, query);
  if (op->q == NULL) {
    op_free(c, op);
    return DB_ENOMEM;
  }
  op->is_last = 1;
  op->reset = command == MY_COM_RESET_CONNECTION;
  list_push_back(&c->sendq, &op->node);
  (void)my__flush(c); /* a failure there already failed this query */
  return 0;
}

int my_conn_simple_query(my_conn_t *c, const char *text, size_t len, void *query) {
  return queue_single(c, MY_OP_QUERY, MY_COM_QUERY, text, len, query);
}

int my_conn_ping(my_conn_t *c, void *query) {
  return queue_single(c, MY_OP_SIMPLE, MY_COM_PING, NULL, 0, query);
}

int my_conn_reset(my_conn_t *c, void *query) {
  int rc = queue_single(c, MY_OP_SIMPLE, MY_COM_RESET_CONNECTION, NULL, 0, query);
  if (rc == 0) {
    my_stmt_clear(&c->stmts); /* the server forgets them; later queries prepare again */
  }
  return rc;
}

int my_conn_query(my_conn_t *c, const char *text, size_t len, uint16_t nparams,
                  const uint32_t *types, const slice_t *values, void *query) {
  int rc = check_open(c);
  if (rc < 0) {
    return rc;
  }
  c->argmsg[0] = '\0';
  if (nparams > 0 && values == NULL) {
    snprintf(c->argmsg, sizeof(c->argmsg), "parameter values missing");
    return DB_EARG;
  }
  my_op_t *exec = op_new(MY_OP_EXECUTE, NULL);
  if (exec == NULL) {
    return DB_ENOMEM;
  }
  rc = my_msg_execute(&exec->payload, nparams, types, values, c->argmsg, sizeof(c->argmsg));
  if (rc < 0) {
    op_free(c, exec);
    return rc;
  }
  exec->nparams = nparams;
  exec->is_last = 1;
  my_op_t *prep = NULL, *close = NULL;
  my_stmt_t *st = my_stmt_find(&c->stmts, text, len);
  if (st != NULL) {
    st->users++;
  } else {
    int evicted;
    uint32_t evicted_id;
    st = my_stmt_add(&c->stmts, text, len, 1, &evicted, &evicted_id);
    prep = op_new(MY_OP_PREPARE, NULL);
    close = evicted ? op_new(MY_OP_CLOSE, NULL) : NULL;
    if (st == NULL || prep == NULL || (evicted && close == NULL) ||
        my_msg_command(&prep->payload, MY_COM_STMT_PREPARE, text, len) < 0) {
      /* An evicted entry is already gone from the table: without its CLOSE the server keeps
       * it until the connection ends, which is harmless. */
      if (st != NULL) {
        my_stmt_detach(&c->stmts, st);
        my_stmt_release(&c->stmts, st);
      }
      if (prep != NULL) {
        op_free(c, prep);
      }
      free(close);
      op_free(c, exec);
      return DB_ENOMEM;
    }
    prep->stmt = st;
    st->users++;
    if (close != NULL) {
      close->close_id = evicted_id;
    }
  }
  exec->stmt = st;
  my_query_t *q = query_new(c, query);
  if (q == NULL) {
    if (prep != NULL) {
      my_stmt_detach(&c->stmts, st);
      op_free(c, prep);
    }
    free(close);
    op_free(c, exec);
    return DB_ENOMEM;
  }
  exec->q = q;
  if (close != NULL) {
    list_push_back(&c->sendq, &close->node);
  }
  if (prep != NULL) {
    prep->q = q;
    list_push_back(&c->sendq, &prep->node);
  }
  list_push_back(&c->sendq, &exec->node);
  (void)my__flush(c);
  return 0;
}

int my_conn_request_cancel(my_conn_t *c, void *query) {
  int first = 1;
  for (list_node_t *n = c->queries.next; n != &c->queries; n = n->next) {
    my_query_t *q = container_of(n, my_query_t, node);
    if (q->query == query) {
      if (first && c->state == MY_ST_READY) {
        return 1;
      }
      q->cancel = 1;
      return 0;
    }
    first = 0;
  }
  return DB_EARG;
}

/* ---- answers ------------------------------------------------------------------------------ */

/* A callback may have closed the connection: then nothing of the op is left to touch. */
static int alive(const my_conn_t *c) {
  return c->state == MY_ST_READY || c->state == MY_ST_SETUP;
}

static int proto(my_conn_t *c, const char *what) {
  my__fail(c, DB_EPROTO, NULL, "%s", what);
  return DB_EPROTO;
}

/* The front op's answer is complete. */
static int op_done(my_conn_t *c, int query_status, const db_error_t *err) {
  my_op_t *op = container_of(list_pop_front(&c->inflight), my_op_t, node);
  my_op_t *next = front_op(&c->inflight);
  c->rs = MY_RS_FIRST;
  if (next != NULL) {
    c->seq = next->start_seq;
  }
  my_query_t *q = op->is_last ? op->q : NULL;
  my_op_kind_t kind = op->kind;
  op_free(c, op);
  if (kind == MY_OP_SETUP) {
    c->state = MY_ST_READY;
    c->handler->on_ready(c->ctx);
  } else if (q != NULL) {
    query_done(c, q, query_status, err);
  }
  return my__flush(c) < 0 ? c->err : 0;
}

static int report_error(my_conn_t *c, my_op_t *op, const uint8_t *p, size_t n) {
  db_error_t e;
  if (my_decode_err(p, n, &e) < 0) {
    return proto(c, "malformed ERR packet");
  }
  if (op->kind == MY_OP_SETUP) {
    my__fail(c, DB_ESERVER, &e, "session setup failed: %.*s",
             (int)(e.message.n > 200 ? 200 : e.message.n), (const char *)e.message.p);
    return DB_ESERVER;
  }
  if (op->q != NULL && !op->q->errored) {
    op->q->errored = 1;
    c->handler->on_query_error(c->ctx, op->q->query, &e);
  }
  return alive(c) ? 0 : DB_ECLOSED;
}

/* OK (or the EOF/OK after rows): report it, then another result follows or the op is done. */
static int end_of_result(my_conn_t *c, my_op_t *op, const my_ok_t *ok, int report) {
  c->server_status = ok->status;
  int more = (ok->status & MY_STATUS_MORE_RESULTS) && op->kind != MY_OP_SIMPLE;
  int reset = op->reset;
  if (more) {
    c->rs = MY_RS_FIRST;
  }
  if (report && op->kind != MY_OP_SETUP && op->q != NULL) {
    c->handler->on_command(c->ctx, op->q->query, ok);
    if (!alive(c)) {
      return DB_ECLOSED;
    }
  }
  if (more) {
    return 0;
  }
  if (reset) {
    my_stmt_clear(&c->stmts);
  }
  return op_done(c, 0, NULL);
}

static int ensure_fields(my_conn_t *c, uint16_t n) {
  if (n <= c->fields_cap) {
    return 0;
  }
  db_field_t *f = realloc(c->fields, sizeof(db_field_t) * n);
  if (f == NULL) {
    return DB_ENOMEM;
  }
  c->fields = f;
  uint32_t *o = realloc(c->name_off, sizeof(uint32_t) * n);
  if (o == NULL) {
    return DB_ENOMEM;
  }
  c->name_off = o;
  c->fields_cap = n;
  return 0;
}

/* One column definition of the result set being read; the name is copied (its packet may be
 * gone by the time the last definition arrives). */
static int on_column(my_conn_t *c, const uint8_t *p, size_t n, int keep) {
  db_field_t f;
  if (my_decode_column(p, n, &f, (c->ext_caps & MY_EXT_CAP_EXTENDED_METADATA) != 0) < 0) {
    return proto(c, "malformed column definition");
  }
  if (!keep) {
    return 0;
  }
  uint16_t i = (uint16_t)(c->ncols - c->cols_left);
  if (buf_size(&c->names) > UINT32_MAX - f.name.n) {
    return proto(c, "column names too long");
  }
  c->name_off[i] = (uint32_t)buf_size(&c->names);
  if (buf_append(&c->names, f.name.p, f.name.n) < 0) {
    my__fail(c, DB_ENOMEM, NULL, "out of memory");
    return DB_ENOMEM;
  }
  c->fields[i] = f;
  return 0;
}

static int cache_meta(const my_conn_t *c) {
  return (c->ext_caps & MY_EXT_CAP_CACHE_METADATA) != 0;
}

/* Keeps a column definition packet for executions of `st` that skip them. */
static int keep_meta(my_conn_t *c, my_stmt_t *st, const uint8_t *p, size_t n) {
  uint8_t len[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
  if (buf_append(&st->meta, len, 4) < 0 || buf_append(&st->meta, p, n) < 0) {
    my__fail(c, DB_ENOMEM, NULL, "out of memory");
    return DB_ENOMEM;
  }
  return 0;
}

static void emit_fields(my_conn_t *c, my_op_t *op) {
  uint16_t format = op->kind == MY_OP_EXECUTE ? DB_FORMAT_BINARY : DB_FORMAT_TEXT;
  for (uint16_t i = 0; i < c->ncols; i++) {
    c->fields[i].name.p = buf_begin(&c->names) + c->name_off[i];
    c->fields[i].format = format;
  }
  c->rs = MY_RS_ROWS;
  if (op->kind != MY_OP_SETUP) {
    c->handler->on_fields(c->ctx, op->q->query, c->fields, c->ncols);
  }
}

static int deprecate_eof(const my_conn_t *c);

static int on_result_header(my_conn_t *c, my_op_t *op, const uint8_t *p, size_t n) {
  reader_t r;
  reader_init(&r, p, n);
  uint64_t count = reader_lenenc(&r);
  /* With CACHE_METADATA a byte says whether the column definitions follow. */
  int follows = 1;
  if (cache_meta(c) && reader_left(&r) == 1) {
    follows = reader_u8(&r);
  }
  if (!reader_finished(&r) || count == 0 || count > MY_MAX_COLUMNS ||
      op->kind == MY_OP_SIMPLE || follows > 1) {
    return proto(c, "malformed result set header");
  }
  if (ensure_fields(c, (uint16_t)count) < 0) {
    my__fail(c, DB_ENOMEM, NULL, "out of memory");
    return DB_ENOMEM;
  }
  c->ncols = (uint16_t)count;
  c->cols_left = (uint32_t)count;
  buf_clear(&c->names);
  c->rs = MY_RS_COLUMNS;
  c->meta_stmt = NULL;
  /* Only the first result set's columns are the statement's (a CALL may return several). */
  my_stmt_t *st = op->kind == MY_OP_EXECUTE && cache_meta(c) && op->nresults++ == 0 ? op->stmt
                                                                                  : NULL;
  if (follows) {
    if (st != NULL) {
      /* New definitions: they replace what the statement kept. */
      buf_clear(&st->meta);
      st->meta_ncols = 0;
      c->meta_stmt = st;
    }
    return 0;
  }
  /* Skipped: the statement's kept definitions, read as if they had just arrived. */
  if (st == NULL || st->meta_ncols == 0 || st->meta_ncols != count) {
    return proto(c, "column definitions skipped, but none are known for this statement");
  }
  reader_t m;
  reader_init(&m, buf_begin(&st->meta), buf_size(&st->meta));
  while (c->cols_left > 0) {
    uint32_t len = reader_u32le(&m);
    slice_t def = reader_bytes(&m, len);
    int rc = m.err ? proto(c, "kept column definitions are damaged") : on_column(c, def.p, def.n, 1);
    if (rc < 0) {
      return rc;
    }
    c->cols_left--;
  }
  if (deprecate_eof(c)) {
    emit_fields(c, op);
  } else {
    c->rs = MY_RS_COLUMNS_EOF;
  }
  return 0;
}

/* A LOCAL INFILE request (0xFB) names a client file for the server to read. We never offer
 * CLIENT_LOCAL_FILES, so a server that asks anyway is misbehaving or impersonated: the
 * connection is dropped (RELIABILITY.md 3.6), never answered with a file or even an empty one. */
static int on_infile_request(my_conn_t *c) {
  return proto(c, "the server asked for a LOCAL INFILE file, which this client never offers");
}

static int on_row_packet(my_conn_t *c, my_op_t *op, const uint8_t *p, size_t n) {
  int rc = op->kind == MY_OP_EXECUTE ? my_row_each_binary(p, n, c->fields, c->ncols, NULL, NULL)
                                     : my_row_each_text(p, n, c->ncols, NULL, NULL);
  if (rc < 0) {
    return proto(c, "malformed row (does not match its columns)");
  }
  if (op->kind != MY_OP_SETUP) {
    c->handler->on_row(c->ctx, op->q->query, p, n);
  }
  return 0;
}

/* The EOF after column definitions (servers without CLIENT_DEPRECATE_EOF). */
static int expect_eof(my_conn_t *c, const uint8_t *p, size_t n) {
  my_ok_t eof;
  if (my_decode_eof(p, n, &eof) < 0) {
    return proto(c, "expected an EOF packet after the column definitions");
  }
  return 0;
}

static int deprecate_eof(const my_conn_t *c) {
  return (c->caps & MY_CAP_DEPRECATE_EOF) != 0;
}

static int on_result_packet(my_conn_t *c, my_op_t *op, const uint8_t *p, size_t n) {
  my_ok_t ok;
  switch (c->rs) {
    case MY_RS_FIRST:
      if (p[0] == 0x00) {
        if (my_decode_ok(p, n, &ok) < 0) {
          return proto(c, "malformed OK packet");
        }
        return end_of_result(c, op, &ok, 1);
      }
      if (p[0] == 0xFF) {
        int rc = report_error(c, op, p, n);
        return rc < 0 ? rc : op_done(c, 0, NULL);
      }
      if (p[0] == 0xFB) {
        return on_infile_request(c);
      }
      return on_result_header(c, op, p, n);
    case MY_RS_COLUMNS: {
      int rc = on_column(c, p, n, 1);
      if (rc == 0 && c->meta_stmt != NULL) {
        rc = keep_meta(c, c->meta_stmt, p, n);
      }
      if (rc < 0) {
        return rc;
      }
      if (--c->cols_left == 0) {
        if (c->meta_stmt != NULL) {
          c->meta_stmt->meta_ncols = c->ncols;
          c->meta_stmt = NULL;
        }
        if (deprecate_eof(c)) {
          emit_fields(c, op);
        } else {
          c->rs = MY_RS_COLUMNS_EOF;
        }
      }
      return 0;
    }
    case MY_RS_COLUMNS_EOF: {
      int rc = expect_eof(c, p, n);
      if (rc == 0) {
        emit_fields(c, op);
      }
      return rc;
    }
    case MY_RS_ROWS:
      if (p[0] == 0xFE && n < MY_PACKET_MAX) {
        int bad = deprecate_eof(c) ? my_decode_ok(p, n, &ok) : my_decode_eof(p, n, &ok);
        if (bad < 0) {
          return proto(c, "malformed end of result set");
        }
        return end_of_result(c, op, &ok, 1);
      }
      if (p[0] == 0xFF) {
        int rc = report_error(c, op, p, n);
        return rc < 0 ? rc : op_done(c, 0, NULL);
      }
      return on_row_packet(c, op, p, n);
    default:
      return proto(c, "unexpected packet for the command in flight");
  }
}

/* Parameter and column definitions of a prepare answer are read and checked; the column
 * definitions are kept only with CACHE_METADATA (executions may then skip them). */
static int prep_next_section(my_conn_t *c, my_op_t *op) {
  if (c->rs <= MY_RS_PREP_PARAMS_EOF && op->stmt->ncols > 0) {
    c->cols_left = op->stmt->ncols;
    c->rs = MY_RS_PREP_COLUMNS;
    return 0;
  }
  return op_done(c, 0, NULL);
}

static int on_prepare_packet(my_conn_t *c, my_op_t *op, const uint8_t *p, size_t n) {
  my_stmt_t *st = op->stmt;
  switch (c->rs) {
    case MY_RS_FIRST: {
      if (p[0] == 0xFF) {
        db_error_t e;
        if (my_decode_err(p, n, &e) < 0) {
          return proto(c, "malformed ERR packet");
        }
        /* The statement does not exist on the server: later queries with this text prepare
         * again; this query fails alone and the connection goes on. */
        st->state = MY_STMT_FAILED;
        my_stmt_detach(&c->stmts, st);
        my_query_t *q = op->q;
        drop_unsent(c, q);
        if (!q->errored) {
          q->errored = 1;
          c->handler->on_query_error(c->ctx, q->query, &e);
          if (!alive(c)) {
            return DB_ECLOSED;
          }
        }
        op->is_last = 1; /* this query ends with its prepare */
        return op_done(c, 0, NULL);
      }
      reader_t r;
      reader_init(&r, p, n);
      uint8_t status = reader_u8(&r);
      uint32_t id = reader_u32le(&r);
      uint16_t ncols = reader_u16le(&r);
      uint16_t nparams = reader_u16le(&r);
      (void)reader_u8(&r);
      if (reader_left(&r) == 2) {
        (void)reader_u16le(&r); /* warnings */
      }
      if (status != 0x00 || !reader_finished(&r) || ncols > MY_MAX_COLUMNS) {
        return proto(c, "malformed COM_STMT_PREPARE answer");
      }
      st->id = id;
      st->ncols = ncols;
      st->nparams = nparams;
      st->state = MY_STMT_READY;
      buf_clear(&st->meta);
      st->meta_ncols = 0;
      if (nparams > 0) {
        c->cols_left = nparams;
        c->rs = MY_RS_PREP_PARAMS;
        return 0;
      }
      return prep_next_section(c, op);
    }
    case MY_RS_PREP_PARAMS:
    case MY_RS_PREP_COLUMNS: {
      int rc = on_column(c, p, n, 0);
      if (rc == 0 && c->rs == MY_RS_PREP_COLUMNS && cache_meta(c)) {
        rc = keep_meta(c, st, p, n); /* executions may skip them from now on */
      }
      if (rc < 0 || --c->cols_left > 0) {
        return rc;
      }
      if (c->rs == MY_RS_PREP_COLUMNS && cache_meta(c)) {
        st->meta_ncols = st->ncols;
      }
      if (!deprecate_eof(c)) {
        c->rs = c->rs == MY_RS_PREP_PARAMS ? MY_RS_PREP_PARAMS_EOF : MY_RS_PREP_COLUMNS_EOF;
        return 0;
      }
      return prep_next_section(c, op);
    }
    case MY_RS_PREP_PARAMS_EOF:
    case MY_RS_PREP_COLUMNS_EOF: {
      int rc = expect_eof(c, p, n);
      return rc < 0 ? rc : prep_next_section(c, op);
    }
    default:
      return proto(c, "unexpected packet for the prepare in flight");
  }
}

int my__on_answer(my_conn_t *c, const uint8_t *p, size_t n) {
  my_op_t *op = front_op(&c->inflight);
  if (op == NULL) {
    /* Nothing asked: a server about to close says why (timeout, shutdown, KILL). */
    db_error_t e;
    if (p[0] == 0xFF && my_decode_err(p, n, &e) == 0) {
      my__fail(c, DB_ECLOSED, &e, "the server closed the connection: %.*s",
               (int)(e.message.n > 200 ? 200 : e.message.n), (const char *)e.message.p);
      return DB_ECLOSED;
    }
    return proto(c, "unexpected packet with no command in flight");
  }
  if (op->kind == MY_OP_PREPARE) {
    return on_prepare_packet(c, op, p, n);
  }
  return on_result_packet(c, op, p, n);
}
