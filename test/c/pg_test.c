/* PostgreSQL engine tests, driven with bytes (no sockets): event logs compared the llhttp way,
 * with the server's bytes fed whole, one at a time and in seeded random chunks. */
// c-units-sources: src/pg/pg_conn.c src/pg/pg_frame.c src/pg/pg_msg.c src/pg/pg_stmt.c src/pg/pg_rowbatch.c src/pg/pg_binary.c
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/auth/auth_md5.h"
#include "../../src/base/base_err.h"
#include "../../src/pg/pg.h"
#include "../../src/pg/pg_int.h"
#include "../../src/pg/pg_rowbatch.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, name)                                   \
  do {                                                      \
    checks++;                                               \
    if (cond) {                                             \
      printf("ok %d - %s\n", checks, name);                 \
    } else {                                                \
      failures++;                                           \
      printf("not ok %d - %s (line %d)\n", checks, name, __LINE__); \
    }                                                       \
  } while (0)

/* ---- event log -------------------------------------------------------------------------- */

typedef struct {
  char log[8192];
  size_t len;
} logger_t;

static void logf_(logger_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(logger_t *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(l->log + l->len, sizeof(l->log) - l->len, fmt, ap);
  va_end(ap);
  if (n > 0 && l->len + (size_t)n < sizeof(l->log)) {
    l->len += (size_t)n;
  }
}

static void ev_ready(void *ctx) {
  logf_(ctx, "ready|");
}
static void ev_fields(void *ctx, void *q, const db_field_t *f, uint16_t n) {
  logf_(ctx, "fields %s %u:", (const char *)q, n);
  for (uint16_t i = 0; i < n; i++) {
    logf_(ctx, " %.*s/%u", (int)f[i].name.n, (const char *)f[i].name.p, f[i].type_oid);
  }
  logf_(ctx, "|");
}
static void ev_row(void *ctx, void *q, const uint8_t *body, size_t n) {
  (void)body;
  logf_(ctx, "row %s %zu|", (const char *)q, n);
}
static void ev_command(void *ctx, void *q, slice_t tag) {
  logf_(ctx, "command %s %.*s|", (const char *)q, (int)tag.n, (const char *)tag.p);
}
static void ev_query_error(void *ctx, void *q, const db_error_t *e) {
  logf_(ctx, "qerror %s %.*s|", (const char *)q, (int)e->code.n, (const char *)e->code.p);
}
static void ev_query_done(void *ctx, void *q, int status, const db_error_t *err) {
  logf_(ctx, "done %s %s%s|", (const char *)q, status == 0 ? "ok" : base_err_name(status),
        err != NULL ? " +err" : "");
}
static void ev_fatal(void *ctx, int code, const char *msg, const db_error_t *err) {
  (void)msg;
  logf_(ctx, "fatal %s%s|", base_err_name(code), err != NULL ? " +err" : "");
}
static void ev_param(void *ctx, slice_t k, slice_t v) {
  logf_(ctx, "param %.*s=%.*s|", (int)k.n, (const char *)k.p, (int)v.n, (const char *)v.p);
}

static int ev_tls_start(void *ctx) {
  logf_(ctx, "tls-start|");
  return 0;
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
  .on_tls_start = ev_tls_start,
};

/* ---- server byte builders ----------------------------------------------------------------- */

typedef struct {
  uint8_t b[8192];
  size_t n;
} bytes_t;

static void put(bytes_t *o, const void *p, size_t n) {
  if (n == 0) {
    return;
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}
static void put_u32(bytes_t *o, uint32_t v) {
  uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  put(o, t, 4);
}
static void put_u16(bytes_t *o, uint16_t v) {
  uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  put(o, t, 2);
}
/* A frame with the given body. */
static void msg(bytes_t *o, char type, const void *body, size_t n) {
  put(o, &type, 1);
  put_u32(o, (uint32_t)n + 4);
  put(o, body, n);
}
static void msg_auth(bytes_t *o, uint32_t code) {
  uint8_t b[4] = {(uint8_t)(code >> 24), (uint8_t)(code >> 16), (uint8_t)(code >> 8),
                  (uint8_t)code};
  msg(o, 'R', b, 4);
}
static void startup_ok(bytes_t *o) {
  msg_auth(o, 0);
  msg(o, 'S', "server_version\0" "15.0", 20);
  msg(o, 'K', "\0\0\0\1\0\0\0\2", 8);
  msg(o, 'Z', "I", 1);
}
static void row_desc_x_int4(bytes_t *o) {
  bytes_t b = {.n = 0};
  put_u16(&b, 1);
  put(&b, "x", 2);
  put_u32(&b, 0);
  put_u16(&b, 0);
  put_u32(&b, 23);
  put_u16(&b, 4);
  put_u32(&b, 0xffffffffu);
  put_u16(&b, 0);
  msg(o, 'T', b.b, b.n);
}
static void data_row(bytes_t *o, const char *v) {
  bytes_t b = {.n = 0};
  put_u16(&b, 1);
  put_u32(&b, (uint32_t)strlen(v));
  put(&b, v, strlen(v));
  msg(o, 'D', b.b, b.n);
}
static void select_answer(bytes_t *o, const char *v1, const char *v2) {
  msg(o, '1', NULL, 0);
  msg(o, '2', NULL, 0);
  row_desc_x_int4(o);
  data_row(o, v1);
  data_row(o, v2);
  msg(o, 'C', "SELECT 2", 9);
  msg(o, 'Z', "I", 1);
}
static void error_answer(bytes_t *o) {
  const char body[] = "SERROR\0VERROR\0C42601\0Msyntax error\0";
  msg(o, 'E', body, sizeof(body)); /* sizeof includes the final NUL terminator of the list */
  msg(o, 'Z', "I", 1);
}

/* ---- drivers ---------------------------------------------------------------------------- */

static uint32_t rnd_state;
static uint32_t rnd(void) {
  rnd_state = rnd_state * 1103515245u + 12345u;
  return rnd_state >> 8;
}

/* chunk: 0 = whole, 1 = byte by byte, -1 = random chunks (seeded). */
static void feed(pg_conn_t *c, const bytes_t *in, int chunk, uint32_t seed) {
  rnd_state = seed;
  size_t off = 0;
  while (off < in->n) {
    size_t n = chunk == 0 ? in->n - off : chunk == 1 ? 1 : 1 + rnd() % 23;
    if (n > in->n - off) {
      n = in->n - off;
    }
    /* Each chunk from its own heap copy, so ASan catches reads past it. */
    uint8_t *copy = malloc(n);
    memcpy(copy, in->b + off, n);
    pg_conn_feed(c, copy, n);
    free(copy);
    off += n;
  }
}

/* Runs a trust-auth session: two selects and one error, all pipelined. */
static void run_session(logger_t *l, int chunk, uint32_t seed) {
  pg_conn_t c;
  pg_config_t cfg = {.user = "u", .password = NULL, .database = "d", .params = NULL};
  memset(l, 0, sizeof(*l));
  pg_conn_init(&c, &cfg, &handler, l);
  pg_conn_query(&c, "select 1", 8, 0, NULL, NULL, "q1");
  pg_conn_query(&c, "selec", 5, 0, NULL, NULL, "q2");
  pg_conn_query(&c, "select 2", 8, 0, NULL, NULL, "q3");
  bytes_t in = {.n = 0};
  startup_ok(&in);
  select_answer(&in, "1", "22");
  error_answer(&in);
  select_answer(&in, "333", "4444");
  feed(&c, &in, chunk, seed);
  pg_conn_destroy(&c);
}

static void test_chunking(void) {
  logger_t whole, one, random;
  run_session(&whole, 0, 0);
  const char *expected =
      "param server_version=15.0|ready|"
      "fields q1 1: x/23|row q1 7|row q1 8|command q1 SELECT 2|done q1 ok|"
      "qerror q2 42601|done q2 ok|"
      "fields q3 1: x/23|row q3 9|row q3 10|command q3 SELECT 2|done q3 ok|";
  CHECK(strcmp(whole.log, expected) == 0, "pipelined session, whole input");
  if (strcmp(whole.log, expected) != 0) {
    printf("# got      %s\n# expected %s\n", whole.log, expected);
  }
  run_session(&one, 1, 0);
  CHECK(strcmp(one.log, whole.log) == 0, "same events byte by byte");
  int same = 1;
  for (uint32_t seed = 1; seed <= 50; seed++) {
    run_session(&random, -1, seed);
    same &= strcmp(random.log, whole.log) == 0;
  }
  CHECK(same, "same events in 50 seeded random chunkings");
}

/* Feeds `in` to a fresh connection with a query queued; returns the log. */
static void run_bytes(logger_t *l, const char *password, const bytes_t *in, pg_conn_t *keep) {
  pg_conn_t local;
  pg_conn_t *c = keep != NULL ? keep : &local;
  pg_config_t cfg = {.user = "u", .password = password, .database = "d", .params = NULL};
  memset(l, 0, sizeof(*l));
  pg_conn_init(c, &cfg, &handler, l);
  pg_conn_query(c, "select 1", 8, 0, NULL, NULL, "q");
  feed(c, in, 0, 0);
  if (keep == NULL) {
    pg_conn_destroy(c);
  }
}

static void test_malformed(void) {
  logger_t l;
  bytes_t in = {.n = 0};
  in.b[0] = 'Z';
  in.b[1] = 0;
  in.b[2] = 0;
  in.b[3] = 0;
  in.b[4] = 3; /* length 3 < 4 */
  in.n = 5;
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_ESYNC|done q DB_ESYNC|") == 0, "length below 4 is sync loss");

  in.n = 0;
  startup_ok(&in);
  msg(&in, '1', NULL, 0);
  msg(&in, '2', NULL, 0);
  row_desc_x_int4(&in);
  {
    bytes_t b = {.n = 0};
    put_u16(&b, 1);
    put_u32(&b, 100); /* cell says 100 bytes, frame has 2 */
    put(&b, "ab", 2);
    msg(&in, 'D', b.b, b.n);
  }
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strstr(l.log, "fatal DB_EPROTO|done q DB_EPROTO|") != NULL, "DataRow cell overrun");

  in.n = 0;
  startup_ok(&in);
  msg(&in, 'Z', "I", 1);
  msg(&in, 'Z', "I", 1); /* a second answer with only one query in flight */
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strstr(l.log, "done q ok|fatal DB_EPROTO|") != NULL, "answer with no query in flight");

  in.n = 0;
  msg(&in, 'C', "SELECT 1", 9); /* before authentication */
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_EPROTO|done q DB_EPROTO|") == 0, "query message during startup");

  in.n = 0;
  msg(&in, 'R', "\0\0", 2); /* truncated auth code */
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_EPROTO|done q DB_EPROTO|") == 0, "truncated auth request");

  in.n = 0;
  startup_ok(&in);
  msg(&in, 'Z', "X", 1);
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strstr(l.log, "fatal DB_EPROTO") != NULL, "bad transaction status");
}

static void test_auth(void) {
  logger_t l;
  bytes_t in = {.n = 0};
  pg_conn_t c;

  /* Cleartext: answered once with the password; a repeat is refused, not looped on. */
  msg_auth(&in, 3);
  run_bytes(&l, "pw", &in, &c);
  buf_t *out = pg_conn_output(&c);
  const uint8_t *o = buf_begin(out);
  size_t startup_len = rd_u32be(o);
  CHECK(buf_size(out) > startup_len && o[startup_len] == 'p' &&
            memcmp(o + startup_len + 5, "pw", 3) == 0,
        "cleartext password sent");
  in.n = 0;
  msg_auth(&in, 3);
  feed(&c, &in, 0, 0);
  CHECK(strstr(l.log, "fatal DB_EPROTO") != NULL, "repeated auth request refused");
  pg_conn_destroy(&c);

  /* MD5: the hash of user+password with the salt. */
  in.n = 0;
  msg(&in, 'R', "\0\0\0\5" "salt", 8);
  run_bytes(&l, "secret", &in, &c);
  out = pg_conn_output(&c);
  o = buf_begin(out);
  startup_len = rd_u32be(o);
  char expected[AUTH_MD5_PASSWORD_LEN + 1];
  auth_md5_password("u", "secret", (const uint8_t *)"salt", expected);
  CHECK(o[startup_len] == 'p' && memcmp(o + startup_len + 5, expected, 36) == 0,
        "md5 password sent");
  in.n = 0;
  startup_ok(&in);
  feed(&c, &in, 0, 0);
  CHECK(strstr(l.log, "ready|") != NULL, "md5 then AuthenticationOk: ready");
  pg_conn_destroy(&c);

  /* require_auth=scram-sha-256: an MD5 request is refused before any password leaves. */
  {
    pg_config_t cfg = {.user = "u", .password = "pw", .database = "d",
                       .auth_allowed = PG_AUTH_ALLOW_SCRAM};
    memset(&l, 0, sizeof(l));
    pg_conn_init(&c, &cfg, &handler, &l);
    buf_clear(pg_conn_output(&c));
    in.n = 0;
    msg(&in, 'R', "\0\0\0\5" "salt", 8);
    feed(&c, &in, 0, 0);
    CHECK(strstr(l.log, "fatal DB_EAUTHMETHOD") != NULL && buf_size(pg_conn_output(&c)) == 0,
          "require_auth refuses MD5 with nothing sent");
    pg_conn_destroy(&c);
    /* ...and AuthenticationOk with no request at all (trust) when "none" is not allowed. */
    memset(&l, 0, sizeof(l));
    pg_conn_init(&c, &cfg, &handler, &l);
    in.n = 0;
    msg_auth(&in, 0);
    feed(&c, &in, 0, 0);
    CHECK(strstr(l.log, "fatal DB_EAUTHMETHOD") != NULL, "require_auth refuses trust");
    pg_conn_destroy(&c);
  }

  /* No password, but the server asks for one. */
  in.n = 0;
  msg(&in, 'R', "\0\0\0\5" "salt", 8);
  run_bytes(&l, NULL, &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_ENOPASSWORD|done q DB_ENOPASSWORD|") == 0, "password required");

  /* GSSAPI (7) is not supported. */
  in.n = 0;
  msg_auth(&in, 7);
  run_bytes(&l, "pw", &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_EAUTHMETHOD|done q DB_EAUTHMETHOD|") == 0, "unsupported method");

  /* SASL without SCRAM-SHA-256. */
  in.n = 0;
  msg(&in, 'R', "\0\0\0\x0a" "OTHER\0\0", 11);
  run_bytes(&l, "pw", &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_EAUTHMETHOD|done q DB_EAUTHMETHOD|") == 0, "no usable SASL mechanism");

  /* AuthenticationOk in the middle of SCRAM: the server never proved itself. */
  in.n = 0;
  msg(&in, 'R', "\0\0\0\x0a" "SCRAM-SHA-256\0\0", 19);
  msg_auth(&in, 0);
  run_bytes(&l, "pw", &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_EAUTH|done q DB_EAUTH|") == 0, "AuthenticationOk before SCRAM finished");

  /* A FATAL ErrorResponse during startup carries the server's fields to every query. */
  in.n = 0;
  {
    const char body[] = "SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed\0";
    msg(&in, 'E', body, sizeof(body));
  }
  run_bytes(&l, "pw", &in, NULL);
  CHECK(strcmp(l.log, "fatal DB_ESERVER +err|done q DB_ESERVER +err|") == 0, "startup error");
}

static void test_output(void) {
  pg_conn_t c;
  const char *params[] = {"application_name", "t", NULL};
  pg_config_t cfg = {.user = "alice", .password = NULL, .database = "db", .params = params};
  logger_t l;
  memset(&l, 0, sizeof(l));
  pg_conn_init(&c, &cfg, &handler, &l);
  buf_t *out = pg_conn_output(&c);
  const char want[] = "\0\3\0\0user\0alice\0database\0db\0application_name\0t\0\0";
  CHECK(buf_size(out) == 4 + sizeof(want) - 1 && memcmp(buf_begin(out) + 4, want, sizeof(want) - 1) == 0,
        "startup message");
  buf_clear(out);
  slice_t vals[2] = {{(const uint8_t *)"42", 2}, {NULL, 0}};
  uint32_t types[2] = {23, 0};
  CHECK(pg_conn_query(&c, "select $1, $2", 13, 2, types, vals, "q") == 0, "query queued");
  CHECK(buf_size(&c.held) > 0 && buf_begin(&c.held)[0] == 'P', "Parse first, held");
  CHECK(pg_conn_query(&c, "a\0b", 3, 0, NULL, NULL, "bad") == DB_EARG,
        "NUL in text refused");
  size_t before = buf_size(&c.held);
  pg_conn_query(&c, "a\0b", 3, 0, NULL, NULL, "bad");
  CHECK(buf_size(&c.held) == before && buf_size(out) == 0,
        "no partial frame after a refused query; queries wait for the handshake");
  pg_conn_terminate(&c);
  CHECK(strstr(l.log, "done q DB_ECLOSED|") != NULL, "terminate fails pending queries");
  pg_conn_destroy(&c);
}

/* Runs SSLRequest -> 'S' -> TLS ready -> AuthenticationSASL(mechs) and returns the output. */
static void sasl_over_tls(const char *mechs, size_t mechs_len, pg_channel_binding_t cb,
                          pg_conn_t *c, logger_t *l) {
  pg_config_t cfg = {.user = "u",
                     .password = "pw",
                     .database = "d",
                     .ssl_mode = DB_SSL_REQUIRE,
                     .channel_binding = cb};
  memset(l, 0, sizeof(*l));
  pg_conn_init(c, &cfg, &handler, l);
  buf_t *out = pg_conn_output(c);
  CHECK(buf_size(out) == 8 && rd_u32be(buf_begin(out) + 4) == 80877103, "SSLRequest first");
  buf_clear(out);
  pg_conn_feed(c, (const uint8_t *)"S", 1);
  CHECK(strcmp(l->log, "tls-start|") == 0, "S starts TLS");
  uint8_t cbind[32];
  memset(cbind, 0xab, sizeof(cbind));
  pg_conn_tls_ready(c, cbind, sizeof(cbind));
  CHECK(buf_size(out) > 8 && rd_u32be(buf_begin(out) + 4) == 196608, "startup after TLS");
  buf_clear(out);
  bytes_t in = {.n = 0};
  bytes_t body = {.n = 0};
  put_u32(&body, 10);
  put(&body, mechs, mechs_len);
  msg(&in, 'R', body.b, body.n);
  feed(c, &in, 0, 0);
}

static void test_tls(void) {
  pg_conn_t c;
  logger_t l;
  const char both[] = "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0";
  sasl_over_tls(both, sizeof(both), PG_CBIND_PREFER, &c, &l);
  const uint8_t *o = buf_begin(pg_conn_output(&c));
  CHECK(o[0] == 'p' && memcmp(o + 5, "SCRAM-SHA-256-PLUS", 19) == 0, "PLUS chosen over TLS");
  CHECK(memcmp(o + 5 + 19 + 4, "p=tls-server-end-point,,", 24) == 0, "gs2 header binds the channel");
  pg_conn_destroy(&c);

  const char plain[] = "SCRAM-SHA-256\0";
  sasl_over_tls(plain, sizeof(plain), PG_CBIND_PREFER, &c, &l);
  o = buf_begin(pg_conn_output(&c));
  CHECK(memcmp(o + 5, "SCRAM-SHA-256", 14) == 0 && memcmp(o + 5 + 14 + 4, "y,,", 3) == 0,
        "no PLUS offered over TLS: y flag (downgrade detectable)");
  pg_conn_destroy(&c);

  /* channel_binding=disable: plain SCRAM with "n" (a "y" to a server offering -PLUS would be
   * refused as a downgrade); require: no -PLUS offered fails with nothing sent. */
  sasl_over_tls(both, sizeof(both), PG_CBIND_DISABLE, &c, &l);
  o = buf_begin(pg_conn_output(&c));
  CHECK(memcmp(o + 5, "SCRAM-SHA-256", 14) == 0 && memcmp(o + 5 + 14 + 4, "n,,", 3) == 0,
        "channel_binding=disable: n flag");
  pg_conn_destroy(&c);
  sasl_over_tls(plain, sizeof(plain), PG_CBIND_REQUIRE, &c, &l);
  CHECK(strstr(l.log, "fatal DB_EAUTHMETHOD") != NULL && buf_size(pg_conn_output(&c)) == 0,
        "channel_binding=require without -PLUS: refused, nothing sent");
  pg_conn_destroy(&c);

  /* 'S' followed by bytes in the same read: refused. */
  pg_config_t cfg = {.user = "u", .password = "pw", .database = "d", .ssl_mode = DB_SSL_REQUIRE};
  memset(&l, 0, sizeof(l));
  pg_conn_init(&c, &cfg, &handler, &l);
  pg_conn_feed(&c, (const uint8_t *)"SZ", 2);
  CHECK(strcmp(l.log, "fatal DB_EPROTO|") == 0, "bytes after S refused");
  pg_conn_destroy(&c);

  /* 'N' under require, and under prefer. */
  memset(&l, 0, sizeof(l));
  pg_conn_init(&c, &cfg, &handler, &l);
  pg_conn_feed(&c, (const uint8_t *)"N", 1);
  CHECK(strcmp(l.log, "fatal DB_ETLSUNAVAILABLE|") == 0, "N refused under require");
  pg_conn_destroy(&c);
  cfg.ssl_mode = DB_SSL_PREFER;
  memset(&l, 0, sizeof(l));
  pg_conn_init(&c, &cfg, &handler, &l);
  buf_clear(pg_conn_output(&c));
  pg_conn_feed(&c, (const uint8_t *)"N", 1);
  CHECK(l.len == 0 && rd_u32be(buf_begin(pg_conn_output(&c)) + 4) == 196608,
        "N under prefer: plaintext startup");
  pg_conn_destroy(&c);
}

/* The serialized batch of one row of one column of type `oid` (a DataRow body), or NULL when
 * the row is refused; the caller frees it. */
static uint8_t *one_cell_batch(uint32_t oid, const uint8_t *row, size_t n) {
  rowbatch_t b;
  rowbatch_init(&b);
  db_field_t f;
  memset(&f, 0, sizeof(f));
  f.type_oid = oid;
  pg_rowbatch_set_fields(&b, &f, 1, 0);
  uint8_t *out = NULL;
  if (pg_rowbatch_add(&b, row, n) == 0) {
    out = malloc(rowbatch_size(&b));
    rowbatch_take(&b, out);
  }
  rowbatch_destroy(&b);
  return out;
}

/* Regressions found by the fuzzers (fuzz/crashes/). */
static void test_rowbatch_edges(void) {
  double ms = 0;
  CHECK(pg_parse_time((const uint8_t *)"999999999-01-01", 15, &ms) < 0,
        "a nine-digit year is left to JS, not overflowed in C");
  CHECK(pg_parse_time((const uint8_t *)"2024-02-03 04:05:06.789+01", 26, &ms) == 0 &&
            ms == 1706929506789.0,
        "timestamptz with fraction and offset");
  const uint8_t row[] = {0, 1, 0, 0, 0, 9, 'I', 'n', 'f', 'i', 'n', 'i', 't', 'y', 0};
  uint8_t *out = one_cell_batch(701, row, sizeof(row));
  CHECK(out != NULL, "row added");
  /* header 24 + kinds 8 + one f64 8, then the tag */
  CHECK(out != NULL && out[24 + 8 + 8] == ROW_TAG_TEXT,
        "\"Infinity\\0\" is text (JS gives NaN), not Infinity");
  free(out);
}

/* Text cells are scanned eight bytes at a time for their ASCII run: a non-ASCII or invalid byte
 * inside or after the first word must still be validated and counted in UTF-16 units. */
static void test_rowbatch_text_runs(void) {
  static const uint8_t cell[] = "abcdefgh\xc3\xa9ijklmnopqrs\xff\xf0\x9f\x98\x80";
  size_t clen = sizeof(cell) - 1;
  uint8_t row[6 + sizeof(cell)] = {0, 1, 0, 0, 0, (uint8_t)clen};
  memcpy(row + 6, cell, clen);
  uint8_t *out = one_cell_batch(25, row, 6 + clen);
  CHECK(out != NULL, "text row added");
  if (out == NULL) {
    return;
  }
  double end = 0;
  memcpy(&end, out + 24 + 8, 8);
  /* 8 + é + 11 + U+FFFD + a surrogate pair */
  CHECK(end == 23, "UTF-16 end of a mixed cell");
  CHECK((out[12] & 1) == 0, "a non-ASCII cell clears the batch's ASCII flag");
  static const uint8_t want[] = "abcdefgh\xc3\xa9ijklmnopqrs\xef\xbf\xbd\xf0\x9f\x98\x80";
  CHECK(out[8] == sizeof(want) - 1 && memcmp(out + 24 + 8 + 8 + 8, want, sizeof(want) - 1) == 0,
        "invalid byte replaced, the rest copied");
  free(out);
}

int main(void) {
  test_rowbatch_edges();
  test_rowbatch_text_runs();
  test_tls();
  test_chunking();
  test_malformed();
  test_auth();
  test_output();
  printf("1..%d\n", checks);
  return failures == 0 ? 0 : 1;
}
