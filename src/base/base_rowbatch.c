/* Row batches: the generic half (layout in base_rowbatch.h). The engines' decoders add cells. */
#include "base_rowbatch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base_err.h"

void rowbatch_init(rowbatch_t *b) {
  memset(b, 0, sizeof(*b));
  buf_init(&b->vals);
  buf_init(&b->tags);
  buf_init(&b->text);
  buf_init(&b->json);
  b->ascii = 1;
  b->json_ascii = 1;
}

void rowbatch_destroy(rowbatch_t *b) {
  free(b->kinds);
  free(b->cols);
  buf_destroy(&b->vals);
  buf_destroy(&b->tags);
  buf_destroy(&b->text);
  buf_destroy(&b->json);
  memset(b, 0, sizeof(*b));
}

size_t rowbatch_footprint(const rowbatch_t *b) {
  return (size_t)b->kinds_cap + (size_t)b->cols_cap * sizeof(db_field_t) + b->vals.cap +
         b->tags.cap + b->text.cap + b->json.cap;
}

static void clear_rows(rowbatch_t *b) {
  buf_clear(&b->vals);
  buf_clear(&b->tags);
  buf_clear(&b->text);
  buf_clear(&b->json);
  b->nrows = 0;
  b->utf16_end = 0;
  b->ascii = 1;
  b->json_utf16 = 0;
  b->json_ascii = 1;
}

int rowbatch_start(rowbatch_t *b, uint16_t ncols, int all_text) {
  if (b->kinds == NULL || ncols > b->kinds_cap) {
    uint8_t *kinds = malloc(ncols > 0 ? ncols : 1);
    if (kinds == NULL) {
      return DB_ENOMEM;
    }
    free(b->kinds);
    b->kinds = kinds;
    b->kinds_cap = ncols;
  }
  memset(b->kinds, 0, ncols > 0 ? ncols : 1);
  b->ncols = ncols;
  b->all_text = all_text;
  clear_rows(b);
  return 0;
}

int rowbatch_keep_cols(rowbatch_t *b, const db_field_t *fields, uint16_t n) {
  if (b->cols == NULL || n > b->cols_cap) {
    db_field_t *cols = malloc(sizeof(db_field_t) * (n > 0 ? n : 1));
    if (cols == NULL) {
      return DB_ENOMEM;
    }
    free(b->cols);
    b->cols = cols;
    b->cols_cap = n;
  }
  memcpy(b->cols, fields, sizeof(db_field_t) * n);
  for (uint16_t i = 0; i < n; i++) {
    b->cols[i].name = (slice_t){NULL, 0}; /* borrowed from a packet that is gone after the call */
  }
  return 0;
}

/* ---- text area ---------------------------------------------------------------------------- */

/* Appends a cell to `dst` as valid UTF-8 (an invalid byte becomes U+FFFD) and advances the
 * UTF-16 offset `*utf16` the same way JS will count it; clears `*ascii` on a non-ASCII byte. */
static int append_utf8(buf_t *dst, const uint8_t *p, size_t n, double *utf16, int *ascii) {
  if (n == 0) {
    return 0; /* the buffer may have no storage yet (NULL + 0 is undefined) */
  }
  int rc = buf_reserve(dst, n);
  if (rc < 0) {
    return rc;
  }
  /* ASCII runs are copied into the reserved room as they are checked, eight bytes at a time:
   * S4's text and JSON are all ASCII, and a byte at a time (then a second pass to copy) this
   * was the largest of the C decoder's costs. */
  uint8_t *d = dst->data + dst->len;
  size_t i = 0;
  for (uint64_t w; i + 8 <= n; i += 8) {
    memcpy(&w, p + i, 8);
    if ((w & 0x8080808080808080ull) != 0) {
      break;
    }
    memcpy(d + i, &w, 8);
  }
  if (i < n && i + 8 > n && n >= 8) {
    /* The last few bytes as the word that ends the cell, overlapping what is already copied:
     * no byte loop for the tail of a cell of eight bytes or more. */
    uint64_t w;
    memcpy(&w, p + n - 8, 8);
    if ((w & 0x8080808080808080ull) == 0) {
      memcpy(d + n - 8, &w, 8);
      i = n;
    }
  }
  while (i < n && p[i] < 0x80) {
    d[i] = p[i];
    i++;
  }
  dst->len += i;
  *utf16 += (double)i;
  while (i < n && rc == 0) {
    uint8_t c = p[i];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                                   : (c & 0xf8) == 0xf0 ? 4 : 0;
    int ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++) {
      ok = (p[i + k] & 0xc0) == 0x80;
    }
    if (ok && len == 2) {
      ok = c >= 0xc2; /* overlong */
    } else if (ok && len == 3) {
      uint32_t cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    } else if (ok && len == 4) {
      uint32_t cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3f) << 12 |
                    (uint32_t)(p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (!ok) {
      rc = buf_append(dst, "\xef\xbf\xbd", 3);
      *utf16 += 1;
      *ascii = 0;
      i++;
      continue;
    }
    if (len > 1) {
      *ascii = 0;
    }
    rc = buf_append(dst, p + i, len);
    *utf16 += len == 4 ? 2 : 1;
    i += len;
  }
  return rc;
}

/* An integer, a float, NaN or ±Infinity, read exactly as JS Number() reads it. */
int rowbatch_parse_number(const uint8_t *p, size_t n, double *out) {
  if (n == 0 || n > 400) {
    return -1;
  }
  /* Fast path: [-]digits[.digits] with at most 15 digits (S4's float8 text, every int).
   * m / 10^k with m < 2^53 and k <= 15 divides two exact doubles once, correctly rounded:
   * exactly the decimal's nearest double, as Number() reads it (and without strtod, which was
   * ~2% of the PostgreSQL S4 process). */
  static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  size_t i = p[0] == '-' ? 1 : 0;
  int64_t m = 0;
  int ndigits = 0, frac = -1;
  for (; i < n && ndigits <= 15; i++) {
    if (p[i] >= '0' && p[i] <= '9') {
      m = m * 10 + (p[i] - '0');
      ndigits++;
      frac += frac >= 0;
    } else if (p[i] == '.' && frac < 0) {
      frac = 0;
    } else {
      break;
    }
  }
  if (i == n && ndigits > 0 && ndigits <= 15) {
    double v = frac > 0 ? (double)m / pow10[frac] : (double)m;
    *out = p[0] == '-' ? -v : v;
    return 0;
  }
  /* Compared with their exact length: a NUL inside the text must not end the comparison. */
  if (n == 3 && memcmp(p, "NaN", 3) == 0) {
    *out = NAN;
    return 0;
  }
  if ((n == 8 && memcmp(p, "Infinity", 8) == 0) || (n == 9 && memcmp(p, "-Infinity", 9) == 0)) {
    *out = p[0] == '-' ? -INFINITY : INFINITY;
    return 0;
  }
  char tmp[401];
  memcpy(tmp, p, n);
  tmp[n] = '\0';
  for (size_t k = 0; k < n; k++) {
    /* strtod also takes hex, "inf", "nan(...)": only decimal digits, sign, dot and exponent. */
    char c = tmp[k];
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')) {
      return -1;
    }
  }
  char *end = NULL;
  double v = strtod(tmp, &end);
  if (end != tmp + n) {
    return -1;
  }
  *out = v;
  return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (astronomical years). */
int64_t rowbatch_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* ---- cells ------------------------------------------------------------------------------- */

int rowbatch_row_begin(rowbatch_t *b) {
  int rc = buf_reserve(&b->vals, (size_t)b->ncols * 8);
  if (rc == 0) {
    rc = buf_reserve(&b->tags, b->ncols);
  }
  return rc;
}

/* One cell's value and tag, written in place: rowbatch_row_begin reserved the room, so the
 * capacity checks of buf_append/buf_put_u8 (two calls per cell) are not needed. */
static inline void put_cell(rowbatch_t *b, double v, row_cell_tag_t tag) {
  memcpy(b->vals.data + b->vals.len, &v, 8);
  b->vals.len += 8;
  b->tags.data[b->tags.len++] = (uint8_t)tag;
}

void rowbatch_put_null(rowbatch_t *b) {
  put_cell(b, 0, ROW_TAG_NULL);
}

void rowbatch_put_value(rowbatch_t *b, double v) {
  put_cell(b, v, ROW_TAG_VALUE);
}

/* A cell whose bytes went to an area: its end offset there, and its tag. */
static void put_end(rowbatch_t *b, double end, row_cell_tag_t tag) {
  put_cell(b, end, tag);
}

int rowbatch_put_text(rowbatch_t *b, const uint8_t *p, size_t n) {
  int rc = append_utf8(&b->text, p, n, &b->utf16_end, &b->ascii);
  if (rc == 0) {
    put_end(b, b->utf16_end, ROW_TAG_TEXT);
  }
  return rc;
}

int rowbatch_put_json(rowbatch_t *b, const uint8_t *p, size_t n) {
  /* "[" before the first document, "," before the others: one UTF-16 unit either way,
   * written into the room reserved for the document as well. */
  int rc = buf_reserve(&b->json, n + 1);
  if (rc == 0) {
    uint8_t lead = buf_size(&b->json) == 0 ? '[' : ',';
    b->json.data[b->json.len++] = lead;
    b->json_utf16 += 1;
    rc = append_utf8(&b->json, p, n, &b->json_utf16, &b->json_ascii);
  }
  if (rc == 0) {
    put_end(b, b->json_utf16, ROW_TAG_JSON);
  }
  return rc;
}

int rowbatch_put_latin1(rowbatch_t *b, const uint8_t *p, size_t n) {
  int rc = n > 0 ? buf_reserve(&b->text, n * 2) : 0;
  if (rc < 0) {
    return rc;
  }
  if (n == 0) { /* an empty cell: the text may have no storage yet (NULL + 0 is undefined) */
    put_end(b, b->utf16_end, ROW_TAG_TEXT);
    return 0;
  }
  /* Written in place (the room is reserved): MySQL sends DECIMAL with the binary charset, so
   * S4's `amount` comes this way, and a buf_put_u8 per byte was 1.6% of the MySQL client's
   * instructions. */
  uint8_t *d = b->text.data + b->text.len;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < 0x80) {
      *d++ = p[i];
    } else {
      *d++ = (uint8_t)(0xc0 | (p[i] >> 6));
      *d++ = (uint8_t)(0x80 | (p[i] & 0x3f));
      b->ascii = 0;
    }
  }
  b->text.len = (size_t)(d - b->text.data);
  b->utf16_end += (double)n;
  put_end(b, b->utf16_end, ROW_TAG_TEXT);
  return 0;
}

static size_t pad8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* The JSON area as serialized: the documents plus the closing "]", or nothing. */
static size_t json_bytes(const rowbatch_t *b) {
  return buf_size(&b->json) > 0 ? buf_size(&b->json) + 1 : 0;
}

size_t rowbatch_size(const rowbatch_t *b) {
  return 24 + pad8(b->ncols) + buf_size(&b->vals) + pad8(buf_size(&b->tags)) +
         buf_size(&b->text) + json_bytes(b);
}

static void put_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

void rowbatch_take(rowbatch_t *b, uint8_t *dst) {
  put_u32le(dst, b->nrows);
  put_u32le(dst + 4, b->ncols);
  put_u32le(dst + 8, (uint32_t)buf_size(&b->text));
  put_u32le(dst + 12, (b->ascii ? 1u : 0u) | (b->json_ascii ? 2u : 0u) | (b->text_format ? 4u : 0u));
  put_u32le(dst + 16, (uint32_t)json_bytes(b));
  put_u32le(dst + 20, 0);
  size_t off = 24;
  memset(dst + off, 0, pad8(b->ncols));
  memcpy(dst + off, b->kinds, b->ncols);
  off += pad8(b->ncols);
  memcpy(dst + off, buf_begin(&b->vals), buf_size(&b->vals));
  off += buf_size(&b->vals);
  memset(dst + off, 0, pad8(buf_size(&b->tags)));
  memcpy(dst + off, buf_begin(&b->tags), buf_size(&b->tags));
  off += pad8(buf_size(&b->tags));
  memcpy(dst + off, buf_begin(&b->text), buf_size(&b->text));
  off += buf_size(&b->text);
  if (buf_size(&b->json) > 0) {
    memcpy(dst + off, buf_begin(&b->json), buf_size(&b->json));
    dst[off + buf_size(&b->json)] = ']';
  }
  clear_rows(b);
}
