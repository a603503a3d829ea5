/* Fuzz target pg_engine: the whole PostgreSQL client state machine (src/pg/pg_conn.c), from the
 * SSLRequest answer through startup, authentication (cleartext, MD5, SCRAM with and without
 * channel binding), pipelined extended and simple queries, rows, errors and notices, fed with
 * server bytes from the fuzz input through no socket at all. The rows the engine reports are
 * decoded into a rowbatch_t, which exercises the C cell decoders.
 *
 * Input layout (fuzz/make-seeds.js writes seeds in it):
 *   byte 0  flags  bits 0-1 TLS mode: 0 disable, 1 prefer, 2 require, 3 prefer
 *                  bit 2    statement cache on (2 entries) / off
 *                  bit 3    row batches in raw text mode
 *                  bit 4    on_tls_start fails
 *                  bit 5    no password
 *                  bit 6    pg_conn_tls_ready without channel-binding data
 *                  bit 7    the query queued mid-stream uses the simple protocol
 *   byte 1  largest chunk (0: the whole stream in one feed, 1: one byte per feed); unless 0,
 *           the answer to SSLRequest is fed alone, as a server sends it
 *   byte 2-3 seed of the chunk sizes (1..largest, xorshift)
 *   byte 4  feed index at which pg_conn_request_cancel runs (0xff: never)
 *   byte 5  which query it cancels (index in the order queued)
 *   byte 6  feed index at which pg_conn_terminate runs (0xff: never)
 *   byte 7  feed index before which two more queries are queued (0xff: never)
 *   byte 8… server bytes
 *
 * Fixed session: user "u", password "pencil", database "d"; three queries queued before any
 * input: Q0 extended "select $1::int4 as a, $2::text as b" ('1', NULL), Q1 simple
 * "select 1; select 2", Q2 extended, same text as Q0 (a cache hit when the cache is on).
 * Mid-stream: Q3 extended "select 3" (simple when bit 7), Q4 extended "select 4": with the
 * cache on and Q0-Q2 answered, Q4 evicts Q0's statement (a Close goes out first).
 * The SCRAM client nonce is deterministic here (RAND_bytes is wrapped at link time: 18 zero bytes,
 * i.e. "AAAAAAAAAAAAAAAAAAAAAAAA") so seeds can carry a server that completes SCRAM.
 *
 * At the end of the input the socket "closes" (pg_conn_fail), then pg_conn_destroy.
 * Checks: each accepted query gets on_query_done exactly once, and no event after it; on_fatal
 * at most once, and only once the engine is FAILED; on_ready at most once; a row batch built
 * from the reported rows agrees with its RowDescription and serializes consistently.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/base/base_err.h"
#include "../src/pg/pg.h"
#include "../src/pg/pg_int.h"
#include "../src/pg/pg_rowbatch.h"
#include "fuzz_util.h"

#define HEADER 8
#define MAX_QUERIES 8

/* FUZZ_TRACE=1 in the environment prints every event (for reading a reproducer). */
static int trace = -1;
#define TRACE(...)                                \
  do {                                            \
    if (trace > 0) {                              \
      fprintf(stderr, "[pg_engine] " __VA_ARGS__); \
    }                                             \
  } while (0)

/* Deterministic "randomness" for the SCRAM nonce (linked with -Wl,--wrap=RAND_bytes). */
int __wrap_RAND_bytes(unsigned char *buf, int num);
int __wrap_RAND_bytes(unsigned char *buf, int num) {
  memset(buf, 0, num > 0 ? (size_t)num : 0);
  return 1;
}

typedef struct {
  int accepted; /* pg_conn_query returned 0 */
  int done;     /* on_query_done calls */
} query_rec_t;

typedef struct {
  pg_conn_t *conn;
  query_rec_t q[MAX_QUERIES];
  int nq;
  int fatal;
  int ready;
  int tls_started;
  int tls_fail;
  int all_text;
  int cancel_due;
  rowbatch_t batch;
  int batch_live; /* fields set since the last take */
  int have_fields; /* a RowDescription came for the current result set */
  uint16_t batch_cols;
} session_t;

static int query_index(session_t *s, void *query) {
  uintptr_t id = (uintptr_t)query;
  FUZZ_CHECK(id >= 1 && id <= (uintptr_t)s->nq, "event for unknown query %p", query);
  return (int)id - 1;
}

/* An event for a query: it must be accepted and not yet done. */
static void live(session_t *s, void *query, const char *what) {
  int i = query_index(s, query);
  FUZZ_CHECK(s->q[i].accepted && s->q[i].done == 0, "%s for query %d (accepted %d, done %d)",
             what, i, s->q[i].accepted, s->q[i].done);
}

static void take_batch(session_t *s) {
  if (!s->batch_live) {
    return;
  }
  size_t size = rowbatch_size(&s->batch);
  uint8_t *dst = malloc(size);
  if (dst != NULL) {
    rowbatch_take(&s->batch, dst);
    fuzz_check_batch(dst, size, s->batch_cols);
    free(dst);
  }
}

static void ev_ready(void *ctx) {
  session_t *s = ctx;
  FUZZ_CHECK(s->ready == 0, "on_ready twice");
  FUZZ_CHECK(s->conn->state == PG_ST_READY, "on_ready in state %s",
             pg_state_name(s->conn->state));
  s->ready++;
  TRACE("ready\n");
}

static void ev_fields(void *ctx, void *query, const db_field_t *f, uint16_t n) {
  session_t *s = ctx;
  live(s, query, "on_fields");
  TRACE("fields q%d %u\n", query_index(s, query), n);
  FUZZ_CHECK(n <= PG_MAX_FIELDS, "%u fields", n);
  take_batch(s);
  int rc = pg_rowbatch_set_fields(&s->batch, f, n, s->all_text);
  FUZZ_CHECK(rc == 0 || rc == DB_ENOMEM, "pg_rowbatch_set_fields: %d", rc);
  s->batch_live = rc == 0;
  s->have_fields = 1;
  s->batch_cols = n;
}

static void ev_row(void *ctx, void *query, const uint8_t *body, size_t n) {
  session_t *s = ctx;
  live(s, query, "on_row");
  TRACE("row q%d %zu bytes\n", query_index(s, query), n);
  FUZZ_CHECK(s->have_fields, "on_row without on_fields");
  if (!s->batch_live) {
    return; /* out of memory in set_fields */
  }
  int rc = pg_rowbatch_add(&s->batch, body, n);
  FUZZ_CHECK(rc == 0 || rc == DB_ENOMEM, "pg_rowbatch_add: %d (row of %zu bytes)", rc, n);
}

static void ev_command(void *ctx, void *query, slice_t tag) {
  session_t *s = ctx;
  live(s, query, "on_command");
  TRACE("command q%d %.*s\n", query_index(s, query), (int)tag.n, (const char *)tag.p);
  FUZZ_CHECK(tag.p != NULL || tag.n == 0, "NULL tag");
  take_batch(s);
  s->batch_live = 0;
  s->have_fields = 0;
}

static void ev_query_error(void *ctx, void *query, const db_error_t *e) {
  session_t *s = ctx;
  live(s, query, "on_query_error");
  TRACE("query error q%d %.*s\n", query_index(s, query), (int)e->code.n, (const char *)e->code.p);
  FUZZ_CHECK(e != NULL, "NULL error");
}

static void ev_query_done(void *ctx, void *query, int status, const db_error_t *err) {
  session_t *s = ctx;
  live(s, query, "on_query_done");
  TRACE("done q%d %d\n", query_index(s, query), status);
  s->q[query_index(s, query)].done++;
  FUZZ_CHECK(status <= 0, "status %d", status);
  FUZZ_CHECK(status < 0 || err == NULL, "success with an error");
  take_batch(s);
  s->batch_live = 0;
  s->have_fields = 0;
}

static void ev_fatal(void *ctx, int code, const char *msg, const db_error_t *err) {
  session_t *s = ctx;
  (void)err;
  FUZZ_CHECK(s->fatal == 0, "on_fatal twice");
  FUZZ_CHECK(code < 0, "fatal code %d", code);
  FUZZ_CHECK(msg != NULL && strlen(msg) < sizeof(s->conn->errmsg), "fatal message");
  FUZZ_CHECK(s->conn->state == PG_ST_FAILED, "on_fatal in state %s",
             pg_state_name(s->conn->state));
  s->fatal++;
  TRACE("fatal %d %s\n", code, msg);
}

static void ev_param(void *ctx, slice_t k, slice_t v) {
  (void)ctx;
  FUZZ_CHECK((k.p != NULL || k.n == 0) && (v.p != NULL || v.n == 0), "NULL slice");
}

static void ev_notice(void *ctx, const db_error_t *notice) {
  (void)ctx;
  FUZZ_CHECK(notice != NULL, "NULL notice");
}

static void ev_notification(void *ctx, uint32_t pid, slice_t channel, slice_t payload) {
  (void)ctx;
  (void)pid;
  FUZZ_CHECK((channel.p != NULL || channel.n == 0) && (payload.p != NULL || payload.n == 0),
             "NULL slice");
}

static int ev_tls_start(void *ctx) {
  session_t *s = ctx;
  FUZZ_CHECK(s->conn->state == PG_ST_TLS, "on_tls_start in state %s",
             pg_state_name(s->conn->state));
  s->tls_started++;
  TRACE("tls start\n");
  return s->tls_fail ? DB_ETLS : 0;
}

static void ev_cancel_due(void *ctx) {
  session_t *s = ctx;
  s->cancel_due++;
  TRACE("cancel due\n");
}

static const pg_handler_t handler = {
  .on_ready = ev_ready,
  .on_fields = ev_fields,
  .on_row = ev_row,
  .on_command = ev_command,
  .on_query_error = ev_query_error,
  .on_query_done = ev_query_done,
  .on_fatal = ev_fatal,
  .on_parameter = ev_param,
  .on_notice = ev_notice,
  .on_notification = ev_notification,
  .on_tls_start = ev_tls_start,
  .on_cancel_due = ev_cancel_due,
};

static const char Q_PARAMS[] = "select $1::int4 as a, $2::text as b";
static const char Q_SIMPLE[] = "select 1; select 2";
static const char Q_THREE[] = "select 3";
static const char Q_FOUR[] = "select 4";

static void *next_id(session_t *s) {
  FUZZ_CHECK(s->nq < MAX_QUERIES, "too many queries");
  s->nq++;
  return (void *)(uintptr_t)s->nq;
}

static void queue_extended(session_t *s, const char *text) {
  static const uint32_t types[2] = {23, 25};
  const slice_t values[2] = {{(const uint8_t *)"1", 1}, {NULL, 0}};
  void *id = next_id(s);
  int two = text == Q_PARAMS;
  int rc = pg_conn_query(s->conn, text, strlen(text), two ? 2 : 0, two ? types : NULL,
                         two ? values : NULL, id);
  TRACE("query q%d '%s': %d\n", query_index(s, id), text, rc);
  FUZZ_CHECK(rc <= 0, "pg_conn_query: %d", rc);
  s->q[query_index(s, id)].accepted = rc == 0;
}

static void queue_simple(session_t *s, const char *text) {
  void *id = next_id(s);
  int rc = pg_conn_simple_query(s->conn, text, strlen(text), id);
  TRACE("simple query q%d '%s': %d\n", query_index(s, id), text, rc);
  FUZZ_CHECK(rc <= 0, "pg_conn_simple_query: %d", rc);
  s->q[query_index(s, id)].accepted = rc == 0;
}

static uint32_t xorshift(uint32_t *x) {
  uint32_t v = *x;
  v ^= v << 13;
  v ^= v >> 17;
  v ^= v << 5;
  *x = v;
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (trace < 0) {
    trace = getenv("FUZZ_TRACE") != NULL;
  }
  if (size < HEADER) {
    return 0;
  }
  uint8_t flags = data[0];
  uint8_t max_chunk = data[1];
  uint32_t seed = (uint32_t)data[2] << 8 | data[3];
  seed = seed * 2654435761u + 1;
  if (seed == 0) { /* xorshift needs a non-zero state */
    seed = 1;
  }
  uint8_t cancel_at = data[4];
  uint8_t cancel_which = data[5];
  uint8_t terminate_at = data[6];
  uint8_t more_at = data[7];
  const uint8_t *p = data + HEADER;
  size_t n = size - HEADER;

  static const db_ssl_mode_t modes[4] = {DB_SSL_DISABLE, DB_SSL_PREFER, DB_SSL_REQUIRE,
                                         DB_SSL_PREFER};
  pg_conn_t conn;
  session_t s;
  memset(&s, 0, sizeof(s));
  s.conn = &conn;
  s.tls_fail = (flags >> 4) & 1;
  s.all_text = (flags >> 3) & 1;
  rowbatch_init(&s.batch);
  pg_config_t cfg = {
    .user = "u",
    .password = (flags & 0x20) ? NULL : "pencil",
    .database = "d",
    .params = NULL,
    .stmt_cache_max = (flags & 4) ? 2 : 0,
    .ssl_mode = modes[flags & 3],
  };
  if (pg_conn_init(&conn, &cfg, &handler, &s) < 0) {
    rowbatch_destroy(&s.batch);
    return 0;
  }
  buf_clear(pg_conn_output(&conn));

  queue_extended(&s, Q_PARAMS);
  queue_simple(&s, Q_SIMPLE);
  queue_extended(&s, Q_PARAMS);

  static const uint8_t cbind[32] = {
    0x9a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9,
    0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9,
  };
  size_t off = 0;
  unsigned feed_no = 0;
  while (off < n) {
    if (more_at != 0xff && feed_no == more_at) {
      if (flags & 0x80) {
        queue_simple(&s, Q_THREE);
      } else {
        queue_extended(&s, Q_THREE);
      }
      queue_extended(&s, Q_FOUR);
    }
    if (cancel_at != 0xff && feed_no == cancel_at && s.nq > 0) {
      int which = cancel_which % s.nq;
      int rc = pg_conn_request_cancel(&conn, (void *)(uintptr_t)(which + 1));
      TRACE("cancel q%d: %d\n", which, rc);
      FUZZ_CHECK(rc == 0 || rc == 1 || rc == DB_EARG, "pg_conn_request_cancel: %d", rc);
      if (rc == 0 || rc == 1) {
        FUZZ_CHECK(s.q[which].accepted && s.q[which].done == 0, "cancel of a finished query");
      }
    }
    if (terminate_at != 0xff && feed_no == terminate_at) {
      TRACE("terminate\n");
      pg_conn_terminate(&conn);
      FUZZ_CHECK(conn.state == PG_ST_CLOSED || conn.state == PG_ST_FAILED, "state %s",
                 pg_state_name(conn.state));
    }
    size_t len = n - off;
    if (max_chunk != 0 && conn.state == PG_ST_SSL_WAIT) {
      len = 1; /* the answer to SSLRequest alone, as a real server sends it */
    } else if (max_chunk != 0) {
      size_t k = 1 + xorshift(&seed) % max_chunk;
      len = k < len ? k : len;
    }
    /* Each chunk from its own heap copy of exactly its size, so ASan sees any over-read. */
    uint8_t *chunk = malloc(len);
    if (chunk == NULL) {
      break;
    }
    memcpy(chunk, p + off, len);
    int rc = pg_conn_feed(&conn, chunk, len);
    free(chunk);
    FUZZ_CHECK(rc <= 0, "pg_conn_feed: %d", rc);
    FUZZ_CHECK(rc == 0 || conn.state == PG_ST_FAILED || conn.state == PG_ST_CLOSED,
               "feed failed (%d) in state %s", rc, pg_state_name(conn.state));
    if (conn.state == PG_ST_TLS) {
      FUZZ_CHECK(s.tls_started == 1, "TLS state without on_tls_start");
      rc = (flags & 0x40) ? pg_conn_tls_ready(&conn, NULL, 0)
                          : pg_conn_tls_ready(&conn, cbind, sizeof(cbind));
      FUZZ_CHECK(rc == 0, "pg_conn_tls_ready: %d", rc);
    }
    /* The owner writes the output to the socket. */
    buf_clear(pg_conn_output(&conn));
    off += len;
    feed_no++;
  }

  /* End of input: the socket closed. */
  pg_conn_fail(&conn, DB_ECLOSED, "end of fuzz input");
  FUZZ_CHECK(conn.state == PG_ST_FAILED || conn.state == PG_ST_CLOSED, "state %s after fail",
             pg_state_name(conn.state));
  FUZZ_CHECK(conn.npending == 0, "%u queries still pending", conn.npending);
  for (int i = 0; i < s.nq; i++) {
    FUZZ_CHECK(s.q[i].done == (s.q[i].accepted ? 1 : 0), "query %d: accepted %d, done %d", i,
               s.q[i].accepted, s.q[i].done);
  }
  FUZZ_CHECK(s.fatal <= 1 && s.ready <= 1, "fatal %d, ready %d", s.fatal, s.ready);
  FUZZ_CHECK(conn.stmts.count <= conn.stmts.max, "statement cache holds %u of %u",
             conn.stmts.count, conn.stmts.max);
  pg_conn_destroy(&conn);
  take_batch(&s);
  rowbatch_destroy(&s.batch);
  return 0;
}
