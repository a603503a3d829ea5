/* Interning of byte strings to small ids: the same bytes always get the same id.
 *
 * Used to send a row shape (column names and types) to JS once and refer to it by number
 * afterwards. Bounded: past `max` entries nothing new is interned. Owned by its user; runs on
 * the loop thread.
 */
#ifndef UVSQL_BASE_INTERN_H
#define UVSQL_BASE_INTERN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t hash;
  uint8_t *key; /* owned */
  size_t len;
  uint32_t id;  /* 1-based; 0 marks an empty slot */
} base_intern_entry_t;

typedef struct {
  base_intern_entry_t *slots; /* owned; capacity is a power of two */
  uint32_t cap;
  uint32_t count;
  uint32_t max;
} base_intern_t;

void base_intern_init(base_intern_t *t, uint32_t max);
void base_intern_destroy(base_intern_t *t);

/* The id of these bytes (1, 2, ...), interning them if new (*is_new = 1). 0 when the table is
 * full or memory ran out: the caller then sends the bytes without an id. */
uint32_t base_intern(base_intern_t *t, const uint8_t *p, size_t n, int *is_new);

#endif
