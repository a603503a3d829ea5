/* A bounds-checked reader over one decoded message body.
 *
 * Errors are sticky: once a read runs past the end, every later read returns zero/empty and
 * `err` stays set, so a decoder can read every field and check once at the end
 * (reader_finished) that it consumed exactly the frame: no over-read, no trailing bytes.
 */
#ifndef UVSQL_BASE_READER_H
#define UVSQL_BASE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base_bytes.h"

typedef struct {
  const uint8_t *p; /* borrowed */
  size_t n;
  size_t pos;
  int err; /* 1 after any out-of-bounds read */
} reader_t;

/* A borrowed slice of bytes. */
typedef struct {
  const uint8_t *p;
  size_t n;
} slice_t;

static inline void reader_init(reader_t *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->n = n;
  r->pos = 0;
  r->err = 0;
}

static inline size_t reader_left(const reader_t *r) {
  return r->err ? 0 : r->n - r->pos;
}

static inline int reader_take(reader_t *r, size_t k) {
  if (r->err || r->n - r->pos < k) {
    r->err = 1;
    return 0;
  }
  return 1;
}

static inline uint8_t reader_u8(reader_t *r) {
  if (!reader_take(r, 1)) {
    return 0;
  }
  return r->p[r->pos++];
}

static inline uint16_t reader_u16be(reader_t *r) {
  if (!reader_take(r, 2)) {
    return 0;
  }
  uint16_t v = rd_u16be(r->p + r->pos);
  r->pos += 2;
  return v;
}

static inline uint32_t reader_u32be(reader_t *r) {
  if (!reader_take(r, 4)) {
    return 0;
  }
  uint32_t v = rd_u32be(r->p + r->pos);
  r->pos += 4;
  return v;
}

static inline int32_t reader_i32be(reader_t *r) {
  return (int32_t)reader_u32be(r);
}

static inline slice_t reader_bytes(reader_t *r, size_t k) {
  slice_t s = {NULL, 0};
  if (!reader_take(r, k)) {
    return s;
  }
  s.p = r->p + r->pos;
  s.n = k;
  r->pos += k;
  return s;
}

/* A NUL-terminated string; the slice excludes the NUL, which is consumed. */
static inline slice_t reader_cstr(reader_t *r) {
  slice_t s = {NULL, 0};
  if (r->err) {
    return s;
  }
  const uint8_t *start = r->p + r->pos;
  const uint8_t *nul = memchr(start, 0, r->n - r->pos);
  if (nul == NULL) {
    r->err = 1;
    return s;
  }
  s.p = start;
  s.n = (size_t)(nul - start);
  r->pos += s.n + 1;
  return s;
}

/* True when every read succeeded and the body was consumed exactly. */
static inline int reader_finished(const reader_t *r) {
  return !r->err && r->pos == r->n;
}

#endif
