/* MySQL wire primitives over the bounds-checked reader: little-endian integers and
 * length-encoded ("lenenc") integers and strings. Header-only; errors stick in the reader like
 * every other reader_* call, so a decoder reads all its fields and checks once at the end.
 */
#ifndef UVSQL_MY_WIRE_H
#define UVSQL_MY_WIRE_H

#include <stdint.h>

#include "../base/base_reader.h"

static inline uint16_t my_rd16(const uint8_t *p) {
  return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t my_rd24(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}
static inline uint32_t my_rd32(const uint8_t *p) {
  return my_rd24(p) | (uint32_t)p[3] << 24;
}
static inline uint64_t my_rd64(const uint8_t *p) {
  return (uint64_t)my_rd32(p) | (uint64_t)my_rd32(p + 4) << 32;
}
static inline void my_wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void my_wr24(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
}
static inline void my_wr32(uint8_t *p, uint32_t v) {
  my_wr24(p, v);
  p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t reader_u16le(reader_t *r) {
  if (!reader_take(r, 2)) {
    return 0;
  }
  uint16_t v = my_rd16(r->p + r->pos);
  r->pos += 2;
  return v;
}
static inline uint32_t reader_u32le(reader_t *r) {
  if (!reader_take(r, 4)) {
    return 0;
  }
  uint32_t v = my_rd32(r->p + r->pos);
  r->pos += 4;
  return v;
}
static inline uint64_t reader_u64le(reader_t *r) {
  if (!reader_take(r, 8)) {
    return 0;
  }
  uint64_t v = my_rd64(r->p + r->pos);
  r->pos += 8;
  return v;
}

/* A length-encoded integer. 0xFB (NULL in rows) and 0xFF (never an integer) set the error. */
static inline uint64_t reader_lenenc(reader_t *r) {
  uint8_t b = reader_u8(r);
  if (r->err) {
    return 0;
  }
  if (b < 0xFB) {
    return b;
  }
  if (b == 0xFC) {
    return reader_u16le(r);
  }
  if (b == 0xFD) {
    if (!reader_take(r, 3)) {
      return 0;
    }
    uint32_t v = my_rd24(r->p + r->pos);
    r->pos += 3;
    return v;
  }
  if (b == 0xFE) {
    return reader_u64le(r);
  }
  r->err = 1;
  return 0;
}

/* A length-encoded string (lenenc length, then the bytes). */
static inline slice_t reader_lenenc_str(reader_t *r) {
  uint64_t n = reader_lenenc(r);
  slice_t s = {NULL, 0};
  if (r->err) {
    return s;
  }
  if (n > reader_left(r)) {
    r->err = 1;
    return s;
  }
  return reader_bytes(r, (size_t)n);
}

#endif
