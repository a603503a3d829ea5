/* Fuzz target my_engine: the whole MySQL client state machine (src/mysql/), from the greeting
 * through TLS negotiation, every auth plugin and switch, session setup, pipelined prepared and
 * text queries, results, errors and LOCAL INFILE requests, fed with server bytes from the fuzz
 * input through no socket at all. Every row the engine reports is decoded again with the
 * my_row.h decoders, which must not fail on it (the engine validated it).
 *
 * Input layout:
 *   byte 0  flags  bits 0-1 TLS mode: 0 disable, 1 prefer, 2 require, 3 prefer
 *                  bit 2    statement cache on (1 entry) / off
 *                  bit 3    secure transport
 *                  bit 4    allowPublicKeyRetrieval
 *                  bit 5    cleartext allowed
 *                  bit 6    no password
 *   byte 1  largest chunk (0: everything in one feed)
 *   byte 2  feed index at which my_conn_terminate runs (0xff: never)
 *   byte 3… server bytes
 *
 * Queued before any input: Q0 prepared "select ?" (1 LONGLONG), Q1 text "select 1; select 2",
 * Q2 prepared "select ?" again, Q3 ping. At the end the socket "closes" (my_conn_fail).
 * Checks: each query gets on_query_done exactly once and no event after it; on_fatal at most
 * once; on_ready at most once; reported rows decode.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/base/base_err.h"
#include "../src/mysql/my_row.h"
#include "../src/mysql/mysql.h"
#include "fuzz_util.h"

#define NQ 4

/* Deterministic randomness (linked with -Wl,--wrap=RAND_bytes like the other crypto targets). */
int __wrap_RAND_bytes(unsigned char *buf, int num);
int __wrap_RAND_bytes(unsigned char *buf, int num) {
  memset(buf, 0, (size_t)(num > 0 ? num : 0));
  return 1;
}

typedef struct {
  int done[NQ];
  int fatal;
  int ready;
  db_field_t fields[64];
  uint16_t nfields;
  int have_fields;
} state_t;

/* FUZZ_TRACE=1 in the environment prints the engine's events (for checking seeds and reading a
 * reproducer): FUZZ_TRACE=1 .tmp/fuzz/fuzz_my_engine <file>. */
static int trace = -1;
#define TRACE(...)                    \
  do {                                \
    if (trace) {                      \
      fprintf(stderr, __VA_ARGS__);   \
    }                                 \
  } while (0)

static int qidx(void *q) {
  return (int)(intptr_t)q;
}

static void ev_ready(void *ctx) {
  state_t *s = ctx;
  FUZZ_CHECK(s->ready == 0, "on_ready twice");
  TRACE("ready\n");
  s->ready = 1;
}
static void ev_fields(void *ctx, void *q, const db_field_t *f, uint16_t n) {
  state_t *s = ctx;
  FUZZ_CHECK(!s->done[qidx(q)], "fields after done");
  TRACE("Q%d fields %u\n", qidx(q), n);
  s->nfields = n;
  s->have_fields = n <= 64;
  if (s->have_fields) {
    memcpy(s->fields, f, sizeof(db_field_t) * n);
  }
}
static void ev_row(void *ctx, void *q, const uint8_t *p, size_t n) {
  state_t *s = ctx;
  FUZZ_CHECK(!s->done[qidx(q)], "row after done");
  TRACE("Q%d row %zu bytes\n", qidx(q), n);
  if (!s->have_fields) {
    return;
  }
  int rc = s->fields[0].format == DB_FORMAT_BINARY
               ? my_row_each_binary(p, n, s->fields, s->nfields, NULL, NULL)
               : my_row_each_text(p, n, s->nfields, NULL, NULL);
  FUZZ_CHECK(rc == 0, "a reported row does not decode: %d", rc);
}
static void ev_command(void *ctx, void *q, const my_ok_t *ok) {
  (void)ok;
  FUZZ_CHECK(!((state_t *)ctx)->done[qidx(q)], "command after done");
}
static void ev_query_error(void *ctx, void *q, const db_error_t *e) {
  (void)e;
  FUZZ_CHECK(!((state_t *)ctx)->done[qidx(q)], "error after done");
}
static void ev_query_done(void *ctx, void *q, int status, const db_error_t *err) {
  (void)status;
  (void)err;
  state_t *s = ctx;
  FUZZ_CHECK(qidx(q) >= 0 && qidx(q) < NQ, "unknown query");
  FUZZ_CHECK(!s->done[qidx(q)], "on_query_done twice for Q%d", qidx(q));
  s->done[qidx(q)] = 1;
  TRACE("Q%d done %d%s%.*s\n", qidx(q), status, err ? " " : "", err ? (int)err->message.n : 0,
        err && err->message.p ? (const char *)err->message.p : "");
}
static void ev_fatal(void *ctx, int code, const char *msg, const db_error_t *err) {
  (void)code;
  (void)msg;
  (void)err;
  state_t *s = ctx;
  FUZZ_CHECK(s->fatal == 0, "on_fatal twice");
  TRACE("fatal %d %s\n", code, msg ? msg : "");
  s->fatal = 1;
}
static int ev_tls_start(void *ctx) {
  (void)ctx;
  return 0;
}

static const my_handler_t handler = {
  .on_ready = ev_ready, .on_fields = ev_fields, .on_row = ev_row, .on_command = ev_command,
  .on_query_error = ev_query_error, .on_query_done = ev_query_done, .on_fatal = ev_fatal,
  .on_tls_start = ev_tls_start,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (trace < 0) {
    trace = getenv("FUZZ_TRACE") != NULL;
  }
  if (size < 3) {
    return 0;
  }
  uint8_t flags = data[0];
  size_t chunk = data[1];
  uint8_t term_at = data[2];
  data += 3;
  size -= 3;
  state_t s;
  memset(&s, 0, sizeof(s));
  my_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.user = "u";
  cfg.password = (flags & 0x40) ? NULL : "pencil";
  cfg.database = "d";
  static const db_ssl_mode_t modes[4] = {DB_SSL_DISABLE, DB_SSL_PREFER, DB_SSL_REQUIRE,
                                         DB_SSL_PREFER};
  cfg.ssl_mode = modes[flags & 3];
  cfg.stmt_cache_max = (flags & 4) ? 1 : 0;
  cfg.secure_transport = (flags & 8) != 0;
  cfg.allow_public_key_retrieval = (flags & 16) != 0;
  cfg.allow_cleartext_password = (flags & 32) != 0;
  cfg.max_payload = 1 << 20;
  my_conn_t c;
  if (my_conn_init(&c, &cfg, &handler, &s) < 0) {
    return 0;
  }
  static const uint32_t types[1] = {MYSQL_TYPE_LONGLONG};
  static const slice_t vals[1] = {{(const uint8_t *)"42", 2}};
  int queued[NQ] = {0};
  queued[0] = my_conn_query(&c, "select ?", 8, 1, types, vals, (void *)0) == 0;
  queued[1] = my_conn_simple_query(&c, "select 1; select 2", 18, (void *)1) == 0;
  queued[2] = my_conn_query(&c, "select ?", 8, 1, types, vals, (void *)2) == 0;
  queued[3] = my_conn_ping(&c, (void *)3) == 0;
  size_t off = 0;
  unsigned feeds = 0;
  while (off < size) {
    if (feeds == term_at) {
      my_conn_terminate(&c);
    }
    size_t n = chunk == 0 ? size - off : chunk;
    if (n > size - off) {
      n = size - off;
    }
    if (c.state == MY_ST_TLS) {
      my_conn_tls_ready(&c);
    }
    my_conn_feed(&c, data + off, n);
    buf_clear(my_conn_output(&c));
    off += n;
    feeds++;
  }
  my_conn_fail(&c, DB_ECLOSED, "end of input");
  for (int i = 0; i < NQ; i++) {
    FUZZ_CHECK(!queued[i] || s.done[i], "Q%d never finished", i);
  }
  my_conn_destroy(&c);
  return 0;
}
