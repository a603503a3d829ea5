#include "base_buf.h"

#include <stdlib.h>
#include <string.h>

#include "base_bytes.h"
#include "base_err.h"

/* Compact once this many bytes were consumed, or when everything was. */
#define BUF_COMPACT_MIN 4096

void buf_init(buf_t *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->head = 0;
}

void buf_destroy(buf_t *b) {
  free(b->data);
  buf_init(b);
}

void buf_wipe_destroy(buf_t *b) {
  if (b->data != NULL) {
    /* volatile so the compiler cannot drop the store before free() */
    volatile uint8_t *p = b->data;
    for (size_t i = 0; i < b->cap; i++) {
      p[i] = 0;
    }
  }
  buf_destroy(b);
}

int buf_reserve(buf_t *b, size_t extra) {
  if (b->cap - b->len >= extra) {
    return 0;
  }
  if (b->head > 0) {
    /* Reclaim consumed front space before growing. */
    memmove(b->data, b->data + b->head, b->len - b->head);
    b->len -= b->head;
    b->head = 0;
    if (b->cap - b->len >= extra) {
      return 0;
    }
  }
  if (extra > SIZE_MAX / 2 - b->len) {
    return DB_ENOMEM;
  }
  size_t want = b->len + extra;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < want) {
    cap *= 2;
  }
  uint8_t *p = realloc(b->data, cap);
  if (p == NULL) {
    return DB_ENOMEM;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

int buf_append(buf_t *b, const void *p, size_t n) {
  if (n == 0) {
    return 0;
  }
  int rc = buf_reserve(b, n);
  if (rc < 0) {
    return rc;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int buf_put_u8(buf_t *b, uint8_t v) {
  return buf_append(b, &v, 1);
}

int buf_put_u16be(buf_t *b, uint16_t v) {
  uint8_t tmp[2];
  wr_u16be(tmp, v);
  return buf_append(b, tmp, 2);
}

int buf_put_u32be(buf_t *b, uint32_t v) {
  uint8_t tmp[4];
  wr_u32be(tmp, v);
  return buf_append(b, tmp, 4);
}

int buf_put_cstr(buf_t *b, const char *s) {
  return buf_append(b, s, strlen(s) + 1);
}

void buf_consume(buf_t *b, size_t n) {
  size_t live = b->len - b->head;
  if (n >= live) {
    b->head = 0;
    b->len = 0;
    return;
  }
  b->head += n;
  if (b->head >= BUF_COMPACT_MIN) {
    memmove(b->data, b->data + b->head, b->len - b->head);
    b->len -= b->head;
    b->head = 0;
  }
}

void buf_clear(buf_t *b) {
  b->head = 0;
  b->len = 0;
}

void buf_patch_u32be(buf_t *b, size_t at, uint32_t v) {
  wr_u32be(b->data + at, v);
}
