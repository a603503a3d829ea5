/* MySQL message decoders (server packets -> structs of slices) and builders (client payloads).
 * Decoders read through the bounds-checked reader and check they stopped at the payload end.
 * Builders produce unframed payloads; my_packet_write frames them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_err.h"
#include "my_int.h"

/* ---- decoders ----------------------------------------------------------------------------- */

int my_decode_greeting(const uint8_t *p, size_t n, my_greeting_t *g) {
  memset(g, 0, sizeof(*g));
  reader_t r;
  reader_init(&r, p, n);
  (void)reader_u8(&r); /* protocol version, checked by the caller */
  g->version = reader_cstr(&r);
  g->thread_id = reader_u32le(&r);
  slice_t part1 = reader_bytes(&r, 8);
  (void)reader_u8(&r); /* filler */
  g->caps = reader_u16le(&r);
  if (r.err) {
    return DB_EPROTO;
  }
  memcpy(g->scramble, part1.p, 8);
  g->scramble_len = 8;
  if (reader_left(&r) == 0) {
    return 0; /* a minimal greeting: no upper capabilities, no more scramble */
  }
  (void)reader_u8(&r); /* the server's default collation: we ask for our own */
  g->status = reader_u16le(&r);
  g->caps |= (uint32_t)reader_u16le(&r) << 16;
  uint8_t auth_len = reader_u8(&r);
  if (g->caps & MY_CAP_LONG_PASSWORD) {
    (void)reader_bytes(&r, 10); /* reserved (MySQL: CLIENT_MYSQL set) */
  } else {
    (void)reader_bytes(&r, 6);
    g->ext_caps = reader_u32le(&r); /* MariaDB's extended capabilities */
  }
  if (g->caps & MY_CAP_SECURE_CONNECTION) {
    size_t part2_len = auth_len > 8 + 13 ? (size_t)auth_len - 8 : 13;
    /* The remainder is NUL-terminated on every server seen; a shorter greeting is malformed. */
    slice_t part2 = reader_bytes(&r, part2_len);
    if (r.err) {
      return DB_EPROTO;
    }
    size_t take = part2.n;
    if (take > 0 && part2.p[take - 1] == 0) {
      take--;
    }
    if (take > sizeof(g->scramble) - 8) {
      take = sizeof(g->scramble) - 8;
    }
    memcpy(g->scramble + 8, part2.p, take);
    g->scramble_len = 8 + take;
  }
  if (g->caps & MY_CAP_PLUGIN_AUTH) {
    /* Some servers omit the final NUL (MySQL bug #59453): then the name is the rest. */
    const uint8_t *start = r.p + r.pos;
    size_t left = reader_left(&r);
    const uint8_t *nul = left > 0 ? memchr(start, 0, left) : NULL;
    g->plugin.p = start;
    g->plugin.n = nul != NULL ? (size_t)(nul - start) : left;
    r.pos += nul != NULL ? g->plugin.n + 1 : left;
  }
  return r.err ? DB_EPROTO : 0;
}

int my_decode_ok(const uint8_t *p, size_t n, my_ok_t *ok) {
  memset(ok, 0, sizeof(*ok));
  reader_t r;
  reader_init(&r, p, n);
  uint8_t h = reader_u8(&r);
  if (h != 0x00 && h != 0xFE) {
    return DB_EPROTO;
  }
  ok->affected_rows = reader_lenenc(&r);
  ok->last_insert_id = reader_lenenc(&r);
  ok->status = reader_u16le(&r);
  ok->warnings = reader_u16le(&r);
  /* Without CLIENT_SESSION_TRACK the rest is the human-readable info string. */
  ok->info = reader_bytes(&r, reader_left(&r));
  return reader_finished(&r) ? 0 : DB_EPROTO;
}

int my_decode_err(const uint8_t *p, size_t n, db_error_t *e) {
  memset(e, 0, sizeof(*e));
  reader_t r;
  reader_init(&r, p, n);
  if (reader_u8(&r) != 0xFF) {
    return DB_EPROTO;
  }
  e->number = reader_u16le(&r);
  if (r.err) {
    return DB_EPROTO;
  }
  /* 4.1 servers put '#' + SQLSTATE first; errors before the handshake may lack it. */
  if (reader_left(&r) >= 6 && r.p[r.pos] == '#') {
    r.pos++;
    e->code = reader_bytes(&r, 5);
  }
  e->message = reader_bytes(&r, reader_left(&r));
  return reader_finished(&r) ? 0 : DB_EPROTO;
}

int my_decode_eof(const uint8_t *p, size_t n, my_ok_t *ok) {
  memset(ok, 0, sizeof(*ok));
  reader_t r;
  reader_init(&r, p, n);
  if (reader_u8(&r) != 0xFE) {
    return DB_EPROTO;
  }
  ok->warnings = reader_u16le(&r);
  ok->status = reader_u16le(&r);
  return reader_finished(&r) ? 0 : DB_EPROTO;
}

/* MariaDB's extended metadata: (u8 key, lenenc value) pairs; key 1 is the format, "json" for
 * JSON columns. 1 for a JSON column, 0 otherwise, -1 when malformed. */
static int ext_meta_is_json(slice_t meta) {
  reader_t r;
  reader_init(&r, meta.p, meta.n);
  int json = 0;
  while (!r.err && reader_left(&r) > 0) {
    uint8_t key = reader_u8(&r);
    slice_t v = reader_lenenc_str(&r);
    if (!r.err && key == 1 && v.n == 4 && memcmp(v.p, "json", 4) == 0) {
      json = 1;
    }
  }
  return r.err ? -1 : json;
}

int my_decode_column(const uint8_t *p, size_t n, db_field_t *f, int ext_meta) {
  memset(f, 0, sizeof(*f));
  reader_t r;
  reader_init(&r, p, n);
  (void)reader_lenenc_str(&r); /* catalog ("def") */
  (void)reader_lenenc_str(&r); /* schema */
  (void)reader_lenenc_str(&r); /* table alias */
  (void)reader_lenenc_str(&r); /* table */
  f->name = reader_lenenc_str(&r);
  (void)reader_lenenc_str(&r); /* original name */
  int json = 0;
  if (ext_meta) {
    json = ext_meta_is_json(reader_lenenc_str(&r));
    if (r.err || json < 0) {
      return DB_EPROTO;
    }
  }
  uint64_t fixed = reader_lenenc(&r);
  if (r.err || fixed < 10 || fixed > reader_left(&r)) {
    return DB_EPROTO;
  }
  size_t end = r.pos + (size_t)fixed;
  f->charset = reader_u16le(&r);
  uint32_t length = reader_u32le(&r);
  f->type_oid = reader_u8(&r);
  f->flags = reader_u16le(&r);
  f->decimals = reader_u8(&r);
  f->type_len = -1;
  f->type_mod = length > 0x7fffffffu ? -1 : (int32_t)length;
  if (json) {
    f->type_oid = MYSQL_TYPE_JSON; /* a MariaDB JSON column: read it as MySQL's JSON type */
  }
  /* Two filler bytes follow; MariaDB may extend the fixed block: skip what it announced. */
  r.pos = r.err ? r.pos : end;
  return reader_finished(&r) ? 0 : DB_EPROTO;
}

/* ---- builders ----------------------------------------------------------------------------- */

static int put_u16le(buf_t *b, uint16_t v) {
  uint8_t t[2];
  my_wr16(t, v);
  return buf_append(b, t, 2);
}

static int put_u32le(buf_t *b, uint32_t v) {
  uint8_t t[4];
  my_wr32(t, v);
  return buf_append(b, t, 4);
}

static int put_lenenc(buf_t *b, uint64_t v) {
  uint8_t t[9];
  size_t k;
  if (v < 0xFB) {
    t[0] = (uint8_t)v;
    k = 1;
  } else if (v <= 0xFFFF) {
    t[0] = 0xFC;
    my_wr16(t + 1, (uint16_t)v);
    k = 3;
  } else if (v <= 0xFFFFFF) {
    t[0] = 0xFD;
    my_wr24(t + 1, (uint32_t)v);
    k = 4;
  } else {
    t[0] = 0xFE;
    my_wr32(t + 1, (uint32_t)v);
    my_wr32(t + 5, (uint32_t)(v >> 32));
    k = 9;
  }
  return buf_append(b, t, k);
}

static int put_lenenc_str(buf_t *b, const void *p, size_t n) {
  int rc = put_lenenc(b, n);
  return rc == 0 ? buf_append(b, p, n) : rc;
}

/* The fixed 32-byte head shared by SSLRequest and HandshakeResponse41. */
/* ext_caps go in the last 4 of the 23 reserved bytes (MariaDB; 0 for MySQL). */
static int put_client_head(buf_t *out, uint32_t caps, uint32_t ext_caps) {
  static const uint8_t zeros[19];
  int rc = put_u32le(out, caps);
  if (rc == 0) {
    rc = put_u32le(out, MY_PACKET_MAX); /* max packet we accept: one whole packet */
  }
  if (rc == 0) {
    rc = buf_put_u8(out, MY_COLLATION_UTF8MB4);
  }
  if (rc == 0) {
    rc = buf_append(out, zeros, sizeof(zeros));
  }
  return rc == 0 ? put_u32le(out, ext_caps) : rc;
}

int my_msg_ssl_request(buf_t *out, uint32_t caps, uint32_t ext_caps) {
  return put_client_head(out, caps, ext_caps);
}

int my_msg_handshake_response(buf_t *out, uint32_t caps, uint32_t ext_caps, const char *user,
                              const uint8_t *auth, size_t auth_len, const char *database,
                              const char *plugin, const buf_t *attrs) {
  int rc = put_client_head(out, caps, ext_caps);
  if (rc == 0) {
    rc = buf_put_cstr(out, user);
  }
  if (rc == 0 && (caps & MY_CAP_PLUGIN_AUTH_LENENC)) {
    rc = put_lenenc_str(out, auth, auth_len);
  } else if (rc == 0) {
    if (auth_len > 255) {
      return DB_ETOOBIG;
    }
    rc = buf_put_u8(out, (uint8_t)auth_len);
    if (rc == 0) {
      rc = buf_append(out, auth, auth_len);
    }
  }
  if (rc == 0 && (caps & MY_CAP_CONNECT_WITH_DB)) {
    rc = buf_put_cstr(out, database);
  }
  if (rc == 0 && (caps & MY_CAP_PLUGIN_AUTH)) {
    rc = buf_put_cstr(out, plugin);
  }
  if (rc == 0 && (caps & MY_CAP_CONNECT_ATTRS)) {
    rc = put_lenenc_str(out, buf_begin(attrs), buf_size(attrs));
  }
  return rc;
}

int my_msg_attrs(buf_t *out, const char *const *attrs) {
  int rc = put_lenenc_str(out, "_client_name", 12);
  if (rc == 0) {
    rc = put_lenenc_str(out, "uvsql", 5);
  }
  for (size_t i = 0; rc == 0 && attrs != NULL && attrs[i] != NULL && attrs[i + 1] != NULL;
       i += 2) {
    if (strcmp(attrs[i], "_client_name") == 0) {
      continue;
    }
    rc = put_lenenc_str(out, attrs[i], strlen(attrs[i]));
    if (rc == 0) {
      rc = put_lenenc_str(out, attrs[i + 1], strlen(attrs[i + 1]));
    }
  }
  return rc;
}

int my_msg_command(buf_t *out, uint8_t command, const void *arg, size_t n) {
  int rc = buf_put_u8(out, command);
  return rc == 0 && n > 0 ? buf_append(out, arg, n) : rc;
}

void my_msg_patch_stmt_id(buf_t *payload, uint32_t id) {
  my_wr32(payload->data + payload->head + 1, id);
}

/* ---- parameter values from text ----------------------------------------------------------- */

/* A bounded, NUL-terminated copy of a value (values are not NUL-terminated). */
static int value_cstr(slice_t v, char *dst, size_t cap) {
  if (v.n >= cap || (v.n > 0 && memchr(v.p, 0, v.n) != NULL)) {
    return -1;
  }
  memcpy(dst, v.p, v.n);
  dst[v.n] = '\0';
  return 0;
}

static int put_int_param(buf_t *out, uint32_t type, int is_unsigned, slice_t v, char *err,
                         size_t errlen) {
  char s[32];
  size_t width = type == MYSQL_TYPE_TINY ? 1 : type == MYSQL_TYPE_SHORT ? 2
               : type == MYSQL_TYPE_LONG ? 4 : 8;
  if (value_cstr(v, s, sizeof(s)) < 0 || s[0] == '\0' || s[0] == ' ' ||
      (is_unsigned && s[0] == '-')) {
    snprintf(err, errlen, "not an integer");
    return DB_EARG;
  }
  char *end = NULL;
  errno = 0;
  uint64_t bits;
  if (is_unsigned) {
    unsigned long long u = strtoull(s, &end, 10);
    uint64_t lim = width == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * width)) - 1;
    if (errno != 0 || *end != '\0' || u > lim) {
      snprintf(err, errlen, "not an unsigned integer of %zu bytes", width);
      return DB_EARG;
    }
    bits = u;
  } else {
    long long x = strtoll(s, &end, 10);
    int64_t hi = width == 8 ? INT64_MAX : ((int64_t)1 << (8 * width - 1)) - 1;
    int64_t lo = -hi - 1;
    if (errno != 0 || *end != '\0' || x > hi || x < lo) {
      snprintf(err, errlen, "not an integer of %zu bytes", width);
      return DB_EARG;
    }
    bits = (uint64_t)x;
  }
  uint8_t t[8];
  for (size_t i = 0; i < width; i++) {
    t[i] = (uint8_t)(bits >> (8 * i));
  }
  return buf_append(out, t, width);
}

static int put_float_param(buf_t *out, uint32_t type, slice_t v, char *err, size_t errlen) {
  char s[400];
  char *end = NULL;
  if (value_cstr(v, s, sizeof(s)) < 0 || s[0] == '\0') {
    snprintf(err, errlen, "not a number");
    return DB_EARG;
  }
  double d = strtod(s, &end);
  if (*end != '\0' || !isfinite(d)) {
    snprintf(err, errlen, "not a finite number");
    return DB_EARG;
  }
  uint8_t t[8];
  if (type == MYSQL_TYPE_FLOAT) {
    float f = (float)d;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    my_wr32(t, bits);
    return buf_append(out, t, 4);
  }
  uint64_t bits;
  memcpy(&bits, &d, 8);
  my_wr32(t, (uint32_t)bits);
  my_wr32(t + 4, (uint32_t)(bits >> 32));
  return buf_append(out, t, 8);
}

/* Reads exactly `k` digits at s[*i]. */
static int digits(const char *s, size_t n, size_t *i, size_t k, int *out) {
  int v = 0;
  for (size_t j = 0; j < k; j++, (*i)++) {
    if (*i >= n || s[*i] < '0' || s[*i] > '9') {
      return -1;
    }
    v = v * 10 + (s[*i] - '0');
  }
  *out = v;
  return 0;
}

/* 'YYYY-MM-DD[( |T)HH:MM:SS[.f{1,6}]]' -> the binary DATE/DATETIME value. */
static int put_datetime_param(buf_t *out, slice_t v, char *err, size_t errlen) {
  const char *s = (const char *)v.p;
  size_t n = v.n, i = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0, us = 0;
  int ok = digits(s, n, &i, 4, &y) == 0 && i < n && s[i++] == '-' &&
           digits(s, n, &i, 2, &mo) == 0 && i < n && s[i++] == '-' &&
           digits(s, n, &i, 2, &d) == 0;
  int has_time = ok && i < n;
  if (has_time) {
    ok = (s[i] == ' ' || s[i] == 'T') && (++i, 1) && digits(s, n, &i, 2, &h) == 0 && i < n &&
         s[i++] == ':' && digits(s, n, &i, 2, &mi) == 0 && i < n && s[i++] == ':' &&
         digits(s, n, &i, 2, &sec) == 0;
    if (ok && i < n) {
      ok = s[i++] == '.';
      size_t k = 0;
      for (; ok && i < n && k < 6 && s[i] >= '0' && s[i] <= '9'; i++, k++) {
        us = us * 10 + (s[i] - '0');
      }
      ok = ok && k > 0 && i == n;
      for (; k < 6; k++) {
        us *= 10;
      }
    }
  }
  if (!ok || mo > 12 || d > 31 || h > 23 || mi > 59 || sec > 59) {
    snprintf(err, errlen, "not a date 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]'");
    return DB_EARG;
  }
  uint8_t t[12];
  uint8_t len = us != 0 ? 11 : (has_time && (h | mi | sec)) ? 7 : 4;
  t[0] = len;
  my_wr16(t + 1, (uint16_t)y);
  t[3] = (uint8_t)mo;
  t[4] = (uint8_t)d;
  t[5] = (uint8_t)h;
  t[6] = (uint8_t)mi;
  t[7] = (uint8_t)sec;
  my_wr32(t + 8, (uint32_t)us);
  return buf_append(out, t, (size_t)len + 1);
}

/* The type actually sent: INT24 and YEAR travel as LONG and SHORT values. */
static uint32_t wire_type(uint32_t type) {
  return type == MYSQL_TYPE_INT24 ? MYSQL_TYPE_LONG
       : type == MYSQL_TYPE_YEAR ? MYSQL_TYPE_SHORT : type;
}

static int put_param(buf_t *out, uint32_t type, int is_unsigned, slice_t v, char *err,
                     size_t errlen) {
  switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
      return put_int_param(out, type, is_unsigned, v, err, errlen);
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
      return put_float_param(out, type, v, err, errlen);
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
      return put_datetime_param(out, v, err, errlen);
    default:
      return put_lenenc_str(out, v.p, v.n);
  }
}

int my_msg_execute(buf_t *out, uint16_t nparams, const uint32_t *types, const slice_t *values,
                   char *errbuf, size_t errlen) {
  int rc = buf_put_u8(out, MY_COM_STMT_EXECUTE);
  if (rc == 0) {
    rc = put_u32le(out, 0); /* statement id, patched when it goes out */
  }
  if (rc == 0) {
    rc = buf_put_u8(out, 0); /* CURSOR_TYPE_NO_CURSOR */
  }
  if (rc == 0) {
    rc = put_u32le(out, 1); /* iteration count */
  }
  if (rc < 0 || nparams == 0) {
    return rc;
  }
  size_t bitmap_at = buf_size(out);
  size_t bitmap_len = ((size_t)nparams + 7) / 8;
  for (size_t i = 0; rc == 0 && i < bitmap_len; i++) {
    rc = buf_put_u8(out, 0);
  }
  if (rc == 0) {
    rc = buf_put_u8(out, 1); /* new-params-bound: types follow, every time */
  }
  for (uint16_t i = 0; rc == 0 && i < nparams; i++) {
    uint32_t t = types != NULL ? types[i] : MYSQL_TYPE_VAR_STRING;
    rc = put_u16le(out, (uint16_t)((wire_type(t & 0xFFu)) |
                                   ((t & MY_PARAM_UNSIGNED) ? 0x8000u : 0u)));
  }
  for (uint16_t i = 0; rc == 0 && i < nparams; i++) {
    if (values[i].p == NULL) {
      out->data[out->head + bitmap_at + i / 8] |= (uint8_t)(1u << (i % 8));
      continue;
    }
    uint32_t t = types != NULL ? types[i] : MYSQL_TYPE_VAR_STRING;
    char why[96] = "";
    if ((t & MY_PARAM_BINARY) != 0) {
      uint32_t wt = wire_type(t & 0xFFu);
      if (values[i].n != 8 || (wt != MYSQL_TYPE_LONGLONG && wt != MYSQL_TYPE_DOUBLE)) {
        snprintf(errbuf, errlen, "parameter %u: a binary value must be an 8-byte BIGINT or DOUBLE",
                 (unsigned)i + 1);
        return DB_EARG;
      }
      rc = buf_append(out, values[i].p, 8);
      continue;
    }
    rc = put_param(out, wire_type(t & 0xFFu), (t & MY_PARAM_UNSIGNED) != 0, values[i], why,
                   sizeof(why));
    if (rc == DB_EARG) {
      snprintf(errbuf, errlen, "parameter %u: %s", (unsigned)i + 1, why);
    }
  }
  return rc;
}
