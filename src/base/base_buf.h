/* A growable byte buffer: { data, len, cap }, owned by whoever embeds it.
 *
 * Used for outgoing protocol bytes and for incoming bytes that wait for a whole frame.
 * Consumed bytes are dropped from the front lazily (buf_consume compacts in batches) so a
 * read loop that takes one frame at a time does not memmove on every frame.
 */
#ifndef UVSQL_BASE_BUF_H
#define UVSQL_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data; /* owned */
  size_t len;    /* bytes written, counted from data[0] */
  size_t cap;
  size_t head;   /* bytes already consumed at the front: live bytes are data[head..len) */
} buf_t;

void buf_init(buf_t *b);
/* Frees the storage. Safe on an initialised or zeroed buffer. */
void buf_destroy(buf_t *b);
/* Zeroes every byte ever written (secrets), then frees. */
void buf_wipe_destroy(buf_t *b);

/* Ensures room for `extra` more bytes. 0 or DB_ENOMEM. */
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
int buf_put_u8(buf_t *b, uint8_t v);
int buf_put_u16be(buf_t *b, uint16_t v);
int buf_put_u32be(buf_t *b, uint32_t v);
/* Appends the string and its NUL terminator. */
int buf_put_cstr(buf_t *b, const char *s);

/* Live bytes (not yet consumed). */
static inline const uint8_t *buf_begin(const buf_t *b) {
  /* A never-written buffer has data == NULL, and NULL + 0 is undefined behaviour in C. */
  return b->data != NULL ? b->data + b->head : (const uint8_t *)"";
}
static inline size_t buf_size(const buf_t *b) {
  return b->len - b->head;
}

/* Drops n live bytes from the front. */
void buf_consume(buf_t *b, size_t n);
/* Drops everything but keeps the storage. */
void buf_clear(buf_t *b);

/* Overwrites big-endian u32 at absolute offset `at` (for length prefixes written afterwards). */
void buf_patch_u32be(buf_t *b, size_t at, uint32_t v);

#endif
