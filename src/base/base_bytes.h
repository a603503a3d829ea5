/* Big-endian loads and stores on byte pointers (alignment-free, no UB), and decimal digits. */
#ifndef UVSQL_BASE_BYTES_H
#define UVSQL_BASE_BYTES_H

#include <stdint.h>

static inline uint16_t rd_u16be(const uint8_t *p) {
  return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t rd_u32be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void wr_u16be(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void wr_u32be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* v in decimal, written to end at `end` (going backwards, at most 20 bytes); returns where the
 * digits start. For the hot paths that format integers without snprintf (MySQL BIGINT cells,
 * MySQL command tags). */
static inline uint8_t *wr_u64_decimal_back(uint8_t *end, uint64_t v) {
  do {
    *--end = (uint8_t)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return end;
}

#endif
