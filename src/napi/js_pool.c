/* The pool as JS sees it: create, query, close; results delivered in batches.
 *
 * C decides and JS is told: query events from the pool are recorded in C (js_query_t) and
 * completed queries wait in an outbox; at the end of each I/O callback (pool_handler_t.flush)
 * the outbox goes to JS as ONE call, `onResults(batch)`, so no microtask can run between two
 * of our JS calls from the same native callback. The batch is a flat array:
 *   [id, kind, payload, id, kind, payload, ...]
 *   kind 0 (rows):   payload = [command, shape, batch | null, rowCount], and 4 more entries per
 *                    further result set (simple protocol, several statements)
 *   kind 6 (rows so far, a long result still arriving): payload = [shape, batch, rowCount]
 * shape is null (a statement without rows), an id JS already knows, or [id, names[], oids[]]
 * the first time (id 0: not interned, not to be cached).
 * A batch is an ArrayBuffer in the layout of src/pg/pg_rowbatch.h; lib/rows.js decodes it with a
 * decoder generated once per row shape.
 *   kind 1 (server): payload = { code (SQLSTATE), message, severity, detail, ... }
 *   kind 2 (client): payload = [errorName, message, serverFields | null]
 *   kind 3 (notice): id 0, payload = { severity, errno, message, ... } (only with notices on)
 *   kind 4 (notify): id 0, payload = [pid, channel, payload]
 *   kind 5 (password needed): id 0, payload = [slot, gen]; JS answers with poolPassword()
 *   kind 7 (a connection that had connected closed): id 0, payload = [errorName, message]
 *   kind 8 (a connection was established): id 0, payload = null
 *   kind 9 (a reservation got its connection): payload = [slot, seq], the lease
 *   kind 10 (a lease lost its connection): id 0, payload = [slot, seq]
 */
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "../base/base_intern.h"
#include "../base/base_mem.h"
#include "../pg/pg_rowbatch.h"
#include "../pool/pool.h"
#include "js.h"

/* The ErrorResponse fields JS gets, in pg_error_t order, with the names Bun.SQL uses. */
#define JS_ERR_NFIELDS 17
static const char *const err_field_names[JS_ERR_NFIELDS] = {
  "severity", "errno", "message", "detail", "hint", "position", "internalPosition",
  "internalQuery", "where", "schema", "table", "column", "dataType", "constraint", "file",
  "line", "routine",
};

typedef struct {
  char *field[JS_ERR_NFIELDS]; /* owned, NULL when absent */
} js_pgerr_t;

/* One result set: a statement's columns, rows and command tag. */
typedef struct js_result_s {
  struct js_result_s *next; /* owned */
  buf_t fields;       /* owned: per column, u32 oid, u32 name length, name bytes */
  uint16_t nfields;
  int has_fields;
  pg_rowbatch_t batch; /* owned: rows not yet handed to JS */
  char *command;      /* owned */
  int done;           /* CommandComplete seen: the next statement starts a new result */
} js_result_t;

typedef struct js_query_s {
  list_node_t node;   /* in the outbox once done */
  list_node_t live;   /* in js_pool_t.inflight while the pool owns `pq` */
  list_node_t streaming; /* in js_pool_t.streaming while rows wait for a partial batch */
  int all_text;       /* raw mode: every cell as text */
  pool_query_t *pq;   /* borrowed from the pool until on_query_done */
  double id;          /* JS-side identity */
  int kind;           /* 0 rows, 1 server error, 2 client error, 3 notice, 4 notification */
  int status;
  char *message;      /* owned: client error text */
  js_pgerr_t *err;    /* owned: the server's ErrorResponse */
  js_result_t *first; /* owned list */
  js_result_t *last;
  uint32_t pid;       /* notification: the sending backend */
  char *channel;      /* owned: notification channel */
  char *payload;      /* owned: notification payload */
} js_query_t;

typedef struct js_pool_s {
  napi_env env;
  pool_t pool;
  int pool_live;
  napi_ref on_results; /* strong while the pool lives */
  napi_ref on_closed;
  napi_async_context async_ctx;
  napi_ref async_resource; /* strong: the resource object must outlive async_ctx, or its weak
                            * callback and napi_async_destroy both tear it down (a crash in GC) */
  list_node_t outbox;  /* js_query_t */
  list_node_t inflight; /* js_query_t whose pool_query_t the pool still owns (for cancel) */
  list_node_t streaming; /* js_query_t with enough rows for a partial batch at the next flush */
  int closed;          /* on_closed delivered: the pool is gone */
  int js_gone;         /* the JS handle was collected */
  int env_gone;        /* the environment is being torn down: no more JS calls */
  int want_notices;    /* JS has an onnotice callback */
  base_intern_t shapes; /* row shapes JS knows by id */
  napi_threadsafe_function tsfn; /* carries "handshake done" notifications to a later turn */
  int keepalive;       /* tsfn is ref'd: queries wait for a connection */
} js_pool_t;

/* A "handshake done" notification: which slot, which generation. */
typedef struct {
  uint32_t slot;
  uint32_t gen;
} js_ready_note_t;

static void js_pool_env_cleanup(void *arg);

/* Frees the struct once both the pool and the JS handle are gone. */
static void js_pool_free(js_pool_t *jp) {
  if (!jp->env_gone) {
    napi_remove_env_cleanup_hook(jp->env, js_pool_env_cleanup, jp);
  }
  base_intern_destroy(&jp->shapes);
  free(jp);
}

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

static js_pgerr_t *js_pgerr_copy(const pg_error_t *e) {
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
  return c;
}

static void js_query_free(js_query_t *jq) {
  free(jq->message);
  free(jq->channel);
  free(jq->payload);
  js_pgerr_free(jq->err);
  js_result_t *r = jq->first;
  while (r != NULL) {
    js_result_t *next = r->next;
    buf_destroy(&r->fields);
    pg_rowbatch_destroy(&r->batch);
    free(r->command);
    free(r);
    r = next;
  }
  free(jq);
}

/* The result set that events go to: a new one after a CommandComplete. NULL on ENOMEM. */
static js_result_t *current_result(js_query_t *jq) {
  if (jq->last != NULL && !jq->last->done) {
    return jq->last;
  }
  js_result_t *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    return NULL;
  }
  buf_init(&r->fields);
  pg_rowbatch_init(&r->batch);
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

static void on_fields(void *ctx, pool_query_t *q, const pg_field_t *f, uint16_t n) {
  js_query_t *jq = q->data;
  js_result_t *r = current_result(jq);
  (void)ctx;
  if (r == NULL) {
    return;
  }
  buf_clear(&r->fields);
  r->has_fields = 1;
  r->nfields = n;
  if (pg_rowbatch_set_fields(&r->batch, f, n, jq->all_text) < 0) {
    r->nfields = 0;
    return;
  }
  for (uint16_t i = 0; i < n; i++) {
    if (buf_put_u32be(&r->fields, f[i].type_oid) < 0 ||
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
  js_result_t *r = current_result(jq);
  if (r == NULL || pg_rowbatch_add(&r->batch, body, n) < 0) {
    return;
  }
  /* Only a query's first result set streams; later ones (simple protocol) wait for the end. */
  if (r == jq->first && list_empty(&jq->streaming) &&
      pg_rowbatch_size(&r->batch) >= JS_PARTIAL_BATCH_BYTES) {
    list_push_back(&jp->streaming, &jq->streaming);
  }
}

static void on_command(void *ctx, pool_query_t *q, slice_t tag) {
  js_result_t *r = current_result(q->data);
  (void)ctx;
  if (r == NULL) {
    return;
  }
  free(r->command);
  r->command = dup_slice(tag);
  r->done = 1;
}

static void on_query_error(void *ctx, pool_query_t *q, const pg_error_t *e) {
  js_query_t *jq = q->data;
  (void)ctx;
  if (jq->err == NULL) {
    jq->err = js_pgerr_copy(e);
  }
}

static void on_query_done(void *ctx, pool_query_t *q, int status, const char *message,
                          const pg_error_t *err) {
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
  } else {
    jq->kind = 0;
  }
  list_push_back(&jp->outbox, &jq->node);
}

/* Appends [command, names[], oids[], rows | null, rowCount] for one result set at arr[at..]. */
/* The rows waiting in `b` as an ArrayBuffer (8-byte aligned, so JS can view it as Float64). */
static napi_value take_batch(napi_env env, pg_rowbatch_t *b) {
  napi_value ab;
  void *data = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, pg_rowbatch_size(b), &data, &ab));
  pg_rowbatch_take(b, data);
  return ab;
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
    rows = take_batch(env, &res->batch);
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
  js_query_t *jq = calloc(1, sizeof(*jq));
  if (jq != NULL) {
    jq->kind = kind;
    list_push_back(&jp->outbox, &jq->node);
  }
  return jq;
}

static void on_notice(void *ctx, const pg_error_t *notice) {
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

static void on_ready_note(napi_env env, napi_value js_cb, void *context, void *data) {
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

/* Builds the batch array and frees the outbox entries. NULL with an exception on failure. */
static napi_value build_batch(napi_env env, js_pool_t *jp) {
  napi_value batch, v;
  uint32_t i = 0;
  NAPI_CALL(env, napi_create_array(env, &batch));
  /* Rows of long results that are still arriving. */
  list_node_t *s;
  while ((s = list_pop_front(&jp->streaming)) != NULL) {
    js_query_t *jq = container_of(s, js_query_t, streaming);
    napi_value payload = build_partial(env, jp, jq);
    if (payload == NULL) {
      return NULL;
    }
    NAPI_CALL(env, napi_create_double(env, jq->id, &v));
    NAPI_CALL(env, napi_set_element(env, batch, i++, v));
    NAPI_CALL(env, napi_create_int32(env, 6, &v));
    NAPI_CALL(env, napi_set_element(env, batch, i++, v));
    NAPI_CALL(env, napi_set_element(env, batch, i++, payload));
  }
  list_node_t *n;
  while ((n = list_pop_front(&jp->outbox)) != NULL) {
    js_query_t *jq = container_of(n, js_query_t, node);
    napi_value payload;
    if (jq->kind == 0) {
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
    js_query_free(jq);
    if (payload == NULL) {
      return NULL;
    }
    NAPI_CALL(env, napi_create_double(env, id, &v));
    NAPI_CALL(env, napi_set_element(env, batch, i++, v));
    NAPI_CALL(env, napi_create_int32(env, kind, &v));
    NAPI_CALL(env, napi_set_element(env, batch, i++, v));
    NAPI_CALL(env, napi_set_element(env, batch, i++, payload));
  }
  return batch;
}

/* Calls a JS callback as a top-level async callback (microtasks drain after it, and
 * AsyncLocalStorage context is kept); an exception goes to the process, like an uncaught one. */
static void call_js(js_pool_t *jp, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = jp->env;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) {
    return;
  }
  /* The receiver must be an object: napi_make_callback converts it with ToObject. */
  napi_get_global(env, &recv);
  napi_status st = napi_make_callback(env, jp->async_ctx, recv, fn, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (st == napi_pending_exception || pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
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

static void on_flush(void *ctx) {
  js_pool_t *jp = ctx;
  update_keepalive(jp);
  if (list_empty(&jp->outbox) && list_empty(&jp->streaming)) {
    return;
  }
  if (jp->js_gone || jp->env_gone) {
    list_node_t *s;
    while ((s = list_pop_front(&jp->streaming)) != NULL) {
    }
    /* Nobody is left to tell: drop the results. */
    list_node_t *n;
    while ((n = list_pop_front(&jp->outbox)) != NULL) {
      js_query_free(container_of(n, js_query_t, node));
    }
    return;
  }
  napi_env env = jp->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    return;
  }
  napi_value batch = build_batch(env, jp);
  if (batch != NULL) {
    call_js(jp, jp->on_results, 1, &batch);
  } else {
    napi_value exc;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void js_pool_release(js_pool_t *jp) {
  if (jp->pool_live) {
    pool_destroy(&jp->pool);
    jp->pool_live = 0;
  }
  if (jp->env_gone) {
    return; /* the environment frees its references itself */
  }
  if (jp->on_results != NULL) {
    napi_delete_reference(jp->env, jp->on_results);
    jp->on_results = NULL;
  }
  if (jp->on_closed != NULL) {
    napi_delete_reference(jp->env, jp->on_closed);
    jp->on_closed = NULL;
  }
  if (jp->async_ctx != NULL) {
    napi_async_destroy(jp->env, jp->async_ctx);
    jp->async_ctx = NULL;
  }
  if (jp->async_resource != NULL) {
    napi_delete_reference(jp->env, jp->async_resource);
    jp->async_resource = NULL;
  }
  if (jp->tsfn != NULL) {
    napi_release_threadsafe_function(jp->tsfn, napi_tsfn_release);
    jp->tsfn = NULL;
  }
}

static void on_closed(void *ctx) {
  js_pool_t *jp = ctx;
  jp->closed = 1;
  on_flush(jp);
  if (!jp->js_gone && !jp->env_gone && jp->on_closed != NULL) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(jp->env, &scope) == napi_ok) {
      call_js(jp, jp->on_closed, 0, NULL);
      napi_close_handle_scope(jp->env, scope);
    }
  }
  js_pool_release(jp);
  if (jp->js_gone) {
    js_pool_free(jp);
  }
}

static const pool_handler_t js_pool_handler = {
  .on_fields = on_fields,
  .on_row = on_row,
  .on_command = on_command,
  .on_query_error = on_query_error,
  .on_query_done = on_query_done,
  .on_closed = on_closed,
  .flush = on_flush,
  .on_notice = on_notice,
  .on_notification = on_notification,
  .on_password_needed = on_password_needed,
  .on_connected = on_connected,
  .on_reserved = on_reserved,
  .on_lease_lost = on_lease_lost,
  .on_disconnected = on_disconnected,
};

/* ---- JS entry points -------------------------------------------------------------------- */

static void js_pool_finalize(napi_env env, void *data, void *hint) {
  js_pool_t *jp = data;
  (void)env;
  (void)hint;
  jp->js_gone = 1;
  if (!jp->pool_live) {
    js_pool_free(jp);
    return;
  }
  /* Collected with connections open: close them now; on_closed frees. */
  if (pool_close(&jp->pool, 1, 0) == 1) {
    js_pool_release(jp);
    js_pool_free(jp);
  }
}

/* The environment is going away (process exit, worker end): close every connection at once
 * without calling JS. The handle finalizer or on_closed, whichever runs last, frees. */
static void js_pool_env_cleanup(void *arg) {
  js_pool_t *jp = arg;
  jp->env_gone = 1;
  if (jp->tsfn != NULL) {
    napi_release_threadsafe_function(jp->tsfn, napi_tsfn_abort);
    jp->tsfn = NULL;
  }
  if (jp->pool_live && !jp->closed) {
    if (pool_close(&jp->pool, 1, 0) == 1) {
      jp->closed = 1;
      js_pool_release(jp);
    }
  }
}

static js_pool_t *unwrap_pool(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_unwrap(env, v, &p) != napi_ok || p == NULL) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a pool handle");
    return NULL;
  }
  return p;
}

/* Reads config.params, an array of alternating keys and values, into a NULL-ended array. */
static napi_status read_params(napi_env env, napi_value cfg, char ***out) {
  napi_value arr;
  bool is_array = false;
  uint32_t n = 0;
  *out = NULL;
  napi_status st = napi_get_named_property(env, cfg, "params", &arr);
  if (st != napi_ok) {
    return st;
  }
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
    return napi_ok;
  }
  napi_get_array_length(env, arr, &n);
  char **params = calloc((size_t)n + 2, sizeof(char *));
  if (params == NULL) {
    return napi_generic_failure;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if ((st = napi_get_element(env, arr, i, &v)) != napi_ok ||
        (st = js_get_string(env, v, &params[i], NULL)) != napi_ok) {
      for (uint32_t j = 0; j < i; j++) {
        free(params[j]);
      }
      free(params);
      return st;
    }
  }
  *out = params;
  return napi_ok;
}

/* Reads config.sslMode (0 disable, 1 prefer, 2 require) and config.tls = { verifyPeer,
 * verifyHost, ca, cert, key, servername } (PEM text; files are read in JS). */
static napi_status read_tls(napi_env env, napi_value cfg_obj, pool_config_t *cfg) {
  double mode = 0;
  napi_status st = js_get_number_prop(env, cfg_obj, "sslMode", 0, &mode);
  if (st != napi_ok) {
    return st;
  }
  cfg->ssl_mode = mode >= 2 ? PG_SSL_REQUIRE : mode >= 1 ? PG_SSL_PREFER : PG_SSL_DISABLE;
  tls_config_init(&cfg->tls);
  napi_value tls;
  napi_valuetype t;
  if ((st = napi_get_named_property(env, cfg_obj, "tls", &tls)) != napi_ok ||
      (st = napi_typeof(env, tls, &t)) != napi_ok || t != napi_object) {
    return st;
  }
  double verify_peer = 0, verify_host = 0;
  if ((st = js_get_number_prop(env, tls, "verifyPeer", 0, &verify_peer)) != napi_ok ||
      (st = js_get_number_prop(env, tls, "verifyHost", 0, &verify_host)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "ca", &cfg->tls.ca_pem)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "cert", &cfg->tls.cert_pem)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "key", &cfg->tls.key_pem)) != napi_ok ||
      (st = js_get_string_prop(env, tls, "servername", &cfg->tls.servername)) != napi_ok) {
    return st;
  }
  cfg->tls.verify_peer = verify_peer != 0;
  cfg->tls.verify_host = verify_host != 0;
  return napi_ok;
}

/* poolCreate(config, onResults, onClosed) -> handle */
static napi_value js_pool_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], handle, name, resource;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    js_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "poolCreate(config, onResults, onClosed)");
    return NULL;
  }
  pool_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  double port = 5432, max = 10, pipeline = 100, timeout = 30000, stmts = 256;
  double idle_ms = 0, lifetime_ms = 0;
  if (js_get_string_prop(env, argv[0], "host", &cfg.host) != napi_ok ||
      js_get_string_prop(env, argv[0], "path", &cfg.path) != napi_ok ||
      js_get_string_prop(env, argv[0], "user", &cfg.user) != napi_ok ||
      js_get_string_prop(env, argv[0], "password", &cfg.password) != napi_ok ||
      js_get_string_prop(env, argv[0], "database", &cfg.database) != napi_ok ||
      js_get_number_prop(env, argv[0], "port", 5432, &port) != napi_ok ||
      js_get_number_prop(env, argv[0], "max", 10, &max) != napi_ok ||
      js_get_number_prop(env, argv[0], "maxPipeline", 100, &pipeline) != napi_ok ||
      js_get_number_prop(env, argv[0], "connectTimeoutMs", 30000, &timeout) != napi_ok ||
      js_get_number_prop(env, argv[0], "statementCacheSize", 256, &stmts) != napi_ok ||
      js_get_number_prop(env, argv[0], "idleTimeoutMs", 0, &idle_ms) != napi_ok ||
      js_get_number_prop(env, argv[0], "maxLifetimeMs", 0, &lifetime_ms) != napi_ok ||
      read_tls(env, argv[0], &cfg) != napi_ok ||
      read_params(env, argv[0], &cfg.params) != napi_ok) {
    pool_config_free(&cfg);
    return NULL;
  }
  if (cfg.host == NULL && cfg.path == NULL) {
    pool_config_free(&cfg);
    js_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "a host or a socket path is required");
    return NULL;
  }
  if (!(port >= 1 && port <= 65535) || !(max >= 1 && max <= 65535) ||
      !(pipeline >= 1 && pipeline <= 1000000) || !(timeout >= 0) ||
      !(stmts >= 0 && stmts <= 100000) || !(idle_ms >= 0) || !(lifetime_ms >= 0)) {
    pool_config_free(&cfg);
    js_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "port, max or timeout out of range");
    return NULL;
  }
  cfg.port = (uint16_t)port;
  cfg.max = (uint32_t)max;
  cfg.max_pipeline = (uint32_t)pipeline;
  cfg.connect_timeout_ms = (uint64_t)timeout;
  cfg.stmt_cache_max = (uint32_t)stmts;
  cfg.idle_timeout_ms = (uint64_t)idle_ms;
  cfg.max_lifetime_ms = (uint64_t)lifetime_ms;
  bool notices = false, password_fn = false;
  napi_value nv;
  if (napi_get_named_property(env, argv[0], "notices", &nv) == napi_ok) {
    napi_get_value_bool(env, nv, &notices);
  }
  if (napi_get_named_property(env, argv[0], "passwordFunction", &nv) == napi_ok) {
    napi_get_value_bool(env, nv, &password_fn);
  }
  cfg.password_fn = password_fn;

  js_pool_t *jp = calloc(1, sizeof(*jp));
  if (jp == NULL) {
    pool_config_free(&cfg);
    js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return NULL;
  }
  jp->env = env;
  list_init(&jp->outbox);
  base_intern_init(&jp->shapes, 4096);
  list_init(&jp->inflight);
  list_init(&jp->streaming);
  uv_loop_t *loop = NULL;
  char errmsg[256] = "could not create the pool";
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    pool_config_free(&cfg);
    free(jp);
    js_throw_error(env, "ERR_UVSQL_INTERNAL", "no event loop");
    return NULL;
  }
  int rc = pool_init(&jp->pool, loop, &cfg, &js_pool_handler, jp, errmsg, sizeof(errmsg));
  if (rc < 0) {
    /* pool_init freed cfg */
    free(jp);
    js_throw_error(env, rc == DB_ENOMEM ? "ERR_UVSQL_NO_MEMORY" : "ERR_POSTGRES_TLS_CONFIG",
                   errmsg);
    return NULL;
  }
  jp->pool_live = 1;
  jp->want_notices = notices;
  if (napi_create_reference(env, argv[1], 1, &jp->on_results) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &jp->on_closed) != napi_ok ||
      napi_create_string_utf8(env, "uvsql.pool", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok ||
      napi_create_reference(env, resource, 1, &jp->async_resource) != napi_ok ||
      napi_async_init(env, resource, name, &jp->async_ctx) != napi_ok ||
      napi_create_object(env, &handle) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, jp, on_ready_note,
                                      &jp->tsfn) != napi_ok ||
      napi_unref_threadsafe_function(env, jp->tsfn) != napi_ok ||
      napi_wrap(env, handle, jp, js_pool_finalize, NULL, NULL) != napi_ok ||
      napi_add_env_cleanup_hook(env, js_pool_env_cleanup, jp) != napi_ok) {
    js_pool_release(jp);
    free(jp);
    js_throw_status(env, napi_generic_failure, "poolCreate");
    return NULL;
  }
  return handle;
}

/* poolQuery(handle, id, text, params[], types[], simple, raw) -> undefined; throws when the pool
 * is closed. params are strings (text format) or null; types are parameter type OIDs (0 =
 * inferred); simple = true sends the text with the simple protocol (no params); raw = true
 * hands every cell over as text (for .raw()). */
static napi_value js_pool_query(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  if (jp->closed || !jp->pool_live) {
    js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "the connection pool is closed");
    return NULL;
  }
  double id;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &id));
  char *text = NULL;
  size_t text_len = 0;
  if (js_get_string(env, argv[2], &text, &text_len) != napi_ok) {
    return NULL;
  }
  uint32_t nparams = 0;
  bool is_array = false;
  if (argc >= 4 && napi_is_array(env, argv[3], &is_array) == napi_ok && is_array) {
    napi_get_array_length(env, argv[3], &nparams);
  }
  if (nparams > 65535) {
    free(text);
    js_throw_error(env, "ERR_POSTGRES_INVALID_QUERY_BINDING",
                   "a query can have at most 65535 parameters");
    return NULL;
  }
  slice_t *values = calloc(nparams > 0 ? nparams : 1, sizeof(slice_t));
  uint32_t *types = calloc(nparams > 0 ? nparams : 1, sizeof(uint32_t));
  char **owned = calloc(nparams > 0 ? nparams : 1, sizeof(char *));
  pool_query_t *q = NULL;
  js_query_t *jq = NULL;
  int ok = values != NULL && owned != NULL && types != NULL;
  bool types_array = false;
  if (ok && argc >= 5) {
    napi_is_array(env, argv[4], &types_array);
  }
  for (uint32_t i = 0; ok && i < nparams; i++) {
    napi_value v;
    napi_valuetype t;
    ok = napi_get_element(env, argv[3], i, &v) == napi_ok && napi_typeof(env, v, &t) == napi_ok;
    if (!ok) {
      break;
    }
    if (types_array) {
      napi_value tv;
      uint32_t oid = 0;
      if (napi_get_element(env, argv[4], i, &tv) == napi_ok &&
          napi_get_value_uint32(env, tv, &oid) == napi_ok) {
        types[i] = oid;
      }
    }
    if (t == napi_null || t == napi_undefined) {
      continue; /* SQL NULL */
    }
    size_t len = 0;
    ok = js_get_string(env, v, &owned[i], &len) == napi_ok;
    if (ok) {
      values[i].p = (const uint8_t *)owned[i];
      values[i].n = len;
    }
  }
  if (ok) {
    jq = calloc(1, sizeof(*jq));
    ok = jq != NULL;
  }
  if (ok) {
    jq->id = id;
    list_init(&jq->node);
    list_init(&jq->live);
    list_init(&jq->streaming);
    q = pool_query_new(text, text_len, (uint16_t)nparams, types, values, jq);
    ok = q != NULL;
    bool simple = false;
    if (ok && argc >= 6) {
      napi_get_value_bool(env, argv[5], &simple);
    }
    if (ok) {
      q->simple = simple && nparams == 0;
      bool raw = false;
      if (argc >= 7) {
        napi_get_value_bool(env, argv[6], &raw);
      }
      jq->all_text = raw;
    }
  }
  int rc = 0;
  int32_t lease_slot = -1;
  uint32_t lease_gen = 0;
  napi_valuetype lt;
  if (ok && argc >= 9 && napi_typeof(env, argv[7], &lt) == napi_ok && lt == napi_number) {
    napi_get_value_int32(env, argv[7], &lease_slot);
    napi_get_value_uint32(env, argv[8], &lease_gen);
  }
  if (ok) {
    jq->pq = q;
    list_push_back(&jp->inflight, &jq->live);
    rc = lease_slot >= 0 ? pool_query_submit_on(&jp->pool, q, (uint32_t)lease_slot, lease_gen)
                         : pool_query_submit(&jp->pool, q);
    if (rc == 0) {
      on_flush(jp); /* e.g. a password request for the connection this query opened */
    } else {
      list_remove(&jq->live);
    }
  }
  for (uint32_t i = 0; owned != NULL && i < nparams; i++) {
    free(owned[i]);
  }
  free(owned);
  free(values);
  free(types);
  free(text);
  if (!ok || rc < 0) {
    pool_query_free(q);
    if (jq != NULL) {
      js_query_free(jq);
    }
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) {
      if (rc == DB_ECLOSED && lease_slot >= 0) {
        js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED",
                       "the reserved connection was closed; its transaction is over");
      } else if (rc == DB_ECLOSED) {
        js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "the connection pool is closed");
      } else {
        js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
      }
    }
    return NULL;
  }
  return NULL;
}

/* poolReserve(handle, id): asks for an exclusive lease; answered in a batch as kind 9
 * [slot, gen], or as a client error. Throws when the pool is closed. */
static napi_value js_pool_reserve(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  if (jp->closed || !jp->pool_live || jp->pool.closing) {
    js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "the connection pool is closed");
    return NULL;
  }
  double id;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &id));
  js_query_t *jq = calloc(1, sizeof(*jq));
  pool_query_t *q = jq != NULL ? pool_query_new("", 0, 0, NULL, NULL, jq) : NULL;
  if (q == NULL) {
    free(jq);
    js_throw_error(env, "ERR_UVSQL_NO_MEMORY", "out of memory");
    return NULL;
  }
  jq->id = id;
  list_init(&jq->node);
  list_init(&jq->live);
  list_init(&jq->streaming);
  /* Registered first: an idle connection grants the lease during the call (on_reserved). */
  jq->pq = q;
  list_push_back(&jp->inflight, &jq->live);
  if (pool_reserve(&jp->pool, q) < 0) {
    list_remove(&jq->live);
    pool_query_free(q);
    js_query_free(jq);
    js_throw_error(env, "ERR_POSTGRES_CONNECTION_CLOSED", "the connection pool is closed");
    return NULL;
  }
  on_flush(jp); /* the lease if granted at once, or a password request */
  return NULL;
}

/* poolRelease(handle, slot, gen): gives a lease back (a stale one is a no-op). */
static napi_value js_pool_release_lease(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  uint32_t slot = 0, gen = 0;
  NAPI_CALL(env, napi_get_value_uint32(env, argv[1], &slot));
  NAPI_CALL(env, napi_get_value_uint32(env, argv[2], &gen));
  if (jp->pool_live && !jp->closed) {
    pool_release(&jp->pool, slot, gen);
  }
  return NULL;
}

/* poolCancel(handle, id) -> true when a cancel was made (a waiting query fails at once, a
 * running one gets a CancelRequest); false when the query is no longer in flight. */
static napi_value js_pool_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  double id = 0;
  NAPI_CALL(env, napi_get_value_double(env, argv[1], &id));
  int rc = DB_EARG;
  if (jp->pool_live && !jp->closed) {
    for (list_node_t *n = jp->inflight.next; n != &jp->inflight; n = n->next) {
      js_query_t *jq = container_of(n, js_query_t, live);
      if (jq->id == id) {
        pool_callbacks_begin(&jp->pool);
        rc = pool_query_cancel(&jp->pool, jq->pq);
        pool_callbacks_end(&jp->pool); /* a waiting query failed at once */
        break;
      }
    }
  }
  NAPI_CALL(env, napi_get_boolean(env, rc == 0, &result));
  return result;
}

/* poolPassword(handle, slot, gen, password | null, error | null): the answer of the password
 * function for the connection that asked (kind 5). */
static napi_value js_pool_password(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  uint32_t slot = 0, gen = 0;
  NAPI_CALL(env, napi_get_value_uint32(env, argv[1], &slot));
  NAPI_CALL(env, napi_get_value_uint32(env, argv[2], &gen));
  char *password = NULL, *error = NULL;
  napi_valuetype t;
  if (argc >= 4 && napi_typeof(env, argv[3], &t) == napi_ok && t == napi_string &&
      js_get_string(env, argv[3], &password, NULL) != napi_ok) {
    return NULL;
  }
  if (argc >= 5 && napi_typeof(env, argv[4], &t) == napi_ok && t == napi_string &&
      js_get_string(env, argv[4], &error, NULL) != napi_ok) {
    base_wipe_free(password);
    return NULL;
  }
  if (jp->pool_live && !jp->closed) {
    /* No callback comes from this synchronously: a failure closes the socket first. */
    pool_password_supplied(&jp->pool, slot, gen, password, error);
  }
  base_wipe_free(password);
  free(error);
  return NULL;
}

/* poolClose(handle, timeoutMs) -> true when already closed (no onClosed call follows).
 * timeoutMs < 0: wait for running and queued queries; 0: fail them at once; > 0: wait at most
 * that long, then fail what is left. */
static napi_value js_pool_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  double timeout = -1;
  if (argc >= 2) {
    napi_get_value_double(env, argv[1], &timeout);
  }
  int done = 1;
  if (jp->pool_live && !jp->closed) {
    pool_callbacks_begin(&jp->pool);
    done = pool_close(&jp->pool, timeout == 0, timeout > 0 ? (uint64_t)timeout : 0);
    pool_callbacks_end(&jp->pool); /* delivers the queries an immediate close failed */
    if (done) {
      jp->closed = 1;
      js_pool_release(jp);
    }
  }
  NAPI_CALL(env, napi_get_boolean(env, done != 0, &result));
  return result;
}

/* poolStats(handle) -> slot counts by state plus the pool's counters (see pool_stats_t). */
static napi_value js_pool_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, v;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  js_pool_t *jp = unwrap_pool(env, argv[0]);
  if (jp == NULL) {
    return NULL;
  }
  NAPI_CALL(env, napi_create_object(env, &obj));
  if (!jp->pool_live) {
    return obj;
  }
  uint32_t counts[SLOT__COUNT];
  pool_count_states(&jp->pool, counts);
  const char *names[SLOT__COUNT] = {"empty",    "connecting", "pending", "ready",
                                    "busy",     "reserved",   "closing"};
  for (int i = 0; i < SLOT__COUNT; i++) {
    NAPI_CALL(env, napi_create_uint32(env, counts[i], &v));
    NAPI_CALL(env, napi_set_named_property(env, obj, names[i], v));
  }
  const pool_stats_t *st = &jp->pool.stats;
  struct {
    const char *name;
    double value;
  } extra[] = {
    {"waiting", jp->pool.nwaiting},
    {"live", jp->pool.live_conns},
    {"opened", (double)st->opened},
    {"connected", (double)st->connected},
    {"connectFailures", (double)st->connect_failures},
    {"retries", (double)st->retries},
    {"closed", (double)st->closed},
    {"closedIdle", (double)st->closed_idle},
    {"closedLifetime", (double)st->closed_lifetime},
    {"closedByPool", (double)st->closed_by_pool},
    {"closedByError", (double)st->closed_by_error},
    {"staleEvents", (double)st->stale_events},
    {"queries", (double)st->queries},
    {"waiterMs", (double)st->waiter_ms},
    {"badTransitions", (double)st->bad_transitions},
  };
  for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
    NAPI_CALL(env, napi_create_double(env, extra[i].value, &v));
    NAPI_CALL(env, napi_set_named_property(env, obj, extra[i].name, v));
  }
  return obj;
}

napi_value js_pool_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"poolCreate", NULL, js_pool_create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolQuery", NULL, js_pool_query, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolClose", NULL, js_pool_close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolCancel", NULL, js_pool_cancel, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolPassword", NULL, js_pool_password, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolReserve", NULL, js_pool_reserve, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolRelease", NULL, js_pool_release_lease, NULL, NULL, NULL, napi_enumerable, NULL},
    {"poolStats", NULL, js_pool_stats, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props));
  return exports;
}
