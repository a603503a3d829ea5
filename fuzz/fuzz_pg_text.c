/* Fuzz target pg_text: the C text-cell decoders of src/pg/pg_rowbatch.c on one cell.
 *
 *  - pg_parse_time, differentially against a transcription of lib/types.js parseIsoTime (the JS
 *    fallback that reads every time value C leaves as text): whenever C decodes a value, JS must
 *    read the same text as the same Date. Both must agree exactly while the value is a valid
 *    Date (|t| <= 8.64e15 ms); outside that range JS makes an Invalid Date from either, so C's
 *    value only has to be finite there.
 *  - the UTF-8 text appender (append_text, reached through a raw-text row batch): the text area
 *    is valid UTF-8, a valid cell is copied byte for byte, an invalid byte becomes one U+FFFD,
 *    and the UTF-16 end offset equals what JS counts.
 *  - the number decoder (through a number column): a cell C decodes must be a JS
 *    StrDecimalLiteral (or NaN/Infinity), so that Number(text) would give the same value, and
 *    that value must be strtod's (the decimal fast path divides instead).
 *  - json/jsonb cells: the batch's JSON array (the batch checker walks it).
 *
 *  - the same bytes as a binary-format cell (src/pg/pg_binary.c): refused, or decoded within
 *    the cell into a consistent batch.
 *
 * Input: byte 0 selects the column type of the extra row batch (int4, float8, bool, timestamptz,
 * date, text, jsonb: byte 0 % 7) and of the binary cell (byte 0 >> 3: int4, float4, float8,
 * bool, timestamp, timestamptz, json, bytea, text, "char", int4[], float8[], int2[], float4[]);
 * the rest is the cell.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/base/base_err.h"
#include "../src/pg/pg_binary.h"
#include "../src/pg/pg_rowbatch.h"
#include "fuzz_util.h"

#define DATE_MAX_MS 8.64e15

/* ---- lib/types.js parseIsoTime, transcribed (JS numbers are doubles; charCodeAt past the end
 * is NaN, which makes every comparison false and every sum NaN) ---------------------------- */

static double js_char(const uint8_t *s, size_t n, size_t i) {
  return i < n ? (double)s[i] : NAN;
}

static double js_digits2(const uint8_t *s, size_t n, size_t i) {
  return (js_char(s, n, i) - 48) * 10 + js_char(s, n, i + 1) - 48;
}

static double js_trunc32(double x) {
  /* x | 0 for the small non-negative values daysFromCivil uses */
  return isfinite(x) ? trunc(x) : 0;
}

static double js_days_from_civil(double y, double m, double d) {
  if (m <= 2) {
    y -= 1;
  }
  double era = floor(y / 400);
  double yoe = y - era * 400;
  double doy = js_trunc32((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + js_trunc32(yoe / 4) - js_trunc32(yoe / 100) + doy - 719468;
}

static double js_tail(const uint8_t *s, size_t n, size_t i, double year, double month, double day,
                      double ms) {
  if (i + 3 != n || js_char(s, n, i) != 32 || js_char(s, n, i + 1) != 66 ||
      js_char(s, n, i + 2) != 67) {
    return NAN;
  }
  return js_days_from_civil(1 - year, month, day) * 86400000 + ms;
}

/* The JS string is the cell decoded as UTF-8; for the ASCII layouts C accepts, bytes and UTF-16
 * units coincide, so indexing bytes is faithful whenever C decodes the cell. */
static double js_parse_iso_time(const uint8_t *s, size_t n) {
  size_t i = 4;
  double year;
  if (js_char(s, n, 4) == 45) {
    year = js_digits2(s, n, 0) * 100 + js_digits2(s, n, 2);
  } else {
    year = 0;
    i = 0;
    for (double c = js_char(s, n, 0); c >= 48 && c <= 57; c = js_char(s, n, ++i)) {
      year = year * 10 + c - 48;
    }
    if (i < 4 || js_char(s, n, i) != 45) {
      return NAN;
    }
  }
  if (js_char(s, n, i + 3) != 45) {
    return NAN;
  }
  double month = js_digits2(s, n, i + 1);
  double day = js_digits2(s, n, i + 4);
  i += 6;
  double ms = 0;
  if (i < n) {
    if (js_char(s, n, i) != 32 || js_char(s, n, i + 3) != 58 || js_char(s, n, i + 6) != 58) {
      return js_tail(s, n, i, year, month, day, 0);
    }
    ms = js_digits2(s, n, i + 1) * 3600000 + js_digits2(s, n, i + 4) * 60000 +
         js_digits2(s, n, i + 7) * 1000;
    i += 9;
    if (i < n && js_char(s, n, i) == 46) {
      double f = 0;
      int k = 0;
      double c = 0;
      while (++i < n && (c = js_char(s, n, i)) >= 48 && c <= 57) {
        if (k < 3) {
          f = f * 10 + c - 48;
        }
        k++;
      }
      ms += k >= 3 ? f : k == 2 ? f * 10 : f * 100;
    }
    if (i < n) {
      double sign = js_char(s, n, i);
      if (sign == 43 || sign == 45) {
        double offset = js_digits2(s, n, i + 1) * 3600000;
        i += 3;
        if (i < n && js_char(s, n, i) == 58) {
          offset += js_digits2(s, n, i + 1) * 60000;
          i += 3;
          if (i < n && js_char(s, n, i) == 58) {
            offset += js_digits2(s, n, i + 1) * 1000;
            i += 3;
          }
        }
        ms = sign == 43 ? ms - offset : ms + offset;
      }
      if (i < n) {
        return js_tail(s, n, i, year, month, day, ms);
      }
    }
  }
  return js_days_from_civil(year, month, day) * 86400000 + ms;
}

/* new Date(t).getTime(): TimeClip. */
static double js_time_clip(double t) {
  if (!isfinite(t) || fabs(t) > DATE_MAX_MS) {
    return NAN;
  }
  return trunc(t) + 0.0;
}

static void check_time(const uint8_t *p, size_t n) {
  double ms = 0;
  if (pg_parse_time(p, n, &ms) != 0) {
    return;
  }
  FUZZ_CHECK(isfinite(ms), "pg_parse_time gave %g", ms);
  double js = js_parse_iso_time(p, n);
  double c_date = js_time_clip(ms);
  double js_date = js_time_clip(js);
  if (isnan(c_date) && isnan(js_date)) {
    return; /* both Invalid Date */
  }
  FUZZ_CHECK(c_date == js_date, "'%.*s': C %.17g ms, lib/types.js %.17g ms", (int)n,
             (const char *)p, ms, js);
}

/* ---- numbers: JS StrDecimalLiteral, or the three words Number() also reads ------------------ */

static int js_decimal_literal(const uint8_t *p, size_t n) {
  size_t i = 0;
  if (n == 3 && memcmp(p, "NaN", 3) == 0) {
    return 1;
  }
  if (i < n && (p[i] == '+' || p[i] == '-')) {
    i++;
  }
  if (n - i == 8 && memcmp(p + i, "Infinity", 8) == 0) {
    return 1;
  }
  size_t int_digits = 0, frac_digits = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') {
    i++;
    int_digits++;
  }
  if (i < n && p[i] == '.') {
    i++;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
      i++;
      frac_digits++;
    }
  }
  if (int_digits + frac_digits == 0) {
    return 0;
  }
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-')) {
      i++;
    }
    size_t exp_digits = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
      i++;
      exp_digits++;
    }
    if (exp_digits == 0) {
      return 0;
    }
  }
  return i == n;
}

/* ---- row batches of one cell --------------------------------------------------------------- */

typedef struct {
  uint8_t *data;
  size_t size;
} taken_t;

/* A one-column, one-row batch with `cell`; returns the serialized batch (caller frees). */
static taken_t one_cell(uint32_t oid, uint16_t format, int all_text, const uint8_t *cell, size_t n) {
  taken_t t = {NULL, 0};
  size_t body_n = 2 + 4 + n;
  uint8_t *body = malloc(body_n);
  if (body == NULL) {
    return t;
  }
  body[0] = 0;
  body[1] = 1;
  body[2] = (uint8_t)(n >> 24);
  body[3] = (uint8_t)(n >> 16);
  body[4] = (uint8_t)(n >> 8);
  body[5] = (uint8_t)n;
  if (n > 0) {
    memcpy(body + 6, cell, n);
  }
  db_field_t f;
  memset(&f, 0, sizeof(f));
  f.type_oid = oid;
  f.format = format;
  rowbatch_t b;
  rowbatch_init(&b);
  if (pg_rowbatch_set_fields(&b, &f, 1, all_text) == 0) {
    int rc = pg_rowbatch_add(&b, body, body_n);
    /* A binary datum without its type's layout is refused, and only that. */
    int bad = format == 1 && !all_text && pg_binary_check(oid, cell, n) < 0;
    FUZZ_CHECK(rc == 0 || rc == DB_ENOMEM || (bad && rc == DB_EPROTO), "pg_rowbatch_add: %d", rc);
    if (rc == 0) {
      t.size = rowbatch_size(&b);
      t.data = malloc(t.size);
      if (t.data != NULL) {
        rowbatch_take(&b, t.data);
        fuzz_check_batch(t.data, t.size, 1);
      }
    }
  }
  rowbatch_destroy(&b);
  free(body);
  return t;
}

/* Where the text area and the one cell's tag and value are in a one-cell batch (24-byte
 * header, kinds padded to 8, one value, one tag padded to 8; base_rowbatch.h). */
static const uint8_t *cell_text(const taken_t *t, size_t *len, uint8_t *tag, double *val) {
  const uint8_t *vals = t->data + 24 + 8;
  memcpy(val, vals, 8);
  *tag = vals[8];
  *len = fuzz_rd_u32le(t->data + 8);
  return vals + 8 + 8;
}

/* A raw-text cell: valid UTF-8 is kept byte for byte; otherwise each invalid byte became one
 * U+FFFD, so the length grew by exactly 2 bytes per replacement. */
static void check_utf8(const uint8_t *p, size_t n) {
  taken_t t = one_cell(25, 0, 1, p, n);
  if (t.data == NULL) {
    return;
  }
  size_t len;
  uint8_t tag;
  double end;
  const uint8_t *text = cell_text(&t, &len, &tag, &end);
  FUZZ_CHECK(tag == 2, "raw text cell with tag %u", tag);
  long units = fuzz_utf8_utf16_len(text, len);
  FUZZ_CHECK(units >= 0 && end == (double)units, "end %.17g, %ld UTF-16 units", end, units);
  if (fuzz_utf8_utf16_len(p, n) >= 0) {
    FUZZ_CHECK(len == n && memcmp(text, p, n) == 0, "valid UTF-8 was altered");
  } else {
    size_t repl = 0;
    for (size_t i = 0; i + 3 <= len; i++) {
      if (memcmp(text + i, "\xef\xbf\xbd", 3) == 0) {
        repl++;
      }
    }
    FUZZ_CHECK(repl >= 1 && len <= n + 2 * repl, "invalid UTF-8: %zu bytes -> %zu, %zu U+FFFD",
               n, len, repl);
  }
  free(t.data);
}

static void check_typed(uint8_t sel, const uint8_t *p, size_t n) {
  static const uint32_t oids[] = {23, 701, 16, 1184, 1082, 25, 3802};
  uint32_t oid = oids[sel % (sizeof(oids) / sizeof(oids[0]))];
  taken_t t = one_cell(oid, 0, 0, p, n);
  if (t.data == NULL) {
    return;
  }
  size_t len;
  uint8_t tag;
  double v;
  (void)cell_text(&t, &len, &tag, &v);
  if (tag == 1) {
    row_cell_kind_t kind = pg_cell_kind(oid);
    if (kind == ROW_CELL_NUMBER) {
      FUZZ_CHECK(js_decimal_literal(p, n), "'%.*s' decoded as %.17g, but Number() gives NaN",
                 (int)n, (const char *)p, v);
      char tmp[512];
      if (n < sizeof(tmp) && isfinite(v)) {
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        double want = strtod(tmp, NULL);
        FUZZ_CHECK(memcmp(&want, &v, sizeof(v)) == 0, "'%s' decoded as %.17g, strtod gives %.17g",
                   tmp, v, want);
      }
    } else if (kind == ROW_CELL_BOOL) {
      FUZZ_CHECK(n == 1 && (p[0] == 't' || p[0] == 'f'), "bool from %zu bytes", n);
    } else if (kind == ROW_CELL_TIME) {
      double ms = 0;
      FUZZ_CHECK(pg_parse_time(p, n, &ms) == 0 && ms == v, "time cell %.17g", v);
    }
  }
  free(t.data);
}

/* The same bytes as a binary-format cell (src/pg/pg_binary.c) of one of the types decoded
 * there: every datum is either refused by pg_binary_check or decoded into a consistent batch
 * (ASan: never read past the cell); a fixed-size value is the one the bytes encode, an array
 * is one brace-balanced {...} literal. */
static void check_binary(uint8_t sel, const uint8_t *p, size_t n) {
  static const uint32_t oids[] = {23, 700, 701, 16, 1114, 1184, 114, 17, 25, 18,
                                  PG_OID_BINARY_INT4_ARRAY, 1022, 1005, PG_OID_BINARY_FLOAT4_ARRAY};
  uint32_t oid = oids[(sel >> 3) % (sizeof(oids) / sizeof(oids[0]))];
  taken_t t = one_cell(oid, 1, 0, p, n);
  if (t.data == NULL) {
    return;
  }
  size_t len;
  uint8_t tag;
  double v;
  const uint8_t *text = cell_text(&t, &len, &tag, &v);
  if (oid == 23) {
    FUZZ_CHECK(tag == 1 && v == (double)(int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                                                  (uint32_t)p[2] << 8 | p[3]), "int4 %.17g", v);
  } else if (oid == 16) {
    FUZZ_CHECK(tag == 1 && v == p[0], "bool %.17g from %u", v, p[0]);
  } else if (oid == PG_OID_BINARY_INT4_ARRAY || oid == 1022 || oid == 1005 ||
             oid == PG_OID_BINARY_FLOAT4_ARRAY) {
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
      depth += text[i] == '{' ? 1 : text[i] == '}' ? -1 : 0;
      FUZZ_CHECK(depth > 0 || i == len - 1, "array literal closes early at %zu", i);
    }
    FUZZ_CHECK(tag == 2 && len >= 2 && text[0] == '{' && depth == 0, "array literal '%.*s'",
               (int)(len < 200 ? len : 200), (const char *)text);
  }
  free(t.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint8_t sel = data[0];
  size_t n = size - 1;
  /* The cell in its own allocation of exactly its size, so ASan sees any over-read. */
  uint8_t *cell = malloc(n > 0 ? n : 1);
  if (cell == NULL) {
    return 0;
  }
  memcpy(cell, data + 1, n);
  check_time(cell, n);
  check_utf8(cell, n);
  check_typed(sel, cell, n);
  check_binary(sel, cell, n);
  free(cell);
  return 0;
}
