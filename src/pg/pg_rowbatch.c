/* Decoding DataRows into row batches. The text parsers mirror lib/types.js exactly: what C
 * cannot read the same way stays text, and JS parses it. Binary-format columns: pg_binary.c. */
#include "pg_rowbatch.h"

#include <stdlib.h>
#include <string.h>

#include "../base/base_bytes.h"
#include "../base/base_err.h"
#include "../base/base_rowbatch.h"
#include "pg_binary.h"

row_cell_kind_t pg_cell_kind(uint32_t oid) {
  switch (oid) {
    case 21:  /* int2 */
    case 23:  /* int4 */
    case 26:  /* oid */
    case 28:  /* xid */
    case 29:  /* cid */
    case 700: /* float4 */
    case 701: /* float8 */
      return ROW_CELL_NUMBER;
    case 16:
      return ROW_CELL_BOOL;
    case 114:  /* json */
    case 3802: /* jsonb */
      return ROW_CELL_JSON;
    case 1082: /* date */
    case 1114: /* timestamp */
    case 1184: /* timestamptz */
      return ROW_CELL_TIME;
    default:
      return ROW_CELL_TEXT;
  }
}

int pg_rowbatch_set_fields(rowbatch_t *b, const db_field_t *fields, uint16_t n, int all_text) {
  int rc = rowbatch_start(b, n, all_text);
  for (uint16_t i = 0; rc == 0 && i < n; i++) {
    b->kinds[i] = (uint8_t)(all_text ? ROW_CELL_TEXT : pg_cell_kind(fields[i].type_oid));
  }
  /* A column in binary format needs its type and format at each cell: b->cols, kept only
   * then (raw mode hands every cell over as its bytes). A recycled batch may still hold the
   * columns of an earlier binary result: b->cols != NULL must mean "these columns". */
  int binary = 0;
  for (uint16_t i = 0; !all_text && i < n; i++) {
    binary |= fields[i].format != 0;
  }
  if (rc == 0 && binary) {
    rc = rowbatch_keep_cols(b, fields, n);
  }
  if ((rc < 0 || !binary) && b->cols != NULL) {
    free(b->cols);
    b->cols = NULL;
    b->cols_cap = 0;
  }
  return rc;
}

/* ---- cell parsers ----------------------------------------------------------------------- */

static int digits(const uint8_t *p, size_t at, size_t count, size_t n, int *out) {
  if (at + count > n) {
    return -1;
  }
  int v = 0;
  for (size_t k = 0; k < count; k++) {
    uint8_t c = p[at + k];
    if (c < '0' || c > '9') {
      return -1;
    }
    v = v * 10 + (c - '0');
  }
  *out = v;
  return 0;
}

/* "YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]][ BC]" (ISO DateStyle). Fractions below a
 * millisecond are truncated, as lib/types.js and new Date(string) do. */
int pg_parse_time(const uint8_t *p, size_t n, double *ms) {
  size_t i = 0;
  int64_t year = 0;
  /* PostgreSQL's dates end in year 5874897: seven digits. More could overflow the ms below. */
  while (i < n && p[i] >= '0' && p[i] <= '9' && i < 7) {
    year = year * 10 + (p[i] - '0');
    i++;
  }
  int month, day;
  if (i < 4 || i >= n || p[i] != '-' || digits(p, i + 1, 2, n, &month) < 0 || i + 3 >= n ||
      p[i + 3] != '-' || digits(p, i + 4, 2, n, &day) < 0) {
    return -1;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) {
    return -1;
  }
  i += 6;
  int64_t t = 0;
  if (i < n && p[i] == ' ' && i + 9 <= n && p[i + 3] == ':' && p[i + 6] == ':') {
    int hh, mm, ss;
    if (digits(p, i + 1, 2, n, &hh) < 0 || digits(p, i + 4, 2, n, &mm) < 0 ||
        digits(p, i + 7, 2, n, &ss) < 0) {
      return -1;
    }
    t = (int64_t)hh * 3600000 + (int64_t)mm * 60000 + (int64_t)ss * 1000;
    i += 9;
    if (i < n && p[i] == '.') {
      int f = 0, k = 0;
      i++;
      while (i < n && p[i] >= '0' && p[i] <= '9') {
        if (k < 3) {
          f = f * 10 + (p[i] - '0');
        }
        k++;
        i++;
      }
      if (k == 0) {
        return -1;
      }
      t += k >= 3 ? f : k == 2 ? f * 10 : f * 100;
    }
    if (i < n && (p[i] == '+' || p[i] == '-')) {
      int sign = p[i] == '+' ? 1 : -1;
      int oh, om = 0, os = 0;
      if (digits(p, i + 1, 2, n, &oh) < 0) {
        return -1;
      }
      i += 3;
      if (i < n && p[i] == ':') {
        if (digits(p, i + 1, 2, n, &om) < 0) {
          return -1;
        }
        i += 3;
        if (i < n && p[i] == ':') {
          if (digits(p, i + 1, 2, n, &os) < 0) {
            return -1;
          }
          i += 3;
        }
      }
      t -= sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000 + (int64_t)os * 1000);
    }
  }
  if (i + 3 == n && p[i] == ' ' && p[i + 1] == 'B' && p[i + 2] == 'C') {
    year = 1 - year; /* year N BC is astronomical year 1 - N */
    i = n;
  }
  if (i != n) {
    return -1;
  }
  *ms = (double)(rowbatch_days_from_civil(year, month, day) * 86400000 + t);
  return 0;
}

/* ---- rows --------------------------------------------------------------------------------- */

int pg_rowbatch_add(rowbatch_t *b, const uint8_t *body, size_t n) {
  uint16_t ncols = rd_u16be(body);
  if (ncols != b->ncols) {
    return DB_EPROTO;
  }
  int rc = rowbatch_row_begin(b);
  size_t off = 2;
  for (uint16_t c = 0; rc == 0 && c < ncols; c++) {
    int32_t len = (int32_t)rd_u32be(body + off);
    off += 4;
    if (len < 0) {
      rowbatch_put_null(b);
      continue;
    }
    const uint8_t *cell = body + off;
    size_t clen = (size_t)len;
    off += clen;
    if (b->cols != NULL && b->cols[c].format != 0 && b->cols[c].type_oid != PG_OID_BINARY_COLUMN) {
      rc = pg_binary_put(b, b->cols[c].type_oid, cell, clen);
      continue;
    }
    double v = 0;
    int decoded = -1;
    switch ((row_cell_kind_t)b->kinds[c]) {
      case ROW_CELL_NUMBER:
        decoded = rowbatch_parse_number(cell, clen, &v);
        break;
      case ROW_CELL_BOOL:
        if (clen == 1 && (cell[0] == 't' || cell[0] == 'f')) {
          v = cell[0] == 't';
          decoded = 0;
        }
        break;
      case ROW_CELL_TIME:
        decoded = pg_parse_time(cell, clen, &v);
        break;
      default:
        break;
    }
    if (decoded == 0) {
      rowbatch_put_value(b, v);
    } else if (b->kinds[c] == ROW_CELL_JSON) {
      rc = rowbatch_put_json(b, cell, clen);
    } else {
      rc = rowbatch_put_text(b, cell, clen);
    }
  }
  (void)n;
  if (rc == 0) {
    b->nrows++;
  }
  return rc;
}
