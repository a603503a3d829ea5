/* PostgreSQL binary-format cells (see pg_binary.h). Layouts: PostgreSQL's *send functions
 * (int4send, float8send, boolsend, timestamp_send, array_send): big-endian, fixed sizes. */
#include "pg_binary.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../base/base_buf.h"
#include "../base/base_bytes.h"
#include "../base/base_err.h"

enum {
  OID_BOOL = 16, OID_BYTEA = 17, OID_CHAR = 18, OID_NAME = 19, OID_INT2 = 21, OID_INT4 = 23,
  OID_TEXT = 25, OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_INT2_ARRAY = 1005,
  OID_INT4_ARRAY = 1007, OID_FLOAT4_ARRAY = 1021,
  OID_FLOAT8_ARRAY = 1022, OID_BPCHAR = 1042, OID_VARCHAR = 1043, OID_TIMESTAMP = 1114,
  OID_TIMESTAMPTZ = 1184,
};

/* PostgreSQL's MAXDIM: no array has more dimensions. */
#define ARRAY_MAX_DIMS 6
/* Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch. */
#define PG_EPOCH_MS 946684800000.0

uint32_t pg_binary_column_type(uint32_t oid) {
  switch (oid) {
    case OID_INT4_ARRAY:
      return PG_OID_BINARY_INT4_ARRAY;
    case OID_FLOAT4_ARRAY:
      return PG_OID_BINARY_FLOAT4_ARRAY;
    case OID_BOOL: case OID_BYTEA: case OID_CHAR: case OID_NAME: case OID_INT4: case OID_TEXT:
    case OID_JSON: case OID_FLOAT4: case OID_FLOAT8: case OID_INT2_ARRAY: case OID_FLOAT8_ARRAY:
    case OID_BPCHAR: case OID_VARCHAR: case OID_TIMESTAMP: case OID_TIMESTAMPTZ:
      return oid;
    default:
      return PG_OID_BINARY_COLUMN;
  }
}

static uint64_t rd_u64be(const uint8_t *p) {
  return ((uint64_t)rd_u32be(p) << 32) | rd_u32be(p + 4);
}

static double rd_float8(const uint8_t *p) {
  uint64_t bits = rd_u64be(p);
  double v;
  memcpy(&v, &bits, sizeof v);
  /* A NaN's payload bits are the server's: JS gets the one canonical NaN. */
  return isnan(v) ? NAN : v;
}

static double rd_float4(const uint8_t *p) {
  uint32_t bits = rd_u32be(p);
  float v;
  memcpy(&v, &bits, sizeof v);
  return isnan(v) ? NAN : (double)v; /* the float32's exact value, as Bun.SQL gives it */
}

/* An array's element type and element size for the array types decoded here; 0 otherwise. */
static size_t array_element(uint32_t type, uint32_t *elem) {
  switch (type) {
    case OID_INT2_ARRAY:
      *elem = OID_INT2;
      return 2;
    case PG_OID_BINARY_INT4_ARRAY:
      *elem = OID_INT4;
      return 4;
    case PG_OID_BINARY_FLOAT4_ARRAY:
      *elem = OID_FLOAT4;
      return 4;
    case OID_FLOAT8_ARRAY:
      *elem = OID_FLOAT8;
      return 8;
    default:
      return 0;
  }
}

/* array_send: i32 ndim, i32 has-nulls flag, u32 element type, ndim x (i32 length, i32 lower
 * bound), then every element as i32 length (-1: NULL) and its bytes. On success
 * the dimensions are in dims[0..ndim). */
static int check_array(uint32_t type, const uint8_t *p, size_t n, int32_t *dims, int *ndim) {
  uint32_t elem;
  size_t esize = array_element(type, &elem);
  if (esize == 0 || n < 12) {
    return -1;
  }
  int32_t nd = (int32_t)rd_u32be(p);
  uint32_t flags = rd_u32be(p + 4);
  if (nd < 0 || nd > ARRAY_MAX_DIMS || flags > 1 || rd_u32be(p + 8) != elem ||
      n - 12 < (size_t)nd * 8) {
    return -1;
  }
  size_t off = 12;
  /* Each element takes at least its 4-byte length: more than n / 4 cannot fit, which also
   * keeps the product below any overflow. */
  uint64_t count = nd > 0 ? 1 : 0;
  for (int d = 0; d < nd; d++) {
    int32_t len = (int32_t)rd_u32be(p + off);
    if (len < 0) {
      return -1;
    }
    dims[d] = len;
    count *= (uint64_t)len;
    if (count > n / 4) {
      return -1;
    }
    off += 8;
  }
  for (uint64_t i = 0; i < count; i++) {
    if (n - off < 4) {
      return -1;
    }
    int32_t len = (int32_t)rd_u32be(p + off);
    off += 4;
    if (len == -1) {
      continue;
    }
    if ((size_t)len != esize || n - off < esize) {
      return -1;
    }
    off += esize;
  }
  *ndim = nd;
  return off == n ? 0 : -1;
}

int pg_binary_check(uint32_t type, const uint8_t *p, size_t n) {
  int32_t dims[ARRAY_MAX_DIMS];
  int ndim;
  switch (type) {
    case OID_INT4:
    case OID_FLOAT4:
      return n == 4 ? 0 : -1;
    case OID_FLOAT8:
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
      return n == 8 ? 0 : -1;
    case OID_BOOL:
      return n == 1 && p[0] <= 1 ? 0 : -1;
    case OID_INT2_ARRAY:
    case PG_OID_BINARY_INT4_ARRAY:
    case PG_OID_BINARY_FLOAT4_ARRAY:
    case OID_FLOAT8_ARRAY:
      return check_array(type, p, n, dims, &ndim);
    case PG_OID_BINARY_COLUMN:
      return -1;
    default:
      return 0; /* text, varchar, bpchar, name, "char", bytea, json: any bytes */
  }
}

/* timestamp_send: i64 microseconds from 2000-01-01; INT64_MIN/MAX are -infinity/infinity,
 * which go as the text format's words so lib/types.js reads them as it reads the text. */
static int put_timestamp(rowbatch_t *b, const uint8_t *p) {
  int64_t us = (int64_t)rd_u64be(p);
  if (us == INT64_MAX || us == INT64_MIN) {
    const char *word = us == INT64_MAX ? "infinity" : "-infinity";
    return rowbatch_put_text(b, (const uint8_t *)word, strlen(word));
  }
  /* Below a millisecond is floored, as the text format's truncated fraction is. */
  int64_t ms = us / 1000 - (us % 1000 < 0 ? 1 : 0);
  rowbatch_put_value(b, (double)ms + PG_EPOCH_MS);
  return 0;
}

static int put_bytea(rowbatch_t *b, const uint8_t *p, size_t n, buf_t *tmp) {
  static const char hex[] = "0123456789abcdef";
  if (buf_reserve(tmp, 2 + 2 * n) < 0) {
    return DB_ENOMEM;
  }
  uint8_t *o = tmp->data + tmp->len;
  *o++ = '\\';
  *o++ = 'x';
  for (size_t i = 0; i < n; i++) {
    *o++ = (uint8_t)hex[p[i] >> 4];
    *o++ = (uint8_t)hex[p[i] & 15];
  }
  tmp->len += 2 + 2 * n;
  return rowbatch_put_text(b, tmp->data, tmp->len);
}

/* One element as the text format writes it; a float with 17 significant digits, which reads
 * back as the same double (a float4's is its float32 value, as Bun.SQL gives it). */
static int put_element(buf_t *tmp, uint32_t type, const uint8_t *p) {
  char s[32];
  int k;
  if (type == OID_INT2_ARRAY) {
    k = snprintf(s, sizeof s, "%d", (int16_t)rd_u16be(p));
  } else if (type == PG_OID_BINARY_INT4_ARRAY) {
    k = snprintf(s, sizeof s, "%d", (int32_t)rd_u32be(p));
  } else {
    double v = type == PG_OID_BINARY_FLOAT4_ARRAY ? rd_float4(p) : rd_float8(p);
    k = isnan(v) ? snprintf(s, sizeof s, "NaN")
        : isinf(v) ? snprintf(s, sizeof s, v > 0 ? "Infinity" : "-Infinity")
                   : snprintf(s, sizeof s, "%.17g", v);
  }
  return buf_append(tmp, s, (size_t)k);
}

/* The array as its text literal ({1,NULL,3}, {{1,2},{3,4}}; lower bounds dropped, as
 * lib/types.js drops them from the text). Checked by check_array. */
static int put_array(rowbatch_t *b, uint32_t type, const uint8_t *p, size_t n, buf_t *tmp) {
  int32_t dims[ARRAY_MAX_DIMS];
  int ndim;
  if (check_array(type, p, n, dims, &ndim) < 0) {
    return DB_EPROTO;
  }
  int32_t at[ARRAY_MAX_DIMS] = {0};
  size_t off = 12 + (size_t)ndim * 8;
  int rc = buf_put_u8(tmp, '{');
  int empty = ndim == 0;
  for (int d = 0; d < ndim; d++) {
    empty |= dims[d] == 0;
  }
  if (!empty) {
    for (int d = 1; rc == 0 && d < ndim; d++) {
      rc = buf_put_u8(tmp, '{');
    }
    while (rc == 0) {
      int32_t len = (int32_t)rd_u32be(p + off);
      off += 4;
      if (len < 0) {
        rc = buf_append(tmp, "NULL", 4);
      } else {
        rc = put_element(tmp, type, p + off);
        off += (size_t)len;
      }
      /* Next index, innermost first: close a brace for each dimension that wrapped. */
      int d = ndim - 1;
      while (d >= 0 && ++at[d] == dims[d]) {
        at[d] = 0;
        d--;
      }
      if (d < 0) {
        break;
      }
      for (int k = d + 1; rc == 0 && k < ndim; k++) {
        rc = buf_put_u8(tmp, '}');
      }
      if (rc == 0) {
        rc = buf_put_u8(tmp, ',');
      }
      for (int k = d + 1; rc == 0 && k < ndim; k++) {
        rc = buf_put_u8(tmp, '{');
      }
    }
    for (int d = 1; rc == 0 && d < ndim; d++) {
      rc = buf_put_u8(tmp, '}');
    }
  }
  if (rc == 0) {
    rc = buf_put_u8(tmp, '}');
  }
  return rc < 0 ? DB_ENOMEM : rowbatch_put_text(b, tmp->data, tmp->len);
}

int pg_binary_put(rowbatch_t *b, uint32_t type, const uint8_t *p, size_t n) {
  if (pg_binary_check(type, p, n) < 0) {
    return DB_EPROTO;
  }
  buf_t tmp;
  int rc = 0;
  switch (type) {
    case OID_INT4:
      rowbatch_put_value(b, (double)(int32_t)rd_u32be(p));
      return 0;
    case OID_FLOAT4:
      rowbatch_put_value(b, rd_float4(p));
      return 0;
    case OID_FLOAT8:
      rowbatch_put_value(b, rd_float8(p));
      return 0;
    case OID_BOOL:
      rowbatch_put_value(b, p[0]);
      return 0;
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
      return put_timestamp(b, p);
    case OID_JSON:
      return rowbatch_put_json(b, p, n);
    case OID_BYTEA:
      buf_init(&tmp);
      rc = put_bytea(b, p, n, &tmp);
      buf_destroy(&tmp);
      return rc;
    case OID_INT2_ARRAY:
    case PG_OID_BINARY_INT4_ARRAY:
    case PG_OID_BINARY_FLOAT4_ARRAY:
    case OID_FLOAT8_ARRAY:
      buf_init(&tmp);
      rc = put_array(b, type, p, n, &tmp);
      buf_destroy(&tmp);
      return rc;
    default:
      return rowbatch_put_text(b, p, n);
  }
}
