/* Recording what the pool reports and handing it to JS.
 *
 * Query events from the pool are recorded in C (js_query_t) and completed queries wait in an
 * outbox; at the end of each I/O callback (pool_handler_t.flush) the outbox goes to JS as ONE
 * call, `onResults(batch)`, so no microtask can run between two of our JS calls from the same
 * native callback. The batch layout is documented at the top of js_pool.c.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "../base/base_mem.h"
#include "js_pool_int.h"

/* The ErrorResponse fields JS gets, in db_error_t order, with the names Bun.SQL uses. */
static const char *const err_field_names[JS_ERR_NFIELDS] = {
  "severity", "errno", "message", "detail", "hint", "position", "internalPosition",
  "internalQuery", "where", "schema", "table", "column", "dataType", "constraint", "file",
  "line", "routine",
};

static void js_pgerr_free(js_pgerr_t *e) {
  if (e == NULL) {
    return;
  }
  for (int i = 0; i < JS_ERR_NFIELDS; i++) {
    free(e->field[i]);
  }
  free(e);
}

static char *dup_slice(slice_t s) {
  if (s.p == NULL) {
    return NULL;
  }
  char *d = malloc(s.n + 1);
  if (d != NULL) {
    memcpy(d, s.p, s.n);
    d[s.n] = '\0';
  }
  return d;
}

static js_pgerr_t *js_pgerr_copy(const db_error_t *e) {
  js_pgerr_t *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    return NULL;
  }
  const slice_t *src[JS_ERR_NFIELDS] = {
    &e->severity, &e->code, &e->message, &e->detail, &e->hint, &e->position,
    &e->internal_position, &e->internal_query, &e->where, &e->schema, &e->table, &e->column,
    &e->data_type, &e->constraint, &e->file, &e->line, &e->routine,
  };
  for (int i = 0; i < JS_ERR_NFIELDS; i++) {
    c->field[i] = dup_slice(*src[i]);
  }
  c->number = e->number;
  return c;
}

/* Freelist bounds: enough for a burst's worth of small results; a result set holding more
 * than JS_RECYCLE_MAX_BYTES of buffers (a long result) is freed rather than kept. */
#define JS_FREE_QUERIES_MAX 256
#define JS_FREE_RESULTS_MAX 256
#define JS_RECYCLE_MAX_BYTES (64 * 1024)

js_query_t *js__query_new(js_pool_t *jp, double id) {
  js_query_t *jq;
  if (jp != NULL && jp->free_queries != NULL) {
    jq = jp->free_queries;
    jp->free_queries = (js_query_t *)jq->first;
    jp->nfree_queries--;
    memset(jq, 0, sizeof(*jq));
  } else {
    jq = calloc(1, sizeof(*jq));
  }
  if (jq != NULL) {
    jq->id = id;
    list_init(&jq->node);
    list_init(&jq->live);
    list_init(&jq->streaming);
  }
  return jq;
}

static void result_free(js_result_t *r) {
  buf_destroy(&r->fields);
  rowbatch_destroy(&r->batch);
  free(r->command);
  free(r);
}

/* Recycles (or frees) a list of result sets. */
static void results_release(js_pool_t *jp, js_result_t *r) {
  while (r != NULL) {
    js_result_t *next = r->next;
    /* rowbatch_start(0 columns) forgets any rows never handed over (a failed query). */
    if (jp != NULL && jp->nfree_results < JS_FREE_RESULTS_MAX &&
        r->fields.cap + rowbatch_footprint(&r->batch) <= JS_RECYCLE_MAX_BYTES &&
        rowbatch_start(&r->batch, 0, 0) == 0) {
      free(r->command);
      r->command = NULL;
      r->next = jp->free_results;
      jp->free_results = r;
      jp->nfree_results++;
    } else {
      result_free(r);
    }
    r = next;
  }
}

void js__query_free(js_pool_t *jp, js_query_t *jq) {
  free(jq->message);
  free(jq->channel);
  free(jq->payload);
  js_pgerr_free(jq->err);
  results_release(jp, jq->first);
  if (jp != NULL && jp->nfree_queries < JS_FREE_QUERIES_MAX) {
    jq->first = (js_result_t *)jp->free_queries;
    jp->free_queries = jq;
    jp->nfree_queries++;
    return;
  }
  free(jq);
}

void js__recycled_free(js_pool_t *jp) {
  while (jp->free_queries != NULL) {
    js_query_t *jq = jp->free_queries;
    jp->free_queries = (js_query_t *)jq->first;
    free(jq);
  }
  while (jp->free_results != NULL) {
    js_result_t *r = jp->free_results;
    jp->free_results = r->next;
    result_free(r);
  }
  jp->nfree_queries = 0;
  jp->nfree_results = 0;
}

/* The result set that events go to: a new one after a CommandComplete. NULL on ENOMEM. */
static js_result_t *current_result(js_pool_t *jp, js_query_t *jq) {
  if (jq->last != NULL && !jq->last->done) {
    return jq->last;
  }
  js_result_t *r = jp->free_results;
  if (r != NULL) {
    /* Recycled: its buffers keep their storage; rowbatch_start resets the batch. */
    jp->free_results = r->next;
    jp->nfree_results--;
    buf_clear(&r->fields);
    r->next = NULL;
    r->nfields = 0;
    r->has_fields = 0;
    r->command = NULL;
    r->done = 0;
  } else {
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
      return NULL;
    }
    buf_init(&r->fields);
    rowbatch_init(&r->batch);
  }
  if (jq->last != NULL) {
    jq->last->next = r;
  } else {
    jq->first = r;
  }
  jq->last = r;
  return r;
}

/* ---- pool events ------------------------------------------------------------------------ */

/* A long result hands its rows to JS in batches of about this size, as they arrive. */
#define JS_PARTIAL_BATCH_BYTES (32 * 1024)

static int is_mysql_pool(const js_pool_t *jp) {
  return jp->pool.cfg.proto == POOL_PROTO_MYSQL;
}

static void on_fields(void *ctx, pool_query_t *q, const db_field_t *f, uint16_t n) {
  js_pool_t *jp = ctx;
  js_query_t *jq = q->data;
  js_result_t *r = current_result(jp, jq);
  if (r == NULL) {
    jq->rows_failed = DB_ENOMEM;
    return;
  }
  buf_clear(&r->fields);
  r->has_fields = 1;
  r->nfields = n;
  int mysql = is_mysql_pool(jp);
  int rc = mysql ? my_rowbatch_set_fields(&r->batch, f, n, jq->all_text)
                 : pg_rowbatch_set_fields(&r->batch, f, n, jq->all_text);
  if (rc < 0) {
    r->nfields = 0;
    jq->rows_failed = rc;
    return;
  }
  /* Bun.SQL asks for binary results only for a prepared query with parameters. */
  r->batch.text_format = q->simple || q->nparams == 0 || jp->pool.cfg.stmt_cache_max == 0;
  for (uint16_t i = 0; i < n; i++) {
    uint32_t type = mysql ? my_field_js_type(&f[i]) : f[i].type_oid;
    if (buf_put_u32be(&r->fields, type) < 0 ||
        buf_put_u32be(&r->fields, (uint32_t)f[i].name.n) < 0 ||
        buf_append(&r->fields, f[i].name.p, f[i].name.n) < 0) {
      r->nfields = 0;
      return;
    }
  }
}

static void on_row(void *ctx, pool_query_t *q, const uint8_t *body, size_t n) {
  js_pool_t *jp = ctx;
  js_query_t *jq = q->data;
  js_result_t *r = current_result(jp, jq);
  if (jq->rows_failed != 0) {
    return;
  }
  int rc = r == NULL             ? DB_ENOMEM
           : is_mysql_pool(jp) ? my_rowbatch_add(&r->batch, body, n)
                               : pg_rowbatch_add(&r->batch, body, n);
  if (rc < 0) {
    /* Never a result with rows missing: the query fails once it is over. */
    jq->rows_failed = rc;
    return;
  }
  /* Only a query's first result set streams; later ones (simple protocol) wait for the end. */
  if (r == jq->first && list_empty(&jq->streaming) &&
      rowbatch_size(&r->batch) >= JS_PARTIAL_BATCH_BYTES) {
    list_push_back(&jp->streaming, &jq->streaming);
  }
}

static void on_command(void *ctx, pool_query_t *q, slice_t tag) {
  js_result_t *r = current_result(ctx, q->data);
  if (r == NULL) {
    return;
  }
  free(r->command);
  r->command = dup_slice(tag);
  r->done = 1;
}

static void on_query_error(void *ctx, pool_query_t *q, const db_error_t *e) {
  js_query_t *jq = q->data;
  (void)ctx;
  if (jq->err == NULL) {
    jq->err = js_pgerr_copy(e);
  }
}

/* The pool runs `q` again (a cancel meant for an earlier query hit it): its rows so far are
 * dropped, unless some already went to JS as a partial batch. */
static int on_query_retry(void *ctx, pool_query_t *q) {
  js_pool_t *jp = ctx;
  js_query_t *jq = q->data;
  if (jq->streamed || jq->err != NULL) {
    return 0;
  }
  list_remove(&jq->streaming);
  results_release(jp, jq->first);
  jq->first = NULL;
  jq->last = NULL;
  jq->rows_failed = 0;
  return 1;
}

static void on_query_done(void *ctx, pool_query_t *q, int status, const char *message,
                          const db_error_t *err) {
  js_pool_t *jp = ctx;
  js_query_t *jq = q->data;
  q->data = NULL;
  list_remove(&jq->live);
  list_remove(&jq->streaming);
  jq->pq = NULL;
  jq->status = status;
  if (jq->err != NULL) {
    jq->kind = 1;
  } else if (status < 0) {
    jq->kind = 2;
    jq->message = dup_slice((slice_t){(const uint8_t *)message, message ? strlen(message) : 0});
    if (err != NULL) {
      jq->err = js_pgerr_copy(err);
    }
  } else if (jq->rows_failed != 0) {
    jq->kind = 2;
    jq->status = jq->rows_failed;
    const char *why = jq->rows_failed == DB_ENOMEM ? "out of memory while reading the rows"
                                                   : "the server sent a row that does not decode";
    jq->message = dup_slice((slice_t){(const uint8_t *)why, strlen(why)});
  } else {
    jq->kind = 0;
  }
  list_push_back(&jp->outbox, &jq->node);
}

/* Appends [command, names[], oids[], rows | null, rowCount] for one result set at arr[at..]. */
static size_t pad8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* The rows waiting in `b`, written into the flush's shared ArrayBuffer (build_batch sized it):
 * JS gets their byte offset there, 8-byte aligned so it can read the Float64 section through
 * one view of the whole buffer. One ArrayBuffer and two views per flush instead of an
 * ArrayBuffer and four views per result (about 1 us a query). */
static napi_value take_batch(napi_env env, js_pool_t *jp, rowbatch_t *b) {
  size_t size = rowbatch_size(b);
  napi_value off;
  if (jp->rows_base == NULL || pad8(size) > jp->rows_cap - jp->rows_off) {
    napi_throw_error(env, "ERR_UVSQL_INTERNAL", "row batch outside the flush's buffer");
    return NULL;
  }
  NAPI_CALL(env, napi_create_double(env, (double)jp->rows_off, &off));
  uint8_t *dst = jp->rows_base + jp->rows_off;
  rowbatch_take(b, dst);
  memset(dst + size, 0, pad8(size) - size);
  jp->rows_off += pad8(size);
  return off;
}

/* Bytes the flush's shared buffer needs: every batch that build_batch will take. */
static size_t flush_rows_bytes(const js_pool_t *jp) {
  size_t total = 0;
  for (const list_node_t *s = jp->streaming.next; s != &jp->streaming; s = s->next) {
    const js_query_t *jq = container_of(s, js_query_t, streaming);
    if (jq->first != NULL && jq->first->batch.nrows > 0) {
      total += pad8(rowbatch_size(&jq->first->batch));
    }
  }
  for (const list_node_t *n = jp->outbox.next; n != &jp->outbox; n = n->next) {
    const js_query_t *jq = container_of(n, js_query_t, node);
    for (const js_result_t *r = jq->kind == 0 ? jq->first : NULL; r != NULL; r = r->next) {
      if (r->batch.nrows > 0) {
        total += pad8(rowbatch_size(&r->batch));
      }
    }
  }
  return total;
}

/* The row shape of a result: its id when JS already knows it, else [id, names[], oids[]]
 * (id 0: not interned, JS must not cache it). */
static napi_value build_shape(napi_env env, js_pool_t *jp, const js_result_t *res) {
  napi_value names, oids, v, arr;
  int is_new = 0;
  uint32_t id = base_intern(&jp->shapes, buf_begin(&res->fields), buf_size(&res->fields), &is_new);
  if (id != 0 && !is_new) {
    NAPI_CALL(env, napi_create_uint32(env, id, &v));
    return v;
  }
  NAPI_CALL(env, napi_create_array_with_length(env, res->nfields, &names));
  NAPI_CALL(env, napi_create_array_with_length(env, res->nfields, &oids));
  reader_t r;
  reader_init(&r, buf_begin(&res->fields), buf_size(&res->fields));
  for (uint32_t i = 0; i < res->nfields; i++) {
    uint32_t oid = reader_u32be(&r);
    uint32_t len = reader_u32be(&r);
    slice_t name = reader_bytes(&r, len);
    NAPI_CALL(env, napi_create_uint32(env, oid, &v));
    NAPI_CALL(env, napi_set_element(env, oids, i, v));
    napi_value s = js_string(env, (const char *)name.p, name.n);
    if (s == NULL) {
      return NULL;
    }
    NAPI_CALL(env, napi_set_element(env, names, i, s));
  }
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_create_uint32(env, id, &v));
  NAPI_CALL(env, napi_set_element(env, arr, 0, v));
  NAPI_CALL(env, napi_set_element(env, arr, 1, names));
  NAPI_CALL(env, napi_set_element(env, arr, 2, oids));
  return arr;
}

/* Appends [shape, batch | null, rowCount] for the rows `res` holds now. */
static napi_value append_rows(napi_env env, js_pool_t *jp, napi_value arr, uint32_t at,
                              js_result_t *res) {
  napi_value shape, rows, v;
  if (res->has_fields) {
    shape = build_shape(env, jp, res);
    if (shape == NULL) {
      return NULL;
    }
  } else {
    NAPI_CALL(env, napi_get_null(env, &shape));
  }
  NAPI_CALL(env, napi_set_element(env, arr, at, shape));
  uint32_t batch_rows = res->batch.nrows;
  if (batch_rows > 0) {
    rows = take_batch(env, jp, &res->batch);
    if (rows == NULL) {
      return NULL;
    }
  } else {
    NAPI_CALL(env, napi_get_null(env, &rows));
  }
  NAPI_CALL(env, napi_set_element(env, arr, at + 1, rows));
  NAPI_CALL(env, napi_create_uint32(env, batch_rows, &v));
  NAPI_CALL(env, napi_set_element(env, arr, at + 2, v));
  return arr;
}

/* Appends [command, shape, batch | null, rowCount] for one result set at arr[at..]. */
static napi_value append_result(napi_env env, js_pool_t *jp, napi_value arr, uint32_t at,
                                js_result_t *res) {
  napi_value v;
  if (res->command != NULL) {
    NAPI_CALL(env, napi_create_string_utf8(env, res->command, NAPI_AUTO_LENGTH, &v));
  } else {
    NAPI_CALL(env, napi_get_null(env, &v));
  }
  NAPI_CALL(env, napi_set_element(env, arr, at, v));
  return append_rows(env, jp, arr, at + 1, res);
}

/* Queues an event that belongs to no query (id 0). */
static js_query_t *push_event(js_pool_t *jp, int kind) {
  js_query_t *jq = js__query_new(jp, 0);
  if (jq != NULL) {
    jq->kind = kind;
    list_push_back(&jp->outbox, &jq->node);
  }
  return jq;
}

static void on_notice(void *ctx, const db_error_t *notice) {
  js_pool_t *jp = ctx;
  if (!jp->want_notices) {
    return;
  }
  js_query_t *jq = push_event(jp, 3);
  if (jq != NULL) {
    jq->err = js_pgerr_copy(notice);
  }
}

static void on_notification(void *ctx, uint32_t pid, slice_t channel, slice_t payload) {
  js_query_t *jq = push_event(ctx, 4);
  if (jq != NULL) {
    jq->pid = pid;
    jq->channel = dup_slice(channel);
    jq->payload = dup_slice(payload);
  }
}

/* Posted, not applied: the notification runs on a later turn of the loop and is dropped there
 * unless the slot is still PENDING with the same generation (pool_accept_ready). */
static void on_connected(void *ctx, uint32_t slot, uint32_t gen) {
  js_pool_t *jp = ctx;
  js_ready_note_t *note = malloc(sizeof(*note));
  if (note == NULL || jp->tsfn == NULL) {
    free(note);
    return; /* the slot stays PENDING until it dies; counted as never connected */
  }
  note->slot = slot;
  note->gen = gen;
  if (napi_call_threadsafe_function(jp->tsfn, note, napi_tsfn_nonblocking) != napi_ok) {
    free(note);
  }
}

void js__on_ready_note(napi_env env, napi_value js_cb, void *context, void *data) {
  js_pool_t *jp = context;
  js_ready_note_t *note = data;
  (void)js_cb;
  if (env != NULL && jp != NULL && jp->pool_live && !jp->env_gone) {
    pool_callbacks_begin(&jp->pool);
    if (pool_accept_ready(&jp->pool, note->slot, note->gen)) {
      push_event(jp, 8); /* onconnect(null) */
    }
    pool_callbacks_end(&jp->pool);
  }
  free(note);
}

static void on_reserved(void *ctx, pool_query_t *q, uint32_t slot, uint32_t gen) {
  js_pool_t *jp = ctx;
  js_query_t *jq = q->data;
  q->data = NULL;
  list_remove(&jq->live);
  jq->pq = NULL;
  jq->kind = 9;
  jq->pid = slot;
  jq->status = (int)gen;
  list_push_back(&jp->outbox, &jq->node);
}

static void on_lease_lost(void *ctx, uint32_t slot, uint32_t seq) {
  js_query_t *jq = push_event(ctx, 10);
  if (jq != NULL) {
    jq->pid = slot;
    jq->status = (int)seq;
  }
}

static void on_disconnected(void *ctx, int code, const char *message) {
  js_query_t *jq = push_event(ctx, 7);
  if (jq != NULL) {
    jq->status = code;
    jq->message = dup_slice((slice_t){(const uint8_t *)message, message ? strlen(message) : 0});
  }
}

static void on_password_needed(void *ctx, uint32_t slot, uint32_t gen) {
  js_query_t *jq = push_event(ctx, 5);
  if (jq != NULL) {
    jq->pid = slot;
    jq->status = (int)gen;
  }
}

static napi_value build_password_request(napi_env env, const js_query_t *jq) {
  napi_value arr, v;
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &arr));
  NAPI_CALL(env, napi_create_uint32(env, jq->pid, &v));
  NAPI_CALL(env, napi_set_element(env, arr, 0, v));
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)jq->status, &v));
  NAPI_CALL(env, napi_set_element(env, arr, 1, v));
  return arr;
}

static napi_value build_notification(napi_env env, const js_query_t *jq) {
  napi_value arr, v;
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_create_uint32(env, jq->pid, &v));
  NAPI_CALL(env, napi_set_element(env, arr, 0, v));
  const char *parts[2] = {jq->channel, jq->payload};
  for (int i = 0; i < 2; i++) {
    v = js_string(env, parts[i], parts[i] != NULL ? strlen(parts[i]) : 0);
    if (v == NULL) {
      return NULL;
    }
    NAPI_CALL(env, napi_set_element(env, arr, (uint32_t)i + 1, v));
  }
  return arr;
}

static napi_value build_rows_payload(napi_env env, js_pool_t *jp, js_query_t *jq) {
  js_result_t empty;
  memset(&empty, 0, sizeof(empty));
  napi_value arr;
  NAPI_CALL(env, napi_create_array(env, &arr));
  uint32_t at = 0;
  for (js_result_t *r = jq->first != NULL ? jq->first : &empty; r != NULL; r = r->next) {
    if (append_result(env, jp, arr, at, r) == NULL) {
      return NULL;
    }
    at += 4;
  }
  return arr;
}

static napi_value build_server_error(napi_env env, const js_pgerr_t *e) {
  napi_value obj, v;
  NAPI_CALL(env, napi_create_object(env, &obj));
  for (int i = 0; i < JS_ERR_NFIELDS; i++) {
    if (e->field[i] == NULL) {
      continue;
    }
    v = js_string(env, e->field[i], strlen(e->field[i]));
    if (v == NULL) {
      return NULL;
    }
    /* Our own fixed key names, never server-controlled ones. */
    NAPI_CALL(env, napi_set_named_property(env, obj, err_field_names[i], v));
  }
  if (e->number != 0) {
    NAPI_CALL(env, napi_create_uint32(env, e->number, &v));
    NAPI_CALL(env, napi_set_named_property(env, obj, "number", v));
  }
  return obj;
}

static napi_value build_client_error(napi_env env, js_query_t *jq) {
  napi_value arr, v;
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  NAPI_CALL(env, napi_create_string_utf8(env, base_err_name(jq->status), NAPI_AUTO_LENGTH, &v));
  NAPI_CALL(env, napi_set_element(env, arr, 0, v));
  const char *msg = jq->message != NULL ? jq->message : base_err_message(jq->status);
  v = js_string(env, msg, strlen(msg));
  if (v == NULL) {
    return NULL;
  }
  NAPI_CALL(env, napi_set_element(env, arr, 1, v));
  if (jq->err != NULL) {
    v = build_server_error(env, jq->err);
    if (v == NULL) {
      return NULL;
    }
  } else {
    NAPI_CALL(env, napi_get_null(env, &v));
  }
  NAPI_CALL(env, napi_set_element(env, arr, 2, v));
  return arr;
}

/* [shape, batch, rowCount] for the rows a still-running query has so far. */
static napi_value build_partial(napi_env env, js_pool_t *jp, js_query_t *jq) {
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, 3, &arr));
  return append_rows(env, jp, arr, 0, jq->first);
}

/* Appends one value to the arguments of the coming onResults call. */
static napi_status push_arg(napi_env env, js_pool_t *jp, napi_value v) {
  if (jp->nargs == jp->cap_args) {
    size_t cap = jp->cap_args == 0 ? 64 : jp->cap_args * 2;
    napi_value *args = realloc(jp->args, cap * sizeof(*args));
    if (args == NULL) {
      napi_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
      return napi_generic_failure;
    }
    jp->args = args;
    jp->cap_args = cap;
  }
  jp->args[jp->nargs++] = v;
  return napi_ok;
}

/* Pushes v, or null when the value is absent; a NULL v means making it failed (an exception
 * is pending). */
static napi_status push_value(napi_env env, js_pool_t *jp, int present, napi_value v) {
  if (!present) {
    napi_get_null(env, &v);
  } else if (v == NULL) {
    return napi_pending_exception;
  }
  return push_arg(env, jp, v);
}

/* [command, shape, batch | null, rowCount] of a query's only result set, as four arguments. */
static napi_status push_single_result(napi_env env, js_pool_t *jp, js_result_t *res) {
  napi_value cmd = NULL, count = NULL;
  if (res->command != NULL &&
      napi_create_string_utf8(env, res->command, NAPI_AUTO_LENGTH, &cmd) != napi_ok) {
    cmd = NULL;
  }
  napi_status st = push_value(env, jp, res->command != NULL, cmd);
  if (st == napi_ok) {
    st = push_value(env, jp, res->has_fields, res->has_fields ? build_shape(env, jp, res) : NULL);
  }
  uint32_t batch_rows = res->batch.nrows; /* before take_batch forgets them */
  if (st == napi_ok) {
    st = push_value(env, jp, batch_rows > 0,
                    batch_rows > 0 ? take_batch(env, jp, &res->batch) : NULL);
  }
  if (st == napi_ok) {
    st = napi_create_uint32(env, batch_rows, &count);
  }
  return st == napi_ok ? push_arg(env, jp, count) : st;
}

/* The flush's row buffer, for jp->rows_cap bytes: sets rows_base (and rows_cap to what it
 * holds). Up to JS_ROWS_KEEP_MAX the same ArrayBuffer serves every flush (lib/pool.js keeps its
 * views too): a new ArrayBuffer per flush cost about 2,200 instructions of S1's 24,600 per
 * query (V8 allocates and zeroes its store, then sweeps it) and two typed arrays in JS. JS reads
 * a batch during the onResults call only (rows are decoded into objects and copied strings),
 * so the next flush may overwrite it; one that comes while JS still reads it (a flush nested in
 * the call) gets a buffer of its own, as does one too large to keep. */
static napi_status rows_buffer(napi_env env, js_pool_t *jp, napi_value *out) {
  void *data = NULL;
  napi_status st;
  if (jp->rows_cap > JS_ROWS_KEEP_MAX || jp->rows_lent) {
    st = napi_create_arraybuffer(env, jp->rows_cap, &data, out);
    jp->rows_base = data;
    return st;
  }
  if (jp->rows_keep != NULL && jp->rows_cap > jp->rows_keep_cap) {
    napi_delete_reference(env, jp->rows_keep); /* outgrown: a larger one replaces it */
    jp->rows_keep = NULL;
  }
  if (jp->rows_keep == NULL) {
    size_t cap = JS_ROWS_KEEP_MIN;
    while (cap < jp->rows_cap) {
      cap *= 2;
    }
    st = napi_create_arraybuffer(env, cap, &data, out);
    if (st == napi_ok) {
      st = napi_create_reference(env, *out, 1, &jp->rows_keep);
    }
    if (st != napi_ok) {
      return st;
    }
    jp->rows_keep_data = data;
    jp->rows_keep_cap = cap;
  } else if ((st = napi_get_reference_value(env, jp->rows_keep, out)) != napi_ok) {
    return st;
  }
  jp->rows_base = jp->rows_keep_data;
  jp->rows_cap = jp->rows_keep_cap;
  jp->rows_lent = 1;
  return napi_ok;
}

/* Pushes [id, kind] and returns the status. */
static napi_status push_head(napi_env env, js_pool_t *jp, double id, int kind) {
  napi_value v;
  napi_status st = napi_create_double(env, id, &v);
  if (st == napi_ok) {
    st = push_arg(env, jp, v);
  }
  if (st == napi_ok) {
    st = napi_create_int32(env, kind, &v);
  }
  return st == napi_ok ? push_arg(env, jp, v) : st;
}

/* A query whose answer is one result set goes flat, [id, 11, command, shape, batch, rowCount],
 * rather than as [id, 0, [command, shape, batch, rowCount]]: one array fewer to make and fill
 * through Node-API for nearly every query. */
#define JS_KIND_ROWS_FLAT 11

/* Builds the arguments of onResults (jp->args) and frees the outbox entries. -1 with an
 * exception pending on failure. Records: [id, kind, payload], or the flat form above. */
static int build_batch(napi_env env, js_pool_t *jp) {
  jp->nargs = 0;
  /* First argument: the shared buffer every batch of this flush goes into (or null). */
  napi_value rows_ab;
  jp->rows_base = NULL;
  jp->rows_off = 0;
  jp->rows_cap = flush_rows_bytes(jp);
  if (jp->rows_cap > 0) {
    if (rows_buffer(env, jp, &rows_ab) != napi_ok) {
      return -1;
    }
  } else {
    napi_get_null(env, &rows_ab);
  }
  if (push_arg(env, jp, rows_ab) != napi_ok) {
    return -1;
  }
  /* Rows of long results that are still arriving. */
  list_node_t *s;
  while ((s = list_pop_front(&jp->streaming)) != NULL) {
    js_query_t *jq = container_of(s, js_query_t, streaming);
    jq->streamed = 1;
    napi_value payload = build_partial(env, jp, jq);
    if (payload == NULL || push_head(env, jp, jq->id, 6) != napi_ok ||
        push_arg(env, jp, payload) != napi_ok) {
      return -1;
    }
  }
  list_node_t *n;
  while ((n = list_pop_front(&jp->outbox)) != NULL) {
    js_query_t *jq = container_of(n, js_query_t, node);
    napi_value payload = NULL;
    if (jq->kind == 0 && (jq->first == NULL || jq->first->next == NULL)) {
      js_result_t empty;
      memset(&empty, 0, sizeof(empty));
      size_t mark = jp->nargs;
      if (push_head(env, jp, jq->id, JS_KIND_ROWS_FLAT) == napi_ok &&
          push_single_result(env, jp, jq->first != NULL ? jq->first : &empty) == napi_ok) {
        js__query_free(jp, jq);
        continue;
      }
      /* Could not build it (no memory for a huge result): answered with an error below. */
      jp->nargs = mark;
    } else if (jq->kind == 0) {
      payload = build_rows_payload(env, jp, jq);
    } else if (jq->kind == 1 || jq->kind == 3) {
      payload = jq->err != NULL ? build_server_error(env, jq->err) : NULL;
      if (payload == NULL && jq->err == NULL) {
        napi_create_object(env, &payload); /* the copy failed for lack of memory */
      }
    } else if (jq->kind == 4) {
      payload = build_notification(env, jq);
    } else if (jq->kind == 5) {
      payload = build_password_request(env, jq);
    } else if (jq->kind == 8) {
      napi_get_null(env, &payload);
    } else if (jq->kind == 9 || jq->kind == 10) {
      payload = build_password_request(env, jq); /* the same [slot, gen] pair */
    } else {
      payload = build_client_error(env, jq);
    }
    double id = jq->id;
    int kind = jq->kind;
    if (payload == NULL && id != 0) {
      /* Its result could not be built (no memory for a huge result): the query still gets an
       * answer, an error, rather than a promise that never settles. */
      napi_value exc;
      bool pending = false;
      if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
        napi_get_and_clear_last_exception(env, &exc);
      }
      jq->kind = kind = 2;
      jq->status = DB_ENOMEM;
      free(jq->message);
      jq->message = dup_slice((slice_t){(const uint8_t *)"out of memory building the result", 33});
      js_pgerr_free(jq->err);
      jq->err = NULL;
      payload = build_client_error(env, jq);
    }
    js__query_free(jp, jq);
    if (payload == NULL || push_head(env, jp, id, kind) != napi_ok ||
        push_arg(env, jp, payload) != napi_ok) {
      return -1;
    }
  }
  return 0;
}

/* Above this many values the batch goes as one array (napi_set_element each) rather than as
 * arguments: a call's arguments live on the stack (a pool that fails 50k waiting queries at once
 * must not overflow it). */
#define JS_MAX_ARGS 8192

static void call_js(js_pool_t *jp, napi_ref fn_ref, size_t argc, napi_value *argv) {
  js_call_async(jp->env, jp->async_ctx, fn_ref, argc, argv);
}

/* Queries waiting for a connection keep the process alive, like any pending I/O, even when
 * nothing else is ref'd (e.g. they wait for a reserved connection to come back). The
 * threadsafe function is the handle that does it; an idle pool leaves it unref'd. */
static void update_keepalive(js_pool_t *jp) {
  int want = jp->pool_live && jp->pool.nwaiting > 0;
  if (jp->tsfn == NULL || jp->env_gone || want == jp->keepalive) {
    return;
  }
  if ((want ? napi_ref_threadsafe_function(jp->env, jp->tsfn)
            : napi_unref_threadsafe_function(jp->env, jp->tsfn)) == napi_ok) {
    jp->keepalive = want;
  }
}

void js__on_flush(void *ctx) {
  js_pool_t *jp = ctx;
  update_keepalive(jp);
  if (list_empty(&jp->outbox) && list_empty(&jp->streaming)) {
    return;
  }
  if (jp->js_gone || jp->env_gone) {
    while (list_pop_front(&jp->streaming) != NULL) {
      /* the queries themselves are freed when they complete */
    }
    /* Nobody is left to tell: drop the results. */
    list_node_t *n;
    while ((n = list_pop_front(&jp->outbox)) != NULL) {
      js__query_free(jp, container_of(n, js_query_t, node));
    }
    return;
  }
  napi_env env = jp->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  /* Every record as an argument of one call: JS gets them as a rest parameter, an array that
   * V8 builds at once, where filling an array from C costs a napi_set_element (~76 ns) each. */
  int lent = jp->rows_lent; /* a nested flush must not end the outer call's loan */
  int ok = build_batch(env, jp) == 0;
  jp->rows_base = NULL; /* the buffer is JS's now */
  if (ok && jp->nargs > JS_MAX_ARGS) {
    napi_value arr;
    ok = napi_create_array_with_length(env, jp->nargs - 1, &arr) == napi_ok;
    for (size_t i = 1; ok && i < jp->nargs; i++) {
      ok = napi_set_element(env, arr, (uint32_t)i - 1, jp->args[i]) == napi_ok;
    }
    jp->args[1] = arr;
    jp->nargs = 2; /* JS tells the two forms apart: a record is never a lone value */
  }
  size_t argc = jp->nargs;
  jp->nargs = 0;
  if (ok) {
    call_js(jp, jp->on_results, argc, jp->args);
    jp->rows_lent = lent;
  } else {
    jp->rows_lent = lent;
    napi_value exc;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_closed(void *ctx) {
  js_pool_t *jp = ctx;
  js__on_flush(jp);
  if (!jp->js_gone && !jp->env_gone && jp->on_closed != NULL) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(jp->env, &scope) == napi_ok) {
      call_js(jp, jp->on_closed, 0, NULL);
      napi_close_handle_scope(jp->env, scope);
    }
  }
  js__pool_release(jp);
  if (jp->js_gone) {
    js__pool_free(jp);
  }
}

const pool_handler_t js__pool_handler = {
  .on_fields = on_fields,
  .on_row = on_row,
  .on_query_retry = on_query_retry,
  .on_command = on_command,
  .on_query_error = on_query_error,
  .on_query_done = on_query_done,
  .on_closed = on_closed,
  .flush = js__on_flush,
  .on_notice = on_notice,
  .on_notification = on_notification,
  .on_password_needed = on_password_needed,
  .on_connected = on_connected,
  .on_reserved = on_reserved,
  .on_lease_lost = on_lease_lost,
  .on_disconnected = on_disconnected,
};
