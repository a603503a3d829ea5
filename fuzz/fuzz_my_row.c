/* Fuzz target my_row: the MySQL packet reader (my_packet_peek / my_packet_gather), the server
 * message decoders of src/mysql/my_msg.c (greeting, OK, ERR, EOF, column definition) applied to
 * every payload whatever its first byte, length-encoded integers and strings (my_wire.h), and the
 * row decoders: text and binary rows (src/mysql/my_row.c) and their conversion into JS row batches
 * (src/mysql/my_rowbatch.c), under columns described by the input.
 *
 * Input layout:
 *   byte 0  options  bit 0   binary protocol rows (else text)
 *                    bit 1   raw mode (every cell as text)
 *                    bit 2   expect sequence id 0 (else take the first packet's id)
 *                    bits 4-7 bytes of the stream first offered to the peek ("need more" check)
 *   byte 1  ncols (mod 17)
 *   4 bytes per column: type selector, flags (bit 0 UNSIGNED, bit 1 BINARY), charset selector
 *           (odd: 63 binary, else 45 utf8mb4), decimals
 *   then the server byte stream (packets with 4-byte headers)
 *
 * Checks: the peek never claims more than it was given, answers "need more" on a prefix of a
 * whole packet and never returns anything but a length, 0, DB_EPROTO or DB_ETOOBIG; the gathered
 * payload has the announced length; decoded slices stay inside the payload; the validating walk
 * (fn == NULL) and the walk with a callback agree, and the callback sees ncols cells in order
 * with values inside the payload; a row the validator accepts always goes into a batch
 * (my_rowbatch_add may only fail on OOM), and the serialized batch is well formed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/base/base_err.h"
#include "../src/mysql/my_int.h"
#include "../src/mysql/my_row.h"
#include "../src/mysql/my_rowbatch.h"
#include "../src/mysql/my_wire.h"
#include "fuzz_util.h"

#define MAXCOLS 16
#define MAX_PAYLOAD (1u << 20)

static const uint8_t types[] = {
    MYSQL_TYPE_DECIMAL,   MYSQL_TYPE_TINY,       MYSQL_TYPE_SHORT,     MYSQL_TYPE_LONG,
    MYSQL_TYPE_FLOAT,     MYSQL_TYPE_DOUBLE,     MYSQL_TYPE_NULL,      MYSQL_TYPE_TIMESTAMP,
    MYSQL_TYPE_LONGLONG,  MYSQL_TYPE_INT24,      MYSQL_TYPE_DATE,      MYSQL_TYPE_TIME,
    MYSQL_TYPE_DATETIME,  MYSQL_TYPE_YEAR,       MYSQL_TYPE_NEWDATE,   MYSQL_TYPE_VARCHAR,
    MYSQL_TYPE_BIT,       MYSQL_TYPE_JSON,       MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_ENUM,
    MYSQL_TYPE_SET,       MYSQL_TYPE_TINY_BLOB,  MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB,
    MYSQL_TYPE_BLOB,      MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_STRING,    MYSQL_TYPE_GEOMETRY,
    17, 18, 19, 0x7f, /* TIMESTAMP2/DATETIME2/TIME2 (never on the wire) and an unknown type */
};

typedef struct {
  const uint8_t *p;
  size_t n;
  uint16_t next; /* the column the next callback must be for */
} walk_t;

static void check_in(const uint8_t *p, size_t n, slice_t s, const char *what) {
  if (s.p == NULL) {
    FUZZ_CHECK(s.n == 0, "%s: NULL slice of %zu bytes", what, s.n);
    return;
  }
  FUZZ_CHECK(s.p >= p && s.n <= n && (size_t)(s.p - p) <= n - s.n, "%s outside the payload", what);
}

static int on_cell(void *arg, uint16_t col, const my_cell_t *cell) {
  walk_t *w = arg;
  FUZZ_CHECK(col == w->next, "cell for column %u, expected %u", col, w->next);
  w->next++;
  FUZZ_CHECK(cell->kind <= MY_CELL_TIME, "cell kind %d", (int)cell->kind);
  if (cell->kind == MY_CELL_BYTES) {
    check_in(w->p, w->n, cell->bytes, "cell bytes");
  } else if (cell->kind == MY_CELL_DATETIME) {
    FUZZ_CHECK(cell->dt.month >= 0 && cell->dt.month <= 255 && cell->dt.micro >= 0,
               "datetime month %d micro %d", cell->dt.month, cell->dt.micro);
  }
  return 0;
}

static void decoders(const uint8_t *p, size_t n) {
  my_greeting_t g;
  if (n > 0 && my_decode_greeting(p + 1, n - 1, &g) == 0) {
    check_in(p + 1, n - 1, g.version, "greeting version");
    check_in(p + 1, n - 1, g.plugin, "greeting plugin");
    FUZZ_CHECK(g.scramble_len <= sizeof(g.scramble), "scramble of %zu bytes", g.scramble_len);
  }
  my_ok_t ok;
  (void)my_decode_ok(p, n, &ok);
  (void)my_decode_eof(p, n, &ok);
  db_error_t e;
  if (my_decode_err(p, n, &e) == 0) {
    const slice_t *all = (const slice_t *)&e;
    for (size_t i = 0; i < sizeof(e) / sizeof(slice_t); i++) {
      check_in(p, n, all[i], "error field");
    }
  }
  db_field_t f;
  for (int ext_meta = 0; ext_meta <= 1; ext_meta++) { /* with and without MariaDB's metadata */
    if (my_decode_column(p, n, &f, ext_meta) == 0) {
      check_in(p, n, f.name, "column name");
    }
  }
  /* lenenc integers and strings back to back until the payload ends or one fails */
  reader_t r;
  reader_init(&r, p, n);
  while (!r.err && reader_left(&r) > 0) {
    size_t before = r.pos;
    slice_t s = reader_lenenc_str(&r);
    if (!r.err) {
      check_in(p, n, s, "lenenc string");
      FUZZ_CHECK(r.pos > before && r.pos <= n, "lenenc reader at %zu of %zu", r.pos, n);
    }
  }
}

static void rows(const uint8_t *p, size_t n, uint8_t opts, const db_field_t *fields,
                 uint16_t ncols) {
  int binary = opts & 1;
  walk_t w = {p, n, 0};
  int valid = binary ? my_row_each_binary(p, n, fields, ncols, NULL, NULL)
                     : my_row_each_text(p, n, ncols, NULL, NULL);
  int walked = binary ? my_row_each_binary(p, n, fields, ncols, on_cell, &w)
                      : my_row_each_text(p, n, ncols, on_cell, &w);
  FUZZ_CHECK(valid == 0 || valid == DB_EPROTO, "validation returned %d", valid);
  FUZZ_CHECK(valid == walked, "validation %d, walk %d", valid, walked);
  if (valid != 0) {
    return;
  }
  FUZZ_CHECK(w.next == ncols, "%u cells for %u columns", w.next, ncols);
  if (ncols == 0) {
    /* A result set has at least one column (a column count of 0 is an OK packet, which the
     * engine never treats as rows); my_rowbatch_add reads the protocol off column 0. */
    return;
  }

  rowbatch_t b;
  rowbatch_init(&b);
  int rc = my_rowbatch_set_fields(&b, fields, ncols, (opts >> 1) & 1);
  if (rc == 0) {
    /* Twice: text offsets must keep growing across rows. */
    for (int i = 0; i < 2 && rc == 0; i++) {
      rc = my_rowbatch_add(&b, p, n);
      FUZZ_CHECK(rc == 0 || rc == DB_ENOMEM, "my_rowbatch_add on a valid row: %d", rc);
    }
    size_t size = rowbatch_size(&b);
    uint8_t *dst = malloc(size);
    if (dst != NULL && rc == 0) {
      rowbatch_take(&b, dst);
      fuzz_check_batch(dst, size, ncols);
    }
    free(dst);
  }
  rowbatch_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  uint8_t opts = data[0];
  uint16_t ncols = (uint16_t)(data[1] % (MAXCOLS + 1));
  data += 2;
  size -= 2;
  if (size < (size_t)ncols * 4) {
    return 0;
  }
  db_field_t fields[MAXCOLS];
  memset(fields, 0, sizeof(fields));
  for (uint16_t i = 0; i < ncols; i++) {
    const uint8_t *c = data + (size_t)i * 4;
    fields[i].type_oid = types[c[0] % sizeof(types)];
    fields[i].flags = (uint16_t)(((c[1] & 1) ? MY_FLAG_UNSIGNED : 0) |
                                 ((c[1] & 2) ? MY_FLAG_BINARY : 0));
    fields[i].charset = (c[2] & 1) ? 63 : 45;
    fields[i].decimals = c[3];
    fields[i].format = (opts & 1) ? DB_FORMAT_BINARY : DB_FORMAT_TEXT;
  }
  data += (size_t)ncols * 4;
  size -= (size_t)ncols * 4;

  int seq = (opts & 4) ? 0 : -1;
  size_t plen = 0;
  uint32_t npk = 0;
  /* A prefix of a whole packet must answer "need more". */
  size_t prefix = (size_t)(opts >> 4);
  if (prefix < size) {
    ssize_t whole = my_packet_peek(data, size, seq, MAX_PAYLOAD, &plen, &npk);
    ssize_t part = my_packet_peek(data, prefix, seq, MAX_PAYLOAD, &plen, &npk);
    FUZZ_CHECK(part <= 0 || (size_t)part <= prefix, "peek %zd of %zu bytes", part, prefix);
    if (whole > 0 && (size_t)whole > prefix) {
      FUZZ_CHECK(part == 0, "peek of a %zu-byte prefix of a %zd-byte packet gave %zd", prefix,
                 whole, part);
    }
  }

  buf_t payload;
  buf_init(&payload);
  size_t off = 0;
  while (off < size) {
    plen = 0;
    npk = 0;
    ssize_t len = my_packet_peek(data + off, size - off, seq, MAX_PAYLOAD, &plen, &npk);
    if (len == 0) {
      break;
    }
    if (len < 0) {
      FUZZ_CHECK(len == DB_EPROTO || len == DB_ETOOBIG, "peek returned %zd", len);
      break;
    }
    FUZZ_CHECK((size_t)len <= size - off && (size_t)len == plen + 4u * npk && npk >= 1,
               "peek %zd: payload %zu in %u packets of %zu bytes", len, plen, npk, size - off);
    if (my_packet_gather(data + off, npk, &payload) < 0) {
      break;
    }
    FUZZ_CHECK(payload.len == plen, "gathered %zu bytes, peek said %zu", payload.len, plen);
    /* Each payload from its own heap copy of exactly its size, so ASan sees any over-read. */
    uint8_t *p = malloc(plen > 0 ? plen : 1);
    if (p == NULL) {
      break;
    }
    if (plen > 0) {
      memcpy(p, payload.data, plen);
    }
    decoders(p, plen);
    rows(p, plen, opts, fields, ncols);
    free(p);
    if (seq >= 0) {
      seq = (seq + (int)npk) & 0xff;
    }
    off += (size_t)len;
  }
  buf_destroy(&payload);
  return 0;
}
