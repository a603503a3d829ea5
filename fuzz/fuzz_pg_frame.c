/* Fuzz target pg_frame: the backend frame splitter (pg_frame_peek) and every backend message
 * decoder of src/pg/pg_frame.c, applied to each frame body whatever its type byte.
 *
 * Input: a byte 0 of options (bits 0-2: column types for the row batch, bit 3: raw text mode,
 * bits 4-7: how many bytes of the stream to offer pg_frame_peek at first, to test the "need more"
 * answer), then server bytes as they would arrive on the socket.
 *
 * Checks: peek never claims more bytes than it was given and never less than a header; the
 * decoders' slices stay inside the body; a DataRow accepted by pg_decode_data_row is walked
 * again independently and then decoded into a rowbatch_t (which trusts the validation).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/base/base_err.h"
#include "../src/pg/pg_int.h"
#include "../src/pg/pg_rowbatch.h"
#include "fuzz_util.h"

static db_field_t fields[PG_MAX_FIELDS];  /* RowDescription decoding (the engine's cap) */
static db_field_t row_fields[65535];      /* a DataRow's columns, up to its u16 count */

static void check_slice(slice_t s, const uint8_t *body, size_t n, const char *what) {
  if (s.p == NULL) {
    FUZZ_CHECK(s.n == 0, "%s: NULL slice of %zu bytes", what, s.n);
    return;
  }
  FUZZ_CHECK(s.p >= body && s.n <= n && (size_t)(s.p - body) <= n - s.n, "%s out of the body",
             what);
  /* The decoders return C strings: the byte after the slice is the NUL they consumed. */
  FUZZ_CHECK((size_t)(s.p - body) + s.n < n && s.p[s.n] == 0, "%s not NUL-terminated", what);
  FUZZ_CHECK(memchr(s.p, 0, s.n) == NULL, "%s contains a NUL", what);
}

static void decode_error(const uint8_t *body, size_t n) {
  db_error_t e;
  if (pg_decode_error(body, n, &e) < 0) {
    return;
  }
  const slice_t *all = (const slice_t *)&e;
  for (size_t i = 0; i < sizeof(e) / sizeof(slice_t); i++) {
    check_slice(all[i], body, n, "error field");
  }
}

static uint32_t type_for(uint8_t opts, uint16_t col) {
  static const uint32_t oids[] = {23, 701, 16, 1184, 25, 1082, 21, 1114, 700, 20};
  return oids[(opts + col) % (sizeof(oids) / sizeof(oids[0]))];
}

/* Walks a DataRow body again, without the decoder, and checks the decoder was right to accept
 * it; then decodes it into a row batch and checks the serialized batch. */
static void data_row(const uint8_t *body, size_t n, uint8_t opts) {
  uint16_t ncols = 0;
  if (pg_decode_data_row(body, n, &ncols) < 0) {
    return;
  }
  FUZZ_CHECK(n >= 2, "DataRow of %zu bytes accepted", n);
  size_t off = 2;
  for (uint16_t i = 0; i < ncols; i++) {
    FUZZ_CHECK(n - off >= 4, "cell %u header past the body", i);
    int32_t len = (int32_t)rd_u32be(body + off);
    off += 4;
    FUZZ_CHECK(len >= -1, "cell length %d accepted", len);
    if (len > 0) {
      FUZZ_CHECK((size_t)len <= n - off, "cell %u past the body", i);
      off += (size_t)len;
    }
  }
  FUZZ_CHECK(off == n, "DataRow accepted with %zu trailing bytes", n - off);

  /* Same column count as a RowDescription would have announced. */
  for (uint16_t i = 0; i < ncols; i++) {
    row_fields[i].type_oid = type_for(opts, i);
  }
  rowbatch_t b;
  rowbatch_init(&b);
  int rc = pg_rowbatch_set_fields(&b, row_fields, ncols, (opts >> 3) & 1);
  if (rc == 0) {
    /* Every decoded row is added twice: offsets must keep growing across rows. */
    rc = pg_rowbatch_add(&b, body, n);
    FUZZ_CHECK(rc == 0 || rc == DB_ENOMEM, "pg_rowbatch_add: %d", rc);
    rc = pg_rowbatch_add(&b, body, n);
    FUZZ_CHECK(rc == 0 || rc == DB_ENOMEM, "pg_rowbatch_add: %d", rc);
    size_t size = rowbatch_size(&b);
    uint8_t *dst = malloc(size);
    if (dst != NULL) {
      rowbatch_take(&b, dst);
      fuzz_check_batch(dst, size, ncols);
      free(dst);
    }
  }
  rowbatch_destroy(&b);
}

static void row_description(const uint8_t *body, size_t n, uint16_t cap) {
  uint16_t count = 0;
  if (pg_decode_row_description(body, n, fields, cap, &count) < 0) {
    return;
  }
  FUZZ_CHECK(count <= cap, "%u fields with room for %u", count, cap);
  /* Each field takes at least 19 bytes (name NUL + 18 fixed bytes). */
  FUZZ_CHECK(2 + (size_t)count * 19 <= n, "%u fields in %zu bytes", count, n);
  for (uint16_t i = 0; i < count; i++) {
    check_slice(fields[i].name, body, n, "field name");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint8_t opts = data[0];
  const uint8_t *p = data + 1;
  size_t n = size - 1;

  /* A prefix shorter than the first frame must answer "need more", never a frame. */
  size_t prefix = (size_t)(opts >> 4);
  if (prefix < n) {
    ssize_t whole = pg_frame_peek(p, n);
    ssize_t part = pg_frame_peek(p, prefix);
    FUZZ_CHECK(part <= 0 || (size_t)part <= prefix, "peek %zd of %zu bytes", part, prefix);
    if (whole > 0 && (size_t)whole > prefix) {
      FUZZ_CHECK(part == 0, "peek of a %zu-byte prefix of a %zd-byte frame gave %zd", prefix,
                 whole, part);
    }
  }

  size_t off = 0;
  while (off < n) {
    ssize_t len = pg_frame_peek(p + off, n - off);
    if (len == 0) {
      break; /* an incomplete frame: the engine would wait for more */
    }
    if (len < 0) {
      FUZZ_CHECK(len == DB_ESYNC, "peek returned %zd", len);
      break;
    }
    FUZZ_CHECK(len >= 5 && (size_t)len <= n - off, "peek %zd of %zu bytes", len, n - off);
    uint8_t type = p[off];
    /* Each body from its own heap copy of exactly its size, so ASan sees any over-read. */
    size_t bn = (size_t)len - 5;
    uint8_t *body = malloc(bn > 0 ? bn : 1);
    if (body == NULL) {
      return 0;
    }
    memcpy(body, p + off + 5, bn);
    decode_error(body, bn);
    data_row(body, bn, opts);
    row_description(body, bn, PG_MAX_FIELDS);
    if (type == 'T') {
      row_description(body, bn, (uint16_t)(opts & 7)); /* a small table must be refused, not overrun */
    }
    free(body);
    off += (size_t)len;
  }
  return 0;
}
