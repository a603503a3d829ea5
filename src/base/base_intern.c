#include "base_intern.h"

#include <stdlib.h>
#include <string.h>

void base_intern_init(base_intern_t *t, uint32_t max) {
  memset(t, 0, sizeof(*t));
  t->max = max;
}

void base_intern_destroy(base_intern_t *t) {
  for (uint32_t i = 0; i < t->cap; i++) {
    free(t->slots[i].key);
  }
  free(t->slots);
  memset(t, 0, sizeof(*t));
}

static uint64_t intern_hash(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 1099511628211ull;
  }
  return h;
}

/* Doubles the table (kept at most half full). 0 or -1. */
static int intern_grow(base_intern_t *t) {
  uint32_t cap = t->cap ? t->cap * 2 : 64;
  base_intern_entry_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL) {
    return -1;
  }
  for (uint32_t i = 0; i < t->cap; i++) {
    base_intern_entry_t *e = &t->slots[i];
    if (e->id == 0) {
      continue;
    }
    uint32_t j = (uint32_t)e->hash & (cap - 1);
    while (slots[j].id != 0) {
      j = (j + 1) & (cap - 1);
    }
    slots[j] = *e;
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return 0;
}

uint32_t base_intern(base_intern_t *t, const uint8_t *p, size_t n, int *is_new) {
  *is_new = 0;
  uint64_t h = intern_hash(p, n);
  if (t->cap > 0) {
    for (uint32_t j = (uint32_t)h & (t->cap - 1); t->slots[j].id != 0; j = (j + 1) & (t->cap - 1)) {
      base_intern_entry_t *e = &t->slots[j];
      if (e->hash == h && e->len == n && memcmp(e->key, p, n) == 0) {
        return e->id;
      }
    }
  }
  if (t->count >= t->max || ((t->count + 1) * 2 > t->cap && intern_grow(t) < 0)) {
    return 0;
  }
  uint8_t *key = malloc(n > 0 ? n : 1);
  if (key == NULL) {
    return 0;
  }
  memcpy(key, p, n);
  uint32_t j = (uint32_t)h & (t->cap - 1);
  while (t->slots[j].id != 0) {
    j = (j + 1) & (t->cap - 1);
  }
  t->count++;
  t->slots[j] = (base_intern_entry_t){.hash = h, .key = key, .len = n, .id = t->count};
  *is_new = 1;
  return t->count;
}
