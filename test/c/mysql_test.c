/* MySQL engine tests, driven with bytes (no sockets): a scripted server transcript is fed whole,
 * one byte at a time and in seeded random chunks, and the event logs must agree; the client's
 * output packets are parsed back and checked. */
// c-units-sources: src/mysql/my_cmd.c src/mysql/my_conn.c src/mysql/my_msg.c src/mysql/my_packet.c src/mysql/my_row.c src/mysql/my_stmt.c
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../../src/auth/auth_mysql.h"
#include "../../src/base/base_err.h"
#include "../../src/mysql/my_int.h"
#include "../../src/mysql/my_row.h"
#include "../../src/mysql/mysql.h"
#include "check.h"

/* ---- event log ---------------------------------------------------------------------------- */

typedef struct {
  char log[16384];
  size_t len;
  int tls_started;
  int cancel_due;
  char fatal_msg[256];
  db_field_t fields[16];
  uint16_t nfields;
  size_t last_row_len;
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
  logger_t *l = ctx;
  logf_(l, "fields %s %u %s:", (const char *)q, n, f[0].format == DB_FORMAT_BINARY ? "bin" : "text");
  for (uint16_t i = 0; i < n; i++) {
    logf_(l, " %.*s/%u", (int)f[i].name.n, (const char *)f[i].name.p, f[i].type_oid);
    if (i < 16) {
      l->fields[i] = f[i];
      l->fields[i].name.p = NULL; /* borrowed: gone after the callback */
    }
  }
  l->nfields = n;
  logf_(l, "|");
}
static int cell_log(void *arg, uint16_t col, const my_cell_t *c) {
  logger_t *l = arg;
  switch (c->kind) {
    case MY_CELL_NULL: logf_(l, " %u:null", col); break;
    case MY_CELL_BYTES:
      if (c->bytes.n > 40) {
        logf_(l, " %u:<%zu bytes>", col, c->bytes.n);
      } else {
        logf_(l, " %u:'%.*s'", col, (int)c->bytes.n, (const char *)c->bytes.p);
      }
      break;
    case MY_CELL_INT: logf_(l, " %u:%lld", col, (long long)c->i); break;
    case MY_CELL_UINT: logf_(l, " %u:%lluu", col, (unsigned long long)c->u); break;
    case MY_CELL_DOUBLE: logf_(l, " %u:%g", col, c->d); break;
    case MY_CELL_DATETIME:
      logf_(l, " %u:%04d-%02d-%02d %02d:%02d:%02d.%06d", col, c->dt.year, c->dt.month, c->dt.day,
            c->dt.hour, c->dt.minute, c->dt.second, c->dt.micro);
      break;
    case MY_CELL_TIME:
      logf_(l, " %u:%s%dd%02d:%02d:%02d.%06d", col, c->time.negative ? "-" : "", c->time.days,
            c->time.hour, c->time.minute, c->time.second, c->time.micro);
      break;
  }
  return 0;
}
static void ev_row(void *ctx, void *q, const uint8_t *p, size_t n) {
  logger_t *l = ctx;
  logf_(l, "row %s:", (const char *)q);
  l->last_row_len = n;
  int rc = l->fields[0].format == DB_FORMAT_BINARY
               ? my_row_each_binary(p, n, l->fields, l->nfields, cell_log, l)
               : my_row_each_text(p, n, l->nfields, cell_log, l);
  logf_(l, "%s|", rc == 0 ? "" : " DECODE-FAILED");
}
static void ev_command(void *ctx, void *q, const my_ok_t *ok) {
  logf_(ctx, "command %s %llu/%llu|", (const char *)q, (unsigned long long)ok->affected_rows,
        (unsigned long long)ok->last_insert_id);
}
static void ev_query_error(void *ctx, void *q, const db_error_t *e) {
  logf_(ctx, "qerror %s %u %.*s|", (const char *)q, e->number, (int)e->code.n,
        (const char *)e->code.p);
}
static void ev_query_done(void *ctx, void *q, int status, const db_error_t *err) {
  logf_(ctx, "done %s %s%s|", (const char *)q, status == 0 ? "ok" : base_err_name(status),
        err != NULL ? " +err" : "");
}
static void ev_fatal(void *ctx, int code, const char *msg, const db_error_t *err) {
  logger_t *l = ctx;
  snprintf(l->fatal_msg, sizeof(l->fatal_msg), "%s", msg);
  logf_(l, "fatal %s%s|", base_err_name(code), err != NULL ? " +err" : "");
}
static int ev_tls_start(void *ctx) {
  ((logger_t *)ctx)->tls_started = 1;
  logf_(ctx, "tls-start|");
  return 0;
}
static void ev_cancel_due(void *ctx) {
  ((logger_t *)ctx)->cancel_due++;
  logf_(ctx, "cancel-due|");
}

static const my_handler_t handler = {
  .on_ready = ev_ready, .on_fields = ev_fields, .on_row = ev_row, .on_command = ev_command,
  .on_query_error = ev_query_error, .on_query_done = ev_query_done, .on_fatal = ev_fatal,
  .on_tls_start = ev_tls_start, .on_cancel_due = ev_cancel_due,
};

/* ---- server transcript builders ------------------------------------------------------------ */

typedef struct {
  uint8_t *b;
  size_t n, cap;
} bytes_t;

static void put(bytes_t *o, const void *p, size_t n) {
  if (o->n + n > o->cap) {
    o->cap = (o->n + n) * 2 + 256;
    o->b = realloc(o->b, o->cap);
  }
  if (n > 0) {
    memcpy(o->b + o->n, p, n);
  }
  o->n += n;
}
static void put_u8(bytes_t *o, uint8_t v) {
  put(o, &v, 1);
}
static void put_u16(bytes_t *o, uint16_t v) {
  uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  put(o, t, 2);
}
static void put_u32(bytes_t *o, uint32_t v) {
  uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(o, t, 4);
}
static void put_lstr(bytes_t *o, const char *s) {
  put_u8(o, (uint8_t)strlen(s));
  put(o, s, strlen(s));
}
/* One packet (payload < 16 MiB). */
static void pkt(bytes_t *o, uint8_t seq, const void *p, size_t n) {
  uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
  put(o, h, 4);
  put(o, p, n);
}
static void pkt_b(bytes_t *o, uint8_t seq, bytes_t *payload) {
  pkt(o, seq, payload->b, payload->n);
  free(payload->b);
  memset(payload, 0, sizeof(*payload));
}

#define CAPS_ALL                                                                              \
  (MY_CAP_LONG_PASSWORD | MY_CAP_PROTOCOL_41 | MY_CAP_SECURE_CONNECTION | MY_CAP_TRANSACTIONS | \
   MY_CAP_MULTI_STATEMENTS | MY_CAP_MULTI_RESULTS | MY_CAP_PS_MULTI_RESULTS |                  \
   MY_CAP_PLUGIN_AUTH | MY_CAP_PLUGIN_AUTH_LENENC | MY_CAP_CONNECT_ATTRS |                     \
   MY_CAP_CONNECT_WITH_DB | MY_CAP_LOCAL_FILES | MY_CAP_DEPRECATE_EOF)

static const uint8_t scr[20] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
                                'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't'};

static void greeting(bytes_t *o, uint32_t caps, const char *plugin) {
  bytes_t g = {0};
  put_u8(&g, 10);
  put(&g, "5.5.5-10.11.0-MariaDB", 22);
  put_u32(&g, 77); /* thread id */
  put(&g, scr, 8);
  put_u8(&g, 0);
  put_u16(&g, (uint16_t)caps);
  put_u8(&g, 8);
  put_u16(&g, 2);
  put_u16(&g, (uint16_t)(caps >> 16));
  put_u8(&g, 21);
  put(&g, "\0\0\0\0\0\0\0\0\0\0", 10);
  put(&g, scr + 8, 12);
  put_u8(&g, 0);
  put(&g, plugin, strlen(plugin) + 1);
  pkt_b(o, 0, &g);
}
static void ok_pkt(bytes_t *o, uint8_t seq, uint8_t header, uint64_t affected, uint64_t id,
                   uint16_t status) {
  bytes_t b = {0};
  put_u8(&b, header);
  put_u8(&b, (uint8_t)affected);
  put_u8(&b, (uint8_t)id);
  put_u16(&b, status);
  put_u16(&b, 0);
  pkt_b(o, seq, &b);
}
static void eof_pkt(bytes_t *o, uint8_t seq, uint16_t status) {
  bytes_t b = {0};
  put_u8(&b, 0xFE);
  put_u16(&b, 0);
  put_u16(&b, status);
  pkt_b(o, seq, &b);
}
static void err_pkt(bytes_t *o, uint8_t seq, uint16_t number, const char *state, const char *msg) {
  bytes_t b = {0};
  put_u8(&b, 0xFF);
  put_u16(&b, number);
  if (state != NULL) {
    put_u8(&b, '#');
    put(&b, state, 5);
  }
  put(&b, msg, strlen(msg));
  pkt_b(o, seq, &b);
}
static void coldef(bytes_t *o, uint8_t seq, const char *name, uint8_t type, uint16_t flags) {
  bytes_t b = {0};
  put_lstr(&b, "def");
  put_lstr(&b, "db");
  put_lstr(&b, "t");
  put_lstr(&b, "t");
  put_lstr(&b, name);
  put_lstr(&b, name);
  put_u8(&b, 0x0c);
  put_u16(&b, 45);
  put_u32(&b, 11);
  put_u8(&b, type);
  put_u16(&b, flags);
  put_u8(&b, 0);
  put_u16(&b, 0);
  pkt_b(o, seq, &b);
}
/* A text row of NUL-terminated cells ("\xFB" alone = NULL). */
static void text_row(bytes_t *o, uint8_t seq, int n, ...) {
  bytes_t b = {0};
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    const char *s = va_arg(ap, const char *);
    if (s == NULL) {
      put_u8(&b, 0xFB);
    } else {
      put_lstr(&b, s);
    }
  }
  va_end(ap);
  pkt_b(o, seq, &b);
}
/* Native auth accepted, then the session setup's OK. */
static void login(bytes_t *o, uint32_t caps) {
  greeting(o, caps, "mysql_native_password");
  ok_pkt(o, 2, 0, 0, 0, 2);
  ok_pkt(o, 1, 0, 0, 0, 2); /* SET time_zone */
}
/* A one-column text result "x" = v (seq 1..): DEPRECATE_EOF or classic EOFs. */
static void text_result(bytes_t *o, int deprecate, const char *v, uint16_t status) {
  uint8_t s = 1;
  pkt(o, s++, "\x01", 1);
  coldef(o, s++, "x", MYSQL_TYPE_LONG, 0);
  if (!deprecate) {
    eof_pkt(o, s++, 2);
  }
  text_row(o, s++, 1, v);
  if (deprecate) {
    ok_pkt(o, s++, 0xFE, 0, 0, status);
  } else {
    eof_pkt(o, s++, status);
  }
}
/* A prepare answer: id, 1 parameter, 1 column. */
static void prepare_ok(bytes_t *o, int deprecate, uint32_t id, uint16_t nparams) {
  bytes_t b = {0};
  uint8_t s = 1;
  put_u8(&b, 0);
  put_u32(&b, id);
  put_u16(&b, 1);
  put_u16(&b, nparams);
  put_u8(&b, 0);
  put_u16(&b, 0);
  pkt_b(o, s++, &b);
  for (uint16_t i = 0; i < nparams; i++) {
    coldef(o, s++, "?", MYSQL_TYPE_VAR_STRING, 0);
  }
  if (nparams > 0 && !deprecate) {
    eof_pkt(o, s++, 2);
  }
  coldef(o, s++, "a", MYSQL_TYPE_LONGLONG, 0);
  if (!deprecate) {
    eof_pkt(o, s++, 2);
  }
}
/* A binary result: one LONGLONG column "a" = v. */
static void binary_result(bytes_t *o, int deprecate, int64_t v) {
  uint8_t s = 1;
  pkt(o, s++, "\x01", 1);
  coldef(o, s++, "a", MYSQL_TYPE_LONGLONG, 0);
  if (!deprecate) {
    eof_pkt(o, s++, 2);
  }
  bytes_t r = {0};
  put_u8(&r, 0);
  put_u8(&r, 0); /* bitmap: (1 + 9) / 8 = 1 byte */
  put_u32(&r, (uint32_t)v);
  put_u32(&r, (uint32_t)((uint64_t)v >> 32));
  pkt_b(o, s++, &r);
  if (deprecate) {
    ok_pkt(o, s++, 0xFE, 0, 0, 2);
  } else {
    eof_pkt(o, s++, 2);
  }
}

/* ---- drivers ------------------------------------------------------------------------------ */

static uint32_t rnd_state;
static uint32_t rnd(void) {
  rnd_state = rnd_state * 1103515245u + 12345u;
  return rnd_state >> 8;
}

/* chunk: 0 = whole, 1 = byte by byte, -1 = random chunks (seeded). Each chunk is its own heap
 * copy so ASan catches reads past it. */
static void feed(my_conn_t *c, const bytes_t *in, int chunk, uint32_t seed) {
  rnd_state = seed;
  size_t off = 0;
  while (off < in->n) {
    size_t n = chunk == 0 ? in->n - off : chunk == 1 ? 1 : 1 + rnd() % 23;
    if (n > in->n - off) {
      n = in->n - off;
    }
    uint8_t *copy = malloc(n);
    memcpy(copy, in->b + off, n);
    my_conn_feed(c, copy, n);
    free(copy);
    off += n;
  }
}

static my_config_t base_cfg(void) {
  my_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.user = "u";
  cfg.password = "pw";
  cfg.database = "d";
  cfg.stmt_cache_max = 4;
  cfg.ssl_mode = DB_SSL_DISABLE;
  return cfg;
}

/* The client's packets: payload offsets of each, in order. */
typedef struct {
  const uint8_t *p[64];
  size_t n[64];
  uint8_t seq[64];
  int count;
} packets_t;

static void parse_out(const buf_t *out, packets_t *pk) {
  memset(pk, 0, sizeof(*pk));
  const uint8_t *p = buf_begin(out);
  size_t n = buf_size(out), off = 0;
  while (off + 4 <= n && pk->count < 64) {
    size_t len = my_rd24(p + off);
    pk->p[pk->count] = p + off + 4;
    pk->n[pk->count] = len;
    pk->seq[pk->count] = p[off + 3];
    pk->count++;
    off += 4 + len;
  }
}

static int count_cmd(const buf_t *out, uint8_t cmd) {
  packets_t pk;
  parse_out(out, &pk);
  int k = 0;
  for (int i = 0; i < pk.count; i++) {
    k += pk.n[i] > 0 && pk.p[i][0] == cmd && pk.seq[i] == 0;
  }
  return k;
}

/* ---- scenarios ---------------------------------------------------------------------------- */

static const uint32_t int_type[1] = {MYSQL_TYPE_LONGLONG};
static const slice_t one_val[1] = {{(const uint8_t *)"5", 1}};

/* Login, a prepared query, a multi-statement simple query, a second prepared query (cache hit),
 * with or without DEPRECATE_EOF. */
static void session(logger_t *l, int deprecate, int chunk, uint32_t seed, buf_t *out_copy) {
  my_conn_t c;
  my_config_t cfg = base_cfg();
  memset(l, 0, sizeof(*l));
  my_conn_init(&c, &cfg, &handler, l);
  my_conn_query(&c, "select ?", 8, 1, int_type, one_val, "Q1");
  my_conn_simple_query(&c, "select 1; select 2", 18, "Q2");
  my_conn_query(&c, "select ?", 8, 1, int_type, one_val, "Q3");
  bytes_t s = {0};
  login(&s, deprecate ? CAPS_ALL : CAPS_ALL & ~MY_CAP_DEPRECATE_EOF);
  prepare_ok(&s, deprecate, 7, 1);
  binary_result(&s, deprecate, -5);
  text_result(&s, deprecate, "1", 2 | MY_STATUS_MORE_RESULTS);
  /* second result of Q2 continues the sequence ids */
  bytes_t t = {0};
  text_result(&t, deprecate, "2", 2);
  {
    /* shift its sequence ids past the first result's */
    size_t off = 0;
    uint8_t base = deprecate ? 4 : 5;
    while (off < t.n) {
      t.b[off + 3] = (uint8_t)(t.b[off + 3] + base);
      off += 4 + my_rd24(t.b + off);
    }
  }
  put(&s, t.b, t.n);
  free(t.b);
  binary_result(&s, deprecate, 1234567890123ll);
  feed(&c, &s, chunk, seed);
  free(s.b);
  if (out_copy != NULL) {
    buf_append(out_copy, buf_begin(&c.out), buf_size(&c.out));
  }
  buf_clear(&c.out); /* "written" */
  my_conn_terminate(&c);
  if (out_copy != NULL) {
    buf_append(out_copy, buf_begin(&c.out), buf_size(&c.out));
  }
  my_conn_destroy(&c);
}

static void test_session(void) {
  static const char want[] =
      "ready|fields Q1 1 bin: a/8|row Q1: 0:-5|command Q1 0/0|done Q1 ok|"
      "fields Q2 1 text: x/3|row Q2: 0:'1'|command Q2 0/0|fields Q2 1 text: x/3|row Q2: 0:'2'|"
      "command Q2 0/0|done Q2 ok|fields Q3 1 bin: a/8|row Q3: 0:1234567890123|command Q3 0/0|"
      "done Q3 ok|";
  for (int deprecate = 0; deprecate <= 1; deprecate++) {
    logger_t whole, bytes, rnd1, rnd2;
    buf_t out;
    buf_init(&out);
    session(&whole, deprecate, 0, 0, &out);
    session(&bytes, deprecate, 1, 0, NULL);
    session(&rnd1, deprecate, -1, 7, NULL);
    session(&rnd2, deprecate, -1, 99, NULL);
    const char *what = deprecate ? "session (DEPRECATE_EOF)" : "session (classic EOF)";
    CHECK(strcmp(whole.log, want) == 0, what);
    if (strcmp(whole.log, want) != 0) {
      printf("#   got  %s\n#   want %s\n", whole.log, want);
    }
    CHECK(strcmp(whole.log, bytes.log) == 0, "session: byte by byte gives the same events");
    CHECK(strcmp(whole.log, rnd1.log) == 0 && strcmp(whole.log, rnd2.log) == 0,
          "session: random chunks give the same events");
    /* The client's side of it. */
    packets_t pk;
    parse_out(&out, &pk);
    CHECK(pk.count >= 5 && pk.seq[0] == 1, "handshake response has sequence id 1");
    uint32_t caps = my_rd32(pk.p[0]);
    CHECK((caps & MY_CAP_LOCAL_FILES) == 0, "never CLIENT_LOCAL_FILES, even when offered");
    CHECK((caps & MY_CAP_CONNECT_WITH_DB) && (caps & MY_CAP_PROTOCOL_41) &&
              (caps & MY_CAP_PLUGIN_AUTH) && (caps & MY_CAP_CONNECT_ATTRS) &&
              (caps & MY_CAP_MULTI_RESULTS) && (caps & MY_CAP_SSL) == 0,
          "capabilities negotiated");
    CHECK(!!(caps & MY_CAP_DEPRECATE_EOF) == deprecate, "DEPRECATE_EOF only when offered");
    CHECK(pk.p[0][8] == 45, "collation utf8mb4_general_ci (45)");
    uint8_t want_auth[20];
    auth_my_native("pw", scr, 20, want_auth);
    const uint8_t *auth = pk.p[0] + 32 + 2; /* "u\0" */
    CHECK(auth[0] == 20 && memcmp(auth + 1, want_auth, 20) == 0, "native scramble answer");
    CHECK(memmem(pk.p[0], pk.n[0], "\x0c_client_name\x05uvsql", 19) != NULL,
          "connection attribute _client_name=uvsql");
    CHECK(memmem(pk.p[0], pk.n[0], "mysql_native_password", 21) != NULL, "plugin name sent");
    CHECK(pk.n[1] == 25 && memcmp(pk.p[1], "\x03SET time_zone = '+00:00'", 25) == 0 &&
              pk.seq[1] == 0,
          "session setup first, before the held queries");
    CHECK(pk.p[2][0] == MY_COM_STMT_PREPARE && pk.p[3][0] == MY_COM_STMT_EXECUTE &&
              pk.p[4][0] == MY_COM_QUERY && pk.p[5][0] == MY_COM_STMT_EXECUTE,
          "prepare, execute, query, execute (cache hit: no second prepare)");
    CHECK(my_rd32(pk.p[3] + 1) == 7 && my_rd32(pk.p[5] + 1) == 7, "executes use the id 7");
    /* execute: id, flags, iterations, bitmap, bound flag, type, value */
    CHECK(pk.n[3] == 1 + 4 + 1 + 4 + 1 + 1 + 2 + 8 && pk.p[3][11] == 1 &&
              pk.p[3][12] == MYSQL_TYPE_LONGLONG && pk.p[3][14] == 5,
          "execute carries new-params-bound, types and the binary value");
    CHECK(pk.count == 7 && pk.p[6][0] == MY_COM_QUIT, "COM_QUIT on terminate");
    buf_destroy(&out);
  }
}

/* The EXECUTE of a statement being prepared waits, and so does everything queued after it. */
static void test_gate_and_prepare_error(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  my_conn_t c;
  my_config_t cfg = base_cfg();
  my_conn_init(&c, &cfg, &handler, &l);
  bytes_t s = {0};
  login(&s, CAPS_ALL);
  feed(&c, &s, 0, 0);
  free(s.b);
  buf_clear(&c.out);
  my_conn_query(&c, "bad sql", 7, 0, NULL, NULL, "Q1");
  my_conn_simple_query(&c, "select 1", 8, "Q2");
  my_conn_query(&c, "bad sql", 7, 0, NULL, NULL, "Q3"); /* cache hit on a PREPARING entry */
  CHECK(count_cmd(&c.out, MY_COM_STMT_PREPARE) == 1 && count_cmd(&c.out, MY_COM_QUERY) == 0 &&
            count_cmd(&c.out, MY_COM_STMT_EXECUTE) == 0,
        "gate: only the prepare goes out before its answer");
  buf_clear(&c.out);
  s = (bytes_t){0};
  err_pkt(&s, 1, 1064, "42000", "syntax");
  feed(&c, &s, 0, 0);
  free(s.b);
  CHECK(count_cmd(&c.out, MY_COM_QUERY) == 1 && count_cmd(&c.out, MY_COM_STMT_PREPARE) == 1 &&
            count_cmd(&c.out, MY_COM_STMT_EXECUTE) == 0,
        "prepare error: Q1's execute dropped; Q2 goes; Q3 prepares again for itself");
  s = (bytes_t){0};
  text_result(&s, 1, "1", 2);
  prepare_ok(&s, 1, 9, 0);
  feed(&c, &s, 0, 0);
  free(s.b);
  packets_t pk;
  parse_out(&c.out, &pk);
  CHECK(pk.count == 4 && pk.p[2][0] == MY_COM_STMT_EXECUTE && my_rd32(pk.p[2] + 1) == 9 &&
            pk.p[3][0] == MY_COM_STMT_CLOSE && my_rd32(pk.p[3] + 1) == 9,
        "the re-prepared one-shot statement executes, then is closed");
  s = (bytes_t){0};
  binary_result(&s, 1, 3);
  feed(&c, &s, 0, 0);
  free(s.b);
  CHECK(strcmp(l.log, "ready|qerror Q1 1064 42000|done Q1 ok|fields Q2 1 text: x/3|"
                      "row Q2: 0:'1'|command Q2 0/0|done Q2 ok|fields Q3 1 bin: a/8|row Q3: 0:3|"
                      "command Q3 0/0|done Q3 ok|") == 0,
        "prepare error fails that query only; the connection stays usable");
  /* A parameter count the server disagrees with fails only that query. */
  buf_clear(&c.out);
  my_conn_query(&c, "select ?", 8, 0, NULL, NULL, "Q4");
  s = (bytes_t){0};
  prepare_ok(&s, 1, 10, 1);
  feed(&c, &s, 0, 0);
  free(s.b);
  CHECK(strstr(l.log, "done Q4 DB_EARG +err|") != NULL, "parameter count mismatch: DB_EARG");
  CHECK(count_cmd(&c.out, MY_COM_STMT_EXECUTE) == 0, "and it is not executed");
  /* A bad value fails synchronously. */
  const slice_t bad[1] = {{(const uint8_t *)"12x", 3}};
  CHECK_EQ_INT(my_conn_query(&c, "select ?", 8, 1, int_type, bad, "Q5"), DB_EARG,
               "bad integer text: DB_EARG");
  CHECK(strstr(my_conn_arg_error(&c), "parameter 1") != NULL, "with a message");
  CHECK(c.state == MY_ST_READY, "connection still ready");
  my_conn_terminate(&c);
  my_conn_destroy(&c);
}

/* Cache of one: a second text evicts the first (COM_STMT_CLOSE before the new prepare). */
static void test_eviction(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  my_conn_t c;
  my_config_t cfg = base_cfg();
  cfg.stmt_cache_max = 1;
  my_conn_init(&c, &cfg, &handler, &l);
  bytes_t s = {0};
  login(&s, CAPS_ALL);
  feed(&c, &s, 0, 0);
  free(s.b);
  my_conn_query(&c, "select ?", 8, 0, NULL, NULL, "Q1");
  s = (bytes_t){0};
  prepare_ok(&s, 1, 3, 0);
  binary_result(&s, 1, 1);
  feed(&c, &s, 0, 0);
  free(s.b);
  buf_clear(&c.out);
  my_conn_query(&c, "select 2", 8, 0, NULL, NULL, "Q2");
  packets_t pk;
  parse_out(&c.out, &pk);
  CHECK(pk.count == 2 && pk.p[0][0] == MY_COM_STMT_CLOSE && my_rd32(pk.p[0] + 1) == 3 &&
            pk.p[1][0] == MY_COM_STMT_PREPARE,
        "LRU eviction closes the old statement first");
  my_conn_terminate(&c);
  my_conn_destroy(&c);
}

/* Runs a login transcript with the given config and returns the final state; output kept. */
static my_state_t run_auth(my_config_t *cfg, const bytes_t *s, logger_t *l, buf_t *out) {
  my_conn_t c;
  memset(l, 0, sizeof(*l));
  my_conn_init(&c, cfg, &handler, l);
  feed(&c, s, 0, 0);
  if (c.state == MY_ST_TLS) {
    my_conn_tls_ready(&c);
  }
  my_state_t st = c.state;
  if (out != NULL) {
    buf_append(out, buf_begin(&c.out), buf_size(&c.out));
  }
  my_conn_terminate(&c);
  my_conn_destroy(&c);
  return st;
}

static void test_caching_sha2(void) {
  logger_t l;
  my_config_t cfg = base_cfg();
  buf_t out;
  buf_init(&out);
  /* fast path */
  bytes_t s = {0};
  greeting(&s, CAPS_ALL, "caching_sha2_password");
  pkt(&s, 2, "\x01\x03", 2);
  ok_pkt(&s, 3, 0, 0, 0, 2);
  ok_pkt(&s, 1, 0, 0, 0, 2);
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_READY, "caching_sha2 fast path");
  packets_t pk;
  parse_out(&out, &pk);
  uint8_t want[32];
  auth_my_sha2("pw", scr, 20, want);
  CHECK(pk.p[0][34] == 32 && memcmp(pk.p[0] + 35, want, 32) == 0, "sha2 scramble answer");
  free(s.b);
  /* full auth, plaintext TCP, no key, no retrieval: refused with a clear message */
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL, "caching_sha2_password");
  pkt(&s, 2, "\x01\x04", 2);
  buf_clear(&out);
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_FAILED, "full auth without a key refused");
  CHECK(strstr(l.fatal_msg, "allowPublicKeyRetrieval") != NULL, "the message names the option");
  CHECK(memmem(buf_begin(&out), buf_size(&out), "pw\0", 3) == NULL, "no cleartext password sent");
  /* full auth over a unix socket: cleartext */
  cfg.secure_transport = 1;
  ok_pkt(&s, 4, 0, 0, 0, 2);
  ok_pkt(&s, 1, 0, 0, 0, 2);
  buf_clear(&out);
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_READY, "full auth over a secure transport");
  parse_out(&out, &pk);
  CHECK(pk.count >= 2 && pk.seq[1] == 3 && pk.n[1] == 3 && memcmp(pk.p[1], "pw", 3) == 0,
        "password + NUL in cleartext, sequence id 3");
  free(s.b);
  cfg.secure_transport = 0;
  /* full auth over TLS: SSLRequest, TLS, then cleartext */
  cfg.ssl_mode = DB_SSL_REQUIRE;
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL | MY_CAP_SSL, "caching_sha2_password");
  buf_clear(&out);
  run_auth(&cfg, &s, &l, &out);
  parse_out(&out, &pk);
  CHECK(l.tls_started && pk.count >= 2 && pk.n[0] == 32 && pk.seq[0] == 1 &&
            (my_rd32(pk.p[0]) & MY_CAP_SSL) && pk.seq[1] == 2,
        "TLS: a 32-byte SSLRequest (seq 1), then the response (seq 2)");
  free(s.b);
  cfg.ssl_mode = DB_SSL_DISABLE;
  /* RSA with a configured key, and with a fetched key */
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char *pem_p = NULL;
  long pem_len = BIO_get_mem_data(bio, &pem_p);
  char *pem = calloc(1, (size_t)pem_len + 1);
  memcpy(pem, pem_p, (size_t)pem_len);
  for (int fetched = 0; fetched <= 1; fetched++) {
    cfg.server_public_key = fetched ? NULL : pem;
    cfg.allow_public_key_retrieval = fetched;
    s = (bytes_t){0};
    greeting(&s, CAPS_ALL, "caching_sha2_password");
    pkt(&s, 2, "\x01\x04", 2);
    uint8_t seq = 4;
    if (fetched) {
      bytes_t k = {0};
      put_u8(&k, 0x01);
      put(&k, pem, strlen(pem));
      pkt_b(&s, 4, &k);
      seq = 6;
    }
    ok_pkt(&s, seq, 0, 0, 0, 2);
    ok_pkt(&s, 1, 0, 0, 0, 2);
    buf_clear(&out);
    CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_READY,
          fetched ? "RSA with a fetched key (allowPublicKeyRetrieval)" : "RSA with a given key");
    parse_out(&out, &pk);
    int at = fetched ? 2 : 1;
    CHECK(!fetched || (pk.n[1] == 1 && pk.p[1][0] == 0x02), "the key is requested with 0x02");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    uint8_t plain[256];
    size_t plen = sizeof(plain);
    EVP_PKEY_decrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    int ok = pk.count > at && EVP_PKEY_decrypt(ctx, plain, &plen, pk.p[at], pk.n[at]) == 1;
    for (size_t i = 0; ok && i < plen; i++) {
      plain[i] ^= scr[i % 20];
    }
    CHECK(ok && plen == 3 && memcmp(plain, "pw", 3) == 0, "the server decrypts the password");
    EVP_PKEY_CTX_free(ctx);
    free(s.b);
  }
  /* sha256_password: the key is requested with 0x01 in the handshake response itself */
  cfg.server_public_key = NULL;
  cfg.allow_public_key_retrieval = 1;
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL, "sha256_password");
  bytes_t k = {0};
  put_u8(&k, 0x01);
  put(&k, pem, strlen(pem));
  pkt_b(&s, 2, &k);
  ok_pkt(&s, 4, 0, 0, 0, 2);
  ok_pkt(&s, 1, 0, 0, 0, 2);
  buf_clear(&out);
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_READY, "sha256_password with a fetched key");
  parse_out(&out, &pk);
  CHECK(pk.p[0][34] == 1 && pk.p[0][35] == 0x01 && pk.n[1] == 256,
        "sha256_password: 0x01 key request, then the RSA block");
  free(s.b);
  free(pem);
  BIO_free(bio);
  EVP_PKEY_free(key);
  buf_destroy(&out);
}

static void test_auth_switch(void) {
  logger_t l;
  my_config_t cfg = base_cfg();
  buf_t out;
  buf_init(&out);
  bytes_t s = {0};
  greeting(&s, CAPS_ALL, "caching_sha2_password");
  bytes_t sw = {0};
  put_u8(&sw, 0xFE);
  put(&sw, "client_ed25519", 15);
  uint8_t nonce[32];
  for (int i = 0; i < 32; i++) {
    nonce[i] = (uint8_t)(200 - i);
  }
  put(&sw, nonce, 32);
  pkt_b(&s, 2, &sw);
  ok_pkt(&s, 4, 0, 0, 0, 2);
  ok_pkt(&s, 1, 0, 0, 0, 2);
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_READY, "auth switch to client_ed25519");
  packets_t pk;
  parse_out(&out, &pk);
  uint8_t pub[32];
  auth_my_ed25519_public("pw", pub);
  EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = pk.count >= 2 && pk.n[1] == 64 && pk.seq[1] == 3 &&
           EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
           EVP_DigestVerify(ctx, pk.p[1], 64, nonce, 32) == 1;
  CHECK(ok, "the ed25519 answer verifies under the password's key");
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  free(s.b);
  /* a second switch is refused */
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL, "mysql_native_password");
  pkt(&s, 2, "\xFEmysql_native_password\0abcdefghijklmnopqrst\0", 43);
  pkt(&s, 4, "\xFEmysql_native_password\0abcdefghijklmnopqrst\0", 43);
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_FAILED && strstr(l.log, "fatal DB_EPROTO"),
        "a second auth switch is a protocol error");
  free(s.b);
  /* unknown plugin, cleartext refused */
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL, "mysql_native_password");
  pkt(&s, 2, "\xFE" "auth_gssapi_client\0xyz", 23);
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_FAILED && strstr(l.log, "DB_EAUTHMETHOD") &&
            strstr(l.fatal_msg, "auth_gssapi_client"),
        "unknown plugin: DB_EAUTHMETHOD naming it");
  free(s.b);
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL, "mysql_native_password");
  pkt(&s, 2, "\xFEmysql_clear_password\0", 22);
  cfg.allow_cleartext_password = 1;
  buf_clear(&out);
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_FAILED && strstr(l.log, "DB_EAUTHMETHOD"),
        "mysql_clear_password refused without TLS even when allowed");
  CHECK(memmem(buf_begin(&out), buf_size(&out), "pw", 2) == NULL, "and the password not sent");
  cfg.secure_transport = 1;
  ok_pkt(&s, 4, 0, 0, 0, 2);
  ok_pkt(&s, 1, 0, 0, 0, 2);
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_READY, "mysql_clear_password when allowed+secure");
  free(s.b);
  cfg.secure_transport = 0;
  cfg.allow_cleartext_password = 0;
  /* access denied */
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL, "mysql_native_password");
  err_pkt(&s, 2, 1045, "28000", "Access denied");
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_FAILED && strstr(l.log, "fatal DB_EAUTH +err"),
        "ERR 1045 during the handshake: DB_EAUTH with the error");
  free(s.b);
  s = (bytes_t){0};
  err_pkt(&s, 0, 1040, NULL, "Too many connections");
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_FAILED && strstr(l.log, "fatal DB_ESERVER +err"),
        "ERR (no SQLSTATE) instead of a greeting: DB_ESERVER");
  free(s.b);
  buf_destroy(&out);
}

static void test_tls_modes(void) {
  logger_t l;
  my_config_t cfg = base_cfg();
  buf_t out;
  buf_init(&out);
  bytes_t s = {0};
  greeting(&s, CAPS_ALL, "mysql_native_password"); /* no CLIENT_SSL (stripped) */
  cfg.ssl_mode = DB_SSL_REQUIRE;
  CHECK(run_auth(&cfg, &s, &l, &out) == MY_ST_FAILED && strstr(l.log, "DB_ETLSUNAVAILABLE"),
        "require + greeting without CLIENT_SSL: fatal");
  CHECK(buf_size(&out) == 0, "and nothing was sent");
  cfg.ssl_mode = DB_SSL_PREFER;
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_AUTH && !l.tls_started,
        "prefer + no CLIENT_SSL: plaintext handshake");
  free(s.b);
  s = (bytes_t){0};
  greeting(&s, CAPS_ALL | MY_CAP_SSL, "mysql_native_password");
  ok_pkt(&s, 2, 0, 0, 0, 2); /* injected plaintext right behind the greeting */
  cfg.ssl_mode = DB_SSL_REQUIRE;
  CHECK(run_auth(&cfg, &s, &l, NULL) == MY_ST_FAILED && strstr(l.log, "fatal DB_EPROTO"),
        "plaintext bytes after the greeting before TLS are refused");
  free(s.b);
  buf_destroy(&out);
}

static void test_malformed(void) {
  logger_t l;
  my_config_t cfg = base_cfg();
  struct {
    const char *name;
    int code;
  } cases[] = {
    {"sequence id mismatch", DB_EPROTO},
    {"handshake v9 refused", DB_EPROTO},
    {"truncated lenenc in a row", DB_EPROTO},
    {"row with too many cells", DB_EPROTO},
    {"packet over the size limit", DB_ETOOBIG},
    {"empty packet", DB_EPROTO},
    {"packet with nothing in flight", DB_EPROTO},
    {"binary row with a short NULL bitmap", DB_EPROTO},
  };
  for (int i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
    bytes_t s = {0};
    const char *q = "Q";
    cfg.max_payload = 0;
    if (i == 1) {
      pkt(&s, 0, "\x09" "4.0\0", 5);
    } else {
      login(&s, CAPS_ALL);
    }
    switch (i) {
      case 0: pkt(&s, 5, "\x01", 1); break;
      case 2: pkt(&s, 1, "\x01", 1); coldef(&s, 2, "x", 3, 0); pkt(&s, 3, "\xFC\x01", 2); break;
      case 3: pkt(&s, 1, "\x01", 1); coldef(&s, 2, "x", 3, 0); pkt(&s, 3, "\x01" "a\x01" "b", 4); break;
      case 4: cfg.max_payload = 100; pkt(&s, 1, "\x01", 1); s.b[s.n - 5] = 0xFF; break;
      case 5: pkt(&s, 1, "", 0); break;
      case 7: break;
      default: break;
    }
    my_conn_t c;
    memset(&l, 0, sizeof(l));
    my_conn_init(&c, &cfg, &handler, &l);
    if (i == 6) {
      bytes_t extra = {0};
      ok_pkt(&extra, 1, 0, 0, 0, 2);
      put(&s, extra.b, extra.n);
      free(extra.b);
    } else if (i == 7) {
      my_conn_query(&c, "select 1,2,3,4,5,6,7", 20, 0, NULL, NULL, (void *)q);
      prepare_ok(&s, 1, 1, 0);
      pkt(&s, 1, "\x09", 1);
      for (uint8_t k = 0; k < 9; k++) {
        coldef(&s, (uint8_t)(2 + k), "c", MYSQL_TYPE_TINY, 0);
      }
      pkt(&s, 11, "\x00\x00", 2); /* 9 columns need a 2-byte bitmap */
    } else if (i != 1) {
      my_conn_simple_query(&c, "select", 6, (void *)q);
    }
    feed(&c, &s, -1, (uint32_t)i);
    CHECK(c.state == MY_ST_FAILED && c.err == cases[i].code, cases[i].name);
    if (c.err != cases[i].code) {
      printf("#   got %s: %s\n", base_err_name(c.err), c.errmsg);
    }
    my_conn_destroy(&c);
    free(s.b);
  }
}

/* 16 MiB payloads: the server's row split over two packets, and the client's query split. */
static void test_big_packets(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  my_conn_t c;
  my_config_t cfg = base_cfg();
  my_conn_init(&c, &cfg, &handler, &l);
  bytes_t s = {0};
  login(&s, CAPS_ALL);
  feed(&c, &s, 0, 0);
  free(s.b);
  buf_clear(&c.out);
  size_t qlen = MY_PACKET_MAX + 100;
  char *text = malloc(qlen);
  memset(text, ' ', qlen);
  memcpy(text, "select 1", 8);
  my_conn_simple_query(&c, text, qlen, "Q1");
  packets_t pk;
  parse_out(&c.out, &pk);
  CHECK(pk.count == 2 && pk.n[0] == MY_PACKET_MAX && pk.seq[0] == 0 && pk.n[1] == 101 &&
            pk.seq[1] == 1,
        "a query over 16 MiB goes out as two packets (seq 0, 1)");
  /* exact multiple: an empty packet ends it */
  buf_clear(&c.out);
  my_conn_simple_query(&c, text, MY_PACKET_MAX - 1, "Q2");
  parse_out(&c.out, &pk);
  CHECK(pk.count == 2 && pk.n[0] == MY_PACKET_MAX && pk.n[1] == 0,
        "a payload of exactly 16 MiB - 1 + command byte ends with an empty packet");
  /* Q1's answer starts at seq 2: a row of 16 MiB + 3 split in two packets */
  size_t cell = MY_PACKET_MAX;
  bytes_t row = {0};
  put_u8(&row, 0xFD);
  put_u8(&row, (uint8_t)cell);
  put_u8(&row, (uint8_t)(cell >> 8));
  put_u8(&row, (uint8_t)(cell >> 16));
  bytes_t fill = {0};
  fill.b = calloc(1, cell);
  fill.n = cell;
  memset(fill.b, 'z', cell);
  put(&row, fill.b, cell);
  free(fill.b);
  s = (bytes_t){0};
  pkt(&s, 2, "\x01", 1);
  coldef(&s, 3, "x", MYSQL_TYPE_BLOB, 0);
  pkt(&s, 4, row.b, MY_PACKET_MAX);
  pkt(&s, 5, row.b + MY_PACKET_MAX, row.n - MY_PACKET_MAX);
  ok_pkt(&s, 6, 0xFE, 0, 0, 2);
  /* Q2's answer starts at seq 2 too */
  ok_pkt(&s, 2, 0, 0, 0, 2);
  feed(&c, &s, -1, 5);
  CHECK(l.last_row_len == cell + 4, "the reassembled row is handed out whole");
  CHECK(strstr(l.log, "row Q1: 0:<16777215 bytes>|command Q1 0/0|done Q1 ok|command Q2 0/0|"
                      "done Q2 ok|") != NULL,
        "and decodes; the next answer matches by sequence id");
  free(s.b);
  free(row.b);
  free(text);
  my_conn_terminate(&c);
  my_conn_destroy(&c);
}

/* Regression for fuzz/crashes/my_engine-seq-wrap.bin: a result of more than 255 packets wraps
 * the sequence id 255 -> 0; the engine must accept it (and the fuzz build must not report an
 * implicit truncation in my_packet_peek). */
static void test_seq_wrap(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  my_conn_t c;
  my_config_t cfg = base_cfg();
  my_conn_init(&c, &cfg, &handler, &l);
  bytes_t s = {0};
  login(&s, CAPS_ALL);
  feed(&c, &s, 0, 0);
  free(s.b);
  buf_clear(&c.out);
  my_conn_simple_query(&c, "select x", 8, "Q1");
  s = (bytes_t){0};
  pkt(&s, 1, "\x01", 1);
  coldef(&s, 2, "x", MYSQL_TYPE_VAR_STRING, 0);
  unsigned seq = 3;
  for (int i = 0; i < 300; i++) {
    pkt(&s, (uint8_t)(seq++ & 0xff), "\x01" "a", 2);
  }
  ok_pkt(&s, (uint8_t)(seq & 0xff), 0xFE, 0, 0, 2);
  feed(&c, &s, -1, 0);
  CHECK(strstr(l.log, "done Q1 ok") != NULL, "300 rows: the sequence id wraps 255 -> 0");
  /* and the writer wraps too: my_packet_write from seq 255 */
  buf_t out;
  buf_init(&out);
  uint8_t wseq = 255;
  my_packet_write(&out, &wseq, (const uint8_t *)"x", 1);
  CHECK(out.len == 5 && out.data[3] == 255 && wseq == 0, "my_packet_write: 255 then 0");
  buf_destroy(&out);
  free(s.b);
  my_conn_terminate(&c);
  my_conn_destroy(&c);
}

static void test_cancel_errors(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  my_conn_t c;
  my_config_t cfg = base_cfg();
  my_conn_init(&c, &cfg, &handler, &l);
  bytes_t s = {0};
  login(&s, CAPS_ALL);
  feed(&c, &s, 0, 0);
  free(s.b);
  my_conn_simple_query(&c, "select 1", 8, "Q1");
  my_conn_simple_query(&c, "select sleep(10)", 16, "Q2");
  my_conn_simple_query(&c, "insert", 6, "Q3");
  CHECK_EQ_INT(my_conn_request_cancel(&c, "Q1"), 1, "cancel of the running query: now");
  CHECK_EQ_INT(my_conn_request_cancel(&c, "Q2"), 0, "cancel of a queued query: later");
  CHECK_EQ_INT(my_conn_request_cancel(&c, "nope"), DB_EARG, "cancel of an unknown query");
  CHECK_EQ_INT(my_conn_thread_id(&c), 77, "thread id from the greeting");
  buf_clear(&c.out);
  s = (bytes_t){0};
  ok_pkt(&s, 1, 0, 0, 0, 2);
  err_pkt(&s, 1, 1317, "70100", "Query execution was interrupted");
  ok_pkt(&s, 1, 0, 3, 9, 2);
  feed(&c, &s, 1, 0);
  free(s.b);
  CHECK(strcmp(l.log, "ready|command Q1 0/0|cancel-due|done Q1 ok|qerror Q2 1317 70100|"
                      "done Q2 ok|command Q3 3/9|done Q3 ok|") == 0,
        "cancel due when Q2 runs; ERR mapped; OK counts");
  CHECK(c.state == MY_ST_READY, "connection still ready");
  my_conn_fail(&c, DB_ECLOSED, "socket closed");
  CHECK(c.state == MY_ST_FAILED, "my_conn_fail");
  my_conn_destroy(&c);
}

/* RELIABILITY.md 3.6: a LOCAL INFILE request (never offered) drops the connection, with every
 * query on it, and not a byte goes back. */
static void test_infile_request_is_fatal(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  my_conn_t c;
  my_config_t cfg = base_cfg();
  my_conn_init(&c, &cfg, &handler, &l);
  bytes_t s = {0};
  login(&s, CAPS_ALL);
  feed(&c, &s, 0, 0);
  free(s.b);
  my_conn_simple_query(&c, "load data local infile 'x' into table t", 39, "Q1");
  my_conn_simple_query(&c, "select 1", 8, "Q2");
  buf_clear(&c.out);
  s = (bytes_t){0};
  pkt(&s, 1, "\xFB/etc/passwd", 12);
  feed(&c, &s, 1, 0);
  free(s.b);
  CHECK(buf_size(&c.out) == 0, "LOCAL INFILE: nothing is sent back");
  CHECK(strcmp(l.log, "ready|fatal DB_EPROTO|done Q1 DB_EPROTO|done Q2 DB_EPROTO|") == 0,
        "LOCAL INFILE: the connection fails with a protocol error, and its queries with it");
  CHECK(c.state == MY_ST_FAILED, "connection failed");
  my_conn_destroy(&c);
}

/* Decoders over hand-built rows of every type. */
static void test_row_decoders(void) {
  logger_t l;
  memset(&l, 0, sizeof(l));
  static const struct {
    uint8_t type;
    uint16_t flags;
  } cols[] = {
    {MYSQL_TYPE_TINY, 0}, {MYSQL_TYPE_TINY, MY_FLAG_UNSIGNED}, {MYSQL_TYPE_SHORT, 0},
    {MYSQL_TYPE_YEAR, MY_FLAG_UNSIGNED}, {MYSQL_TYPE_INT24, 0}, {MYSQL_TYPE_LONG, 0},
    {MYSQL_TYPE_LONGLONG, MY_FLAG_UNSIGNED}, {MYSQL_TYPE_FLOAT, 0}, {MYSQL_TYPE_DOUBLE, 0},
    {MYSQL_TYPE_DATE, 0}, {MYSQL_TYPE_DATETIME, 0}, {MYSQL_TYPE_TIMESTAMP, 0},
    {MYSQL_TYPE_TIME, 0}, {MYSQL_TYPE_NEWDECIMAL, 0}, {MYSQL_TYPE_BLOB, 0},
    {MYSQL_TYPE_VAR_STRING, 0},
  };
  enum { N = sizeof(cols) / sizeof(cols[0]) };
  db_field_t f[N];
  memset(f, 0, sizeof(f));
  for (int i = 0; i < N; i++) {
    f[i].type_oid = cols[i].type;
    f[i].flags = cols[i].flags;
  }
  bytes_t r = {0};
  put_u8(&r, 0);
  uint8_t bitmap[3] = {0, 0, 0};
  int null_col = 15; /* bit 17 */
  bitmap[(null_col + 2) / 8] |= (uint8_t)(1u << ((null_col + 2) % 8));
  put(&r, bitmap, 3);
  put_u8(&r, 0x80);                      /* -128 */
  put_u8(&r, 0xFF);                      /* 255u */
  put_u16(&r, 0x8000);                   /* -32768 */
  put_u16(&r, 2024);                     /* year */
  put_u32(&r, 0xFF800000u);              /* INT24 -8388608 */
  put_u32(&r, 0x7FFFFFFFu);
  put_u32(&r, 0xFFFFFFFFu);
  put_u32(&r, 0xFFFFFFFFu);              /* 18446744073709551615u */
  float fv = 1.25f;
  uint32_t fb;
  memcpy(&fb, &fv, 4);
  put_u32(&r, fb);
  double dv = -2.5;
  uint64_t db;
  memcpy(&db, &dv, 8);
  put_u32(&r, (uint32_t)db);
  put_u32(&r, (uint32_t)(db >> 32));
  put(&r, "\x04\xe8\x07\x02\x1d", 5);                               /* 2024-02-29 */
  put(&r, "\x0b\xe8\x07\x02\x1d\x0d\x0e\x0f\x40\xe2\x01\x00", 12);  /* .123456 */
  put_u8(&r, 0);                                                     /* zero timestamp */
  put(&r, "\x0c\x01\x02\x00\x00\x00\x03\x04\x05\x10\x27\x00\x00", 13); /* -2d 03:04:05.010000 */
  put(&r, "\x04" "3.14", 5);
  put(&r, "\x03" "a\0b", 4);
  l.nfields = N;
  memcpy(l.fields, f, sizeof(f));
  l.fields[0].format = DB_FORMAT_BINARY;
  int rc = my_row_each_binary(r.b, r.n, f, N, cell_log, &l);
  CHECK_EQ_INT(rc, 0, "binary row: every type decodes");
  static const char want[] =
      " 0:-128 1:255u 2:-32768 3:2024u 4:-8388608 5:2147483647 6:18446744073709551615u 7:1.25"
      " 8:-2.5 9:2024-02-29 00:00:00.000000 10:2024-02-29 13:14:15.123456"
      " 11:0000-00-00 00:00:00.000000 12:-2d03:04:05.010000 13:'3.14' 14:'a' 15:null";
  CHECK(strncmp(l.log, want, strlen(want)) == 0, "binary row values");
  if (strncmp(l.log, want, strlen(want)) != 0) {
    printf("#   got  %s\n", l.log);
  }
  CHECK_EQ_INT(my_row_each_binary(r.b, r.n - 1, f, N, NULL, NULL), DB_EPROTO,
               "binary row: truncated");
  put_u8(&r, 0);
  CHECK_EQ_INT(my_row_each_binary(r.b, r.n, f, N, NULL, NULL), DB_EPROTO,
               "binary row: trailing bytes");
  uint8_t badlen[] = {0, 0, 0x05, 0, 0, 0, 0, 0};
  db_field_t df = {.type_oid = MYSQL_TYPE_DATETIME};
  CHECK_EQ_INT(my_row_each_binary(badlen, sizeof(badlen) - 2, &df, 1, NULL, NULL), DB_EPROTO,
               "binary row: datetime of length 5");
  uint8_t month13[] = {0, 0, 0x04, 0xe8, 0x07, 13, 1};
  CHECK_EQ_INT(my_row_each_binary(month13, sizeof(month13), &df, 1, NULL, NULL), DB_EPROTO,
               "binary row: month 13");
  free(r.b);
  /* text rows */
  memset(&l, 0, sizeof(l));
  uint8_t t1[] = {0x01, 'x', 0xFB, 0xFC, 0x02, 0x00, 'h', 'i', 0x00};
  CHECK_EQ_INT(my_row_each_text(t1, sizeof(t1), 4, cell_log, &l), 0, "text row decodes");
  CHECK(strcmp(l.log, " 0:'x' 1:null 2:'hi' 3:''") == 0, "text row values (lenenc 0xFC, NULL)");
  CHECK_EQ_INT(my_row_each_text(t1, 4, 3, NULL, NULL), DB_EPROTO, "text row: truncated 0xFC");
  uint8_t t2[] = {0xFF};
  CHECK_EQ_INT(my_row_each_text(t2, 1, 1, NULL, NULL), DB_EPROTO, "text row: 0xFF prefix");
  uint8_t t3[] = {0xFE, 1, 0, 0, 0, 0, 0, 0, 0x80};
  CHECK_EQ_INT(my_row_each_text(t3, sizeof(t3), 1, NULL, NULL), DB_EPROTO,
               "text row: 8-byte length past the end (no overflow)");
}

static void test_param_encoding(void) {
  uint32_t types[6] = {MYSQL_TYPE_TINY | MY_PARAM_UNSIGNED, MYSQL_TYPE_SHORT, MYSQL_TYPE_DOUBLE,
                       MYSQL_TYPE_DATETIME, MYSQL_TYPE_DATE, MYSQL_TYPE_VAR_STRING};
  slice_t v[6] = {{(const uint8_t *)"255", 3}, {(const uint8_t *)"-2", 2},
                  {(const uint8_t *)"0.5", 3}, {(const uint8_t *)"2024-01-02 03:04:05", 19},
                  {(const uint8_t *)"2024-01-02", 10}, {NULL, 0}};
  buf_t b;
  buf_init(&b);
  char err[128] = "";
  CHECK_EQ_INT(my_msg_execute(&b, 6, types, v, err, sizeof(err)), 0, "params encode");
  const uint8_t *p = buf_begin(&b);
  CHECK(p[10] == 0x20 && p[11] == 1, "NULL bitmap bit 5 and the bound flag");
  CHECK(p[12] == 1 && p[13] == 0x80 && p[14] == 2 && p[15] == 0, "types with the unsigned flag");
  const uint8_t *val = p + 12 + 12;
  CHECK(val[0] == 255 && val[1] == 0xFE && val[2] == 0xFF, "tiny and short values");
  CHECK(val[11] == 7 && val[12] == 0xe8 && val[13] == 0x07 && val[18] == 5 && val[19] == 4,
        "datetime: 7-byte form; date: 4-byte form");
  CHECK(buf_size(&b) == 24 + 1 + 2 + 8 + 8 + 5, "no bytes for the NULL value");
  buf_clear(&b);
  slice_t over[1] = {{(const uint8_t *)"256", 3}};
  CHECK_EQ_INT(my_msg_execute(&b, 1, types, over, err, sizeof(err)), DB_EARG,
               "256 does not fit an unsigned TINY");
  buf_clear(&b);
  slice_t baddate[1] = {{(const uint8_t *)"2024-13-01", 10}};
  CHECK_EQ_INT(my_msg_execute(&b, 1, types + 3, baddate, err, sizeof(err)), DB_EARG,
               "month 13 refused");
  /* MY_PARAM_BINARY: the 8 wire bytes go out as they are (JS numbers, lib/pool.js). */
  buf_clear(&b);
  const uint8_t wire[8] = {1, 2, 3, 4, 5, 6, 7, 0x80};
  uint32_t bin_types[2] = {MYSQL_TYPE_LONGLONG | MY_PARAM_BINARY, MYSQL_TYPE_DOUBLE | MY_PARAM_BINARY};
  slice_t bin[2] = {{wire, 8}, {wire, 8}};
  CHECK_EQ_INT(my_msg_execute(&b, 2, bin_types, bin, err, sizeof(err)), 0, "binary params encode");
  p = buf_begin(&b);
  CHECK(p[12] == MYSQL_TYPE_LONGLONG && p[13] == 0 && p[14] == MYSQL_TYPE_DOUBLE && p[15] == 0,
        "binary params: the wire types without the flag");
  CHECK(buf_size(&b) == 16 + 16 && memcmp(p + 16, wire, 8) == 0 && memcmp(p + 24, wire, 8) == 0,
        "binary params: their bytes as they are");
  buf_clear(&b);
  uint32_t bad_bin_type = MYSQL_TYPE_LONG | MY_PARAM_BINARY;
  CHECK_EQ_INT(my_msg_execute(&b, 1, &bad_bin_type, bin, err, sizeof(err)), DB_EARG,
               "a binary value only for BIGINT and DOUBLE");
  buf_clear(&b);
  slice_t short_bin[1] = {{wire, 4}};
  CHECK_EQ_INT(my_msg_execute(&b, 1, bin_types, short_bin, err, sizeof(err)), DB_EARG,
               "a binary value is 8 bytes");
  buf_destroy(&b);
}

int main(void) {
  test_session();
  test_gate_and_prepare_error();
  test_eviction();
  test_caching_sha2();
  test_auth_switch();
  test_tls_modes();
  test_malformed();
  test_big_packets();
  test_seq_wrap();
  test_cancel_errors();
  test_infile_request_is_fatal();
  test_row_decoders();
  test_param_encoding();
  return check_summary();
}
