/* MySQL rows -> row batches. Each cell is decoded by my_row.c and placed by kind. */
#include "my_rowbatch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base_bytes.h"
#include "../base/base_err.h"
#include "my_row.h"
#include "mysql.h"

#define MY_BINARY_COLLATION 63

static int is_binary(const db_field_t *f) {
  return f->charset == MY_BINARY_COLLATION;
}

uint32_t my_field_js_type(const db_field_t *f) {
  /* BIT(1) is a flag: Bun.SQL returns it as a boolean, wider BIT(n) as bytes. */
  uint32_t bit1 = f->type_oid == MYSQL_TYPE_BIT && f->type_mod == 1 ? 0x400u : 0u;
  return (f->type_oid & 0xffu) | ((f->flags & MY_FLAG_UNSIGNED) != 0 ? 0x100u : 0u) |
         (is_binary(f) ? 0x200u : 0u) | bit1;
}

static row_cell_kind_t my_cell_kind(const db_field_t *f) {
  switch (f->type_oid) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_LONGLONG: /* a number when it fits 32 bits, else text: put_bigint_cell */
      return ROW_CELL_NUMBER;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
      return ROW_CELL_TIME;
    case MYSQL_TYPE_JSON:
      /* Text in a character set: into the batch's JSON array. Binary-collated JSON stays a
       * latin1-carried text cell, as before. */
      return is_binary(f) ? ROW_CELL_TEXT : ROW_CELL_JSON;
    default:
      return ROW_CELL_TEXT; /* DECIMAL, TIME, strings */
  }
}

int my_rowbatch_set_fields(rowbatch_t *b, const db_field_t *fields, uint16_t n, int all_text) {
  int rc = rowbatch_start(b, n, all_text);
  if (rc == 0) {
    rc = rowbatch_keep_cols(b, fields, n);
  }
  for (uint16_t i = 0; rc == 0 && i < n; i++) {
    b->kinds[i] = (uint8_t)(all_text ? ROW_CELL_TEXT : my_cell_kind(&fields[i]));
  }
  return rc;
}

/* ---- values -> text ---------------------------------------------------------------------- */

static int put_printf(rowbatch_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put_printf(rowbatch_t *b, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    return DB_EPROTO;
  }
  return rowbatch_put_text(b, (const uint8_t *)tmp, (size_t)n);
}

/* An integer as decimal text: BIGINT goes to JS as text (it decides number, string or BigInt);
 * vsnprintf cost about 0.1 us per cell here. */
static int put_integer(rowbatch_t *b, uint64_t magnitude, int negative) {
  uint8_t tmp[21];
  uint8_t *at = wr_u64_decimal_back(tmp + sizeof(tmp), magnitude);
  if (negative) {
    *--at = '-';
  }
  return rowbatch_put_text(b, at, (size_t)(tmp + sizeof(tmp) - at));
}

/* A FLOAT column's value as the server prints it: the shortest decimal that reads back as the
 * same float (the binary protocol hands it over as a float; widened, 1.1 would be
 * 1.100000023841858). */
static double float_value(double widened) {
  float f = (float)widened;
  char tmp[32];
  for (int digits = 1; digits <= 9; digits++) {
    snprintf(tmp, sizeof(tmp), "%.*g", digits, (double)f);
    double back = strtod(tmp, NULL);
    if ((float)back == f) {
      return back;
    }
  }
  return widened;
}

/* TIME: [-]H...H:MM:SS[.ffffff], with as many fraction digits as the column declares. */
static int put_time(rowbatch_t *b, const my_cell_t *cell, int decimals) {
  long hours = (long)cell->time.days * 24 + cell->time.hour;
  if (decimals > 0 && decimals <= 6) {
    int micro = cell->time.micro;
    for (int k = decimals; k < 6; k++) {
      micro /= 10;
    }
    return put_printf(b, "%s%02ld:%02d:%02d.%0*d", cell->time.negative ? "-" : "", hours,
                      cell->time.minute, cell->time.second, decimals, micro);
  }
  return put_printf(b, "%s%02ld:%02d:%02d", cell->time.negative ? "-" : "", hours,
                    cell->time.minute, cell->time.second);
}

static int put_datetime_text(rowbatch_t *b, const my_cell_t *cell) {
  return put_printf(b, "%04d-%02d-%02d %02d:%02d:%02d.%06d", cell->dt.year, cell->dt.month,
                    cell->dt.day, cell->dt.hour, cell->dt.minute, cell->dt.second,
                    cell->dt.micro);
}

/* Epoch milliseconds of a UTC date-time; -1 for the zero date (no Date can hold it). */
static int datetime_ms(int y, int mo, int d, int h, int mi, int s, int micro, double *ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    return -1;
  }
  int64_t days = rowbatch_days_from_civil(y, mo, d);
  *ms = (double)(days * 86400000 + ((int64_t)h * 3600 + mi * 60 + s) * 1000 + micro / 1000);
  return 0;
}

static int digits_at(const uint8_t *p, size_t n, size_t at, size_t count, int *out) {
  if (at + count > n) {
    return -1;
  }
  int v = 0;
  for (size_t k = 0; k < count; k++) {
    if (p[at + k] < '0' || p[at + k] > '9') {
      return -1;
    }
    v = v * 10 + (p[at + k] - '0');
  }
  *out = v;
  return 0;
}

/* 'YYYY-MM-DD[ HH:MM:SS[.f{1,6}]]' (the text protocol's DATE/DATETIME/TIMESTAMP). */
static int parse_datetime_text(const uint8_t *p, size_t n, double *ms) {
  int y, mo, d, h = 0, mi = 0, s = 0, micro = 0;
  if (digits_at(p, n, 0, 4, &y) || n < 10 || p[4] != '-' || digits_at(p, n, 5, 2, &mo) ||
      p[7] != '-' || digits_at(p, n, 8, 2, &d)) {
    return -1;
  }
  if (n > 10) {
    if (n < 19 || p[10] != ' ' || digits_at(p, n, 11, 2, &h) || p[13] != ':' ||
        digits_at(p, n, 14, 2, &mi) || p[16] != ':' || digits_at(p, n, 17, 2, &s)) {
      return -1;
    }
    if (n > 19) {
      size_t frac = n - 20;
      if (p[19] != '.' || frac < 1 || frac > 6 || digits_at(p, n, 20, frac, &micro)) {
        return -1;
      }
      for (size_t k = frac; k < 6; k++) {
        micro *= 10;
      }
    }
  }
  return datetime_ms(y, mo, d, h, mi, s, micro, ms);
}

/* ---- cells ------------------------------------------------------------------------------- */

static int put_bytes(rowbatch_t *b, const db_field_t *f, slice_t v) {
  if (is_binary(f) && !b->all_text) {
    return rowbatch_put_latin1(b, v.p, v.n);
  }
  return rowbatch_put_text(b, v.p, v.n);
}

static int put_number_cell(rowbatch_t *b, const db_field_t *f, const my_cell_t *cell) {
  double v;
  switch (cell->kind) {
    case MY_CELL_INT:
      rowbatch_put_value(b, (double)cell->i);
      return 0;
    case MY_CELL_UINT:
      rowbatch_put_value(b, (double)cell->u);
      return 0;
    case MY_CELL_DOUBLE:
      rowbatch_put_value(b, f->type_oid == MYSQL_TYPE_FLOAT ? float_value(cell->d) : cell->d);
      return 0;
    case MY_CELL_BYTES:
      if (rowbatch_parse_number(cell->bytes.p, cell->bytes.n, &v) == 0) {
        rowbatch_put_value(b, v);
        return 0;
      }
      return rowbatch_put_text(b, cell->bytes.p, cell->bytes.n);
    default:
      return DB_EPROTO;
  }
}

/* BIGINT as Bun.SQL returns it: a number when it fits int32 (UNSIGNED: uint32), else decimal
 * text, which JS keeps as a string or makes a BigInt (`bigint: true`). Decided here, where the
 * binary value is at hand: JS used to range-check the text of every cell (a parser call and a
 * Number() per value), now it only sees the values that do not fit. */
static int fits_32(double v, int is_unsigned) {
  return is_unsigned ? v >= 0 && v <= 4294967295.0 : v >= -2147483648.0 && v <= 2147483647.0;
}

static int put_text_cell(rowbatch_t *b, const db_field_t *f, const my_cell_t *cell);

static int put_bigint_cell(rowbatch_t *b, const db_field_t *f, const my_cell_t *cell) {
  int is_unsigned = (f->flags & MY_FLAG_UNSIGNED) != 0;
  double v;
  switch (cell->kind) {
    case MY_CELL_INT:
      if (fits_32((double)cell->i, is_unsigned)) {
        rowbatch_put_value(b, (double)cell->i);
        return 0;
      }
      return put_text_cell(b, f, cell);
    case MY_CELL_UINT:
      if (cell->u <= (is_unsigned ? 4294967295u : 2147483647u)) {
        rowbatch_put_value(b, (double)cell->u);
        return 0;
      }
      return put_text_cell(b, f, cell);
    case MY_CELL_BYTES: {
      /* The text protocol: what JS's Number() reads, unless it is longer than '-2147483648'
       * without a leading zero (ZEROFILL pads them), which fits neither range. */
      const uint8_t *p = cell->bytes.p;
      size_t n = cell->bytes.n;
      int too_long = n > 11 && p[0] != '0' && !(p[0] == '-' && p[1] == '0');
      if (!too_long && rowbatch_parse_number(p, n, &v) == 0 && fits_32(v, is_unsigned)) {
        rowbatch_put_value(b, v);
        return 0;
      }
      return put_text_cell(b, f, cell);
    }
    default:
      return DB_EPROTO;
  }
}

static int put_time_cell(rowbatch_t *b, const my_cell_t *cell) {
  double ms;
  if (cell->kind == MY_CELL_DATETIME) {
    if (datetime_ms(cell->dt.year, cell->dt.month, cell->dt.day, cell->dt.hour, cell->dt.minute,
                    cell->dt.second, cell->dt.micro, &ms) == 0) {
      rowbatch_put_value(b, ms);
      return 0;
    }
    return put_datetime_text(b, cell); /* the zero date: JS makes it an Invalid Date */
  }
  if (cell->kind == MY_CELL_BYTES) {
    if (parse_datetime_text(cell->bytes.p, cell->bytes.n, &ms) == 0) {
      rowbatch_put_value(b, ms);
      return 0;
    }
    return rowbatch_put_text(b, cell->bytes.p, cell->bytes.n);
  }
  return DB_EPROTO;
}

/* Any cell as text: raw mode, and the columns JS parses (BIGINT, DECIMAL, TIME, strings). */
static int put_text_cell(rowbatch_t *b, const db_field_t *f, const my_cell_t *cell) {
  switch (cell->kind) {
    case MY_CELL_BYTES:
      return put_bytes(b, f, cell->bytes);
    case MY_CELL_INT:
      /* The magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64. */
      return put_integer(b, cell->i < 0 ? 0 - (uint64_t)cell->i : (uint64_t)cell->i, cell->i < 0);
    case MY_CELL_UINT:
      return put_integer(b, cell->u, 0);
    case MY_CELL_DOUBLE:
      return put_printf(b, "%.17g",
                        f->type_oid == MYSQL_TYPE_FLOAT ? float_value(cell->d) : cell->d);
    case MY_CELL_DATETIME:
      return put_datetime_text(b, cell);
    case MY_CELL_TIME:
      return put_time(b, cell, f->decimals);
    default:
      return DB_EPROTO;
  }
}

static int on_cell(void *arg, uint16_t col, const my_cell_t *cell) {
  rowbatch_t *b = arg;
  const db_field_t *f = &b->cols[col];
  if (cell->kind == MY_CELL_NULL) {
    rowbatch_put_null(b);
    return 0;
  }
  switch ((row_cell_kind_t)b->kinds[col]) {
    case ROW_CELL_NUMBER:
      return f->type_oid == MYSQL_TYPE_LONGLONG ? put_bigint_cell(b, f, cell)
                                                : put_number_cell(b, f, cell);
    case ROW_CELL_TIME:
      return put_time_cell(b, cell);
    case ROW_CELL_JSON:
      if (cell->kind == MY_CELL_BYTES) {
        return rowbatch_put_json(b, cell->bytes.p, cell->bytes.n);
      }
      return put_text_cell(b, f, cell);
    default:
      return put_text_cell(b, f, cell);
  }
}

int my_rowbatch_add(rowbatch_t *b, const uint8_t *payload, size_t n) {
  if (b->cols == NULL) {
    return DB_EPROTO;
  }
  int rc = rowbatch_row_begin(b);
  if (rc < 0) {
    return rc;
  }
  if (b->ncols > 0 && b->cols[0].format == DB_FORMAT_BINARY) {
    rc = my_row_each_binary(payload, n, b->cols, b->ncols, on_cell, b);
  } else {
    rc = my_row_each_text(payload, n, b->ncols, on_cell, b);
  }
  if (rc != 0) {
    /* Cells already placed belong to a row that will never be counted: drop the batch's
     * partial row by failing; the caller fails the query. */
    return rc < 0 ? rc : DB_EPROTO;
  }
  b->nrows++;
  return 0;
}
