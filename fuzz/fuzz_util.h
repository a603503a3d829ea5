/* Helpers shared by the libFuzzer targets in fuzz/: invariant checks that abort (so libFuzzer
 * records the input as a crash), a strict UTF-8 validator and a checker for serialized row
 * batches. The small helpers are inline here; the byte-walking checkers are in fuzz_util.c,
 * which every target links. Single-threaded.
 */
#ifndef UVSQL_FUZZ_UTIL_H
#define UVSQL_FUZZ_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An invariant of OUR code broke: print where and abort (libFuzzer saves the input). */
#define FUZZ_CHECK(cond, ...)                                               \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                         \
      fprintf(stderr, "\n");                                                \
      abort();                                                              \
    }                                                                       \
  } while (0)

/* A little-endian u32 from a serialized batch. */
static inline uint32_t fuzz_rd_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The function bodies below live in fuzz/fuzz_util.c, which is built without coverage
 * instrumentation: their byte loops would otherwise dominate the run time (trace-cmp on every
 * byte) without guiding the fuzzer anywhere in our code. */

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
 * Returns the number of UTF-16 code units of the text, or -1 when it is not valid UTF-8. */
long fuzz_utf8_utf16_len(const uint8_t *p, size_t n);

static inline size_t fuzz_pad8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

/* Checks a batch serialized by rowbatch_take (layout in src/pg/pg_rowbatch.h) as JS will read
 * it: sizes agree with `size`, kinds and tags are in range, the text area is valid UTF-8, text
 * cells' end offsets never go backwards and the last one equals the text's UTF-16 length, and
 * the ASCII flag is true only when every text byte is < 0x80. */
void fuzz_check_batch(const uint8_t *b, size_t size, uint16_t ncols_expected);

#endif
