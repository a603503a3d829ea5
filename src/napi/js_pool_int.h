/* Internal to src/napi: the pool wrapper's state, shared by js_pool.c (JS entry points and
 * lifecycle) and js_outbox.c (recording pool events and handing them to JS in batches).
 * Everything runs on the JS thread. */
#ifndef UVSQL_JS_POOL_INT_H
#define UVSQL_JS_POOL_INT_H

#include "../base/base_intern.h"
#include "../mysql/my_rowbatch.h"
#include "../pg/pg_rowbatch.h"
#include "../pool/pool.h"
#include "js.h"

/* The ErrorResponse fields JS gets, in db_error_t order, with the names Bun.SQL uses. */
#define JS_ERR_NFIELDS 17

typedef struct {
  char *field[JS_ERR_NFIELDS]; /* owned, NULL when absent */
  uint32_t number;             /* MySQL's error number, 0 for PostgreSQL */
} js_pgerr_t;

/* One result set: a statement's columns, rows and command tag. */
typedef struct js_result_s {
  struct js_result_s *next; /* owned */
  buf_t fields;       /* owned: per column, u32 oid, u32 name length, name bytes */
  uint16_t nfields;
  int has_fields;
  rowbatch_t batch; /* owned: rows not yet handed to JS */
  char *command;      /* owned */
  int done;           /* CommandComplete seen: the next statement starts a new result */
} js_result_t;

typedef struct js_query_s {
  list_node_t node;   /* in the outbox once done */
  list_node_t live;   /* in js_pool_t.inflight while the pool owns `pq` */
  list_node_t streaming; /* in js_pool_t.streaming while rows wait for a partial batch */
  int all_text;       /* raw mode: every cell as text */
  int rows_failed;    /* a row could not be decoded (DB_ENOMEM, DB_EPROTO): the query fails */
  int streamed;       /* a partial batch of its rows went to JS: they cannot be taken back */
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

/* The flush row buffer that is kept (js_outbox.c rows_buffer): it starts at MIN bytes and
 * doubles to fit, up to MAX; lib/pool.js keeps the views of a buffer up to MAX as well (the binding exports it as rowsKeepMax). */
#define JS_ROWS_KEEP_MIN 16384
#define JS_ROWS_KEEP_MAX 262144

/* js_pool_t.magic: what an External handed to a pool entry point must point at. */
#define JS_POOL_MAGIC 0x75767071u /* "uvpq" */

typedef struct js_pool_s {
  uint32_t magic;      /* JS_POOL_MAGIC while the struct lives */
  napi_env env;
  pool_t pool;
  int pool_live;       /* the pool exists: cleared once it closed (on_closed) and was freed */
  napi_ref on_results; /* strong while the pool lives */
  napi_ref on_closed;
  napi_async_context async_ctx;
  napi_ref async_resource; /* strong: the resource object must outlive async_ctx, or its weak
                            * callback and napi_async_destroy both tear it down (a crash in GC) */
  list_node_t outbox;  /* js_query_t */
  list_node_t inflight; /* js_query_t whose pool_query_t the pool still owns (for cancel) */
  list_node_t streaming; /* js_query_t with enough rows for a partial batch at the next flush */
  int js_gone;         /* the JS handle was collected */
  int env_gone;        /* the environment is being torn down: no more JS calls */
  int want_notices;    /* JS has an onnotice callback */
  base_intern_t shapes; /* row shapes JS knows by id */
  napi_threadsafe_function tsfn; /* carries "handshake done" notifications to a later turn */
  int keepalive;       /* tsfn is ref'd: queries wait for a connection */
  buf_t scratch;       /* owned: poolQuery's UTF-8 copy of the text and the packed parameters;
                        * pool_query_new copies out of it, so one buffer serves every query */
  buf_t scratch_slices; /* owned: poolQuery's slice_t per parameter, likewise */
  buf_t scratch_types;  /* owned: poolQuery's type per parameter, likewise */
  buf_t scratch_nums;   /* owned: poolQuery's MySQL numbers in their 8-byte wire form, likewise */
  /* Owned freelists: a query record and its result set (with their buffers) are made and freed
   * per query, about ten malloc/free pairs that showed up at 7% of S2's profile. */
  struct js_query_s *free_queries; /* linked through `first` (unused while free) */
  uint32_t nfree_queries;
  struct js_result_s *free_results; /* linked through `next` */
  uint32_t nfree_results;
  uint8_t *rows_base;  /* borrowed, during build_batch: the flush's shared ArrayBuffer */
  size_t rows_off, rows_cap;
  /* The flush buffer kept from one flush to the next (js_outbox.c rows_buffer), when no larger
   * than JS_ROWS_KEEP_MAX: strong, with its bytes (a live ArrayBuffer's store never moves). */
  napi_ref rows_keep;
  uint8_t *rows_keep_data;
  size_t rows_keep_cap;
  int rows_lent;       /* JS is reading the kept buffer (an onResults call is running) */
  napi_value *args;    /* owned array (the values are handles of the current scope): the
                        * values of one onResults call, built by build_batch */
  size_t nargs, cap_args;
} js_pool_t;

/* A "handshake done" notification: which slot, which generation. */
typedef struct {
  uint32_t slot;
  uint32_t gen;
} js_ready_note_t;

/* js_outbox.c */
extern const pool_handler_t js__pool_handler;
/* A query record, from the pool's freelist when it has one (jp may be NULL: plain calloc). */
js_query_t *js__query_new(js_pool_t *jp, double id);
/* Frees its contents; the record and its result sets go back to jp's freelists (jp NULL: free). */
void js__query_free(js_pool_t *jp, js_query_t *jq);
/* Frees the freelists (the pool is going away). */
void js__recycled_free(js_pool_t *jp);
void js__on_flush(void *ctx);
void js__on_ready_note(napi_env env, napi_value js_cb, void *context, void *data);

/* js_pool.c */
void js__pool_release(js_pool_t *jp);
void js__pool_free(js_pool_t *jp);

#endif
