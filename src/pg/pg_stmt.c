/* The prepared-statement cache: a chained hash table plus an LRU list. */
#include "pg_stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t stmt_hash(const char *text, size_t text_len, uint16_t nparams,
                          const uint32_t *types) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < text_len; i++) {
    h = (h ^ (uint8_t)text[i]) * 1099511628211ull;
  }
  for (uint16_t i = 0; i < nparams; i++) {
    uint32_t t = types != NULL ? types[i] : 0;
    h = (h ^ t) * 1099511628211ull;
  }
  return h ^ nparams;
}

static int stmt_equal(const pg_stmt_t *s, uint64_t h, const char *text, size_t text_len,
                      uint16_t nparams, const uint32_t *types) {
  if (s->hash != h || s->text_len != text_len || s->nparams != nparams ||
      memcmp(s->text, text, text_len) != 0) {
    return 0;
  }
  for (uint16_t i = 0; i < nparams; i++) {
    if (s->types[i] != (types != NULL ? types[i] : 0)) {
      return 0;
    }
  }
  return 1;
}

static _Atomic uint64_t cache_serials;

void pg_stmt_cache_init(pg_stmt_cache_t *c, uint32_t max) {
  memset(c, 0, sizeof(*c));
  c->max = max;
  c->serial = ++cache_serials;
  list_init(&c->lru);
  list_init(&c->dead);
}

static void stmt_free(pg_stmt_t *s) {
  free(s->text);
  free(s->types);
  free(s);
}

void pg_stmt_cache_destroy(pg_stmt_cache_t *c) {
  list_node_t *n;
  while ((n = list_pop_front(&c->lru)) != NULL) {
    stmt_free(container_of(n, pg_stmt_t, lru));
  }
  while ((n = list_pop_front(&c->dead)) != NULL) {
    stmt_free(container_of(n, pg_stmt_t, lru));
  }
  free(c->buckets);
  c->buckets = NULL;
  c->count = 0;
}

pg_stmt_t *pg_stmt_find(pg_stmt_cache_t *c, const char *text, size_t text_len, uint16_t nparams,
                        const uint32_t *types) {
  if (c->nbuckets == 0) {
    return NULL;
  }
  uint64_t h = stmt_hash(text, text_len, nparams, types);
  for (pg_stmt_t *s = c->buckets[h % c->nbuckets]; s != NULL; s = s->next_in_bucket) {
    if (stmt_equal(s, h, text, text_len, nparams, types)) {
      list_remove(&s->lru);
      list_push_back(&c->lru, &s->lru);
      return s;
    }
  }
  return NULL;
}

static void bucket_unlink(pg_stmt_cache_t *c, pg_stmt_t *s) {
  pg_stmt_t **pp = &c->buckets[s->hash % c->nbuckets];
  while (*pp != NULL && *pp != s) {
    pp = &(*pp)->next_in_bucket;
  }
  if (*pp == s) {
    *pp = s->next_in_bucket;
  }
}

static void stmt_remove(pg_stmt_cache_t *c, pg_stmt_t *s) {
  bucket_unlink(c, s);
  list_remove(&s->lru);
  c->count--;
  stmt_free(s);
}

void pg_stmt_detach(pg_stmt_cache_t *c, pg_stmt_t *s) {
  if (s->dead) {
    return;
  }
  bucket_unlink(c, s);
  list_remove(&s->lru);
  c->count--;
  if (s->users == 0) {
    stmt_free(s);
    return;
  }
  s->dead = 1;
  list_push_back(&c->dead, &s->lru);
}

void pg_stmt_release(pg_stmt_cache_t *c, pg_stmt_t *s) {
  if (s->users > 0) {
    s->users--;
  }
  if (s->dead && s->users == 0) {
    list_remove(&s->lru);
    stmt_free(s);
  }
  (void)c;
}

/* The least recently used entry that no queued query relies on. */
static pg_stmt_t *evictable(pg_stmt_cache_t *c) {
  for (list_node_t *n = c->lru.next; n != &c->lru; n = n->next) {
    pg_stmt_t *s = container_of(n, pg_stmt_t, lru);
    if (s->users == 0 && s->parsed) {
      return s;
    }
  }
  return NULL;
}

pg_stmt_t *pg_stmt_add(pg_stmt_cache_t *c, const char *text, size_t text_len, uint16_t nparams,
                       const uint32_t *types, char evicted[PG_STMT_NAME_MAX]) {
  evicted[0] = '\0';
  if (c->max == 0) {
    return NULL;
  }
  if (c->nbuckets == 0) {
    /* Twice the bound: chains stay short without ever rehashing. */
    c->nbuckets = c->max * 2 + 1;
    c->buckets = calloc(c->nbuckets, sizeof(pg_stmt_t *));
    if (c->buckets == NULL) {
      c->nbuckets = 0;
      return NULL;
    }
  }
  if (c->count >= c->max) {
    pg_stmt_t *old = evictable(c);
    if (old == NULL) {
      return NULL;
    }
    memcpy(evicted, old->name, PG_STMT_NAME_MAX);
    stmt_remove(c, old);
  }
  pg_stmt_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->text = malloc(text_len > 0 ? text_len : 1);
  s->types = calloc(nparams > 0 ? nparams : 1, sizeof(uint32_t));
  if (s->text == NULL || s->types == NULL) {
    stmt_free(s);
    return NULL;
  }
  memcpy(s->text, text, text_len);
  s->text_len = text_len;
  s->nparams = nparams;
  for (uint16_t i = 0; i < nparams; i++) {
    s->types[i] = types != NULL ? types[i] : 0;
  }
  s->hash = stmt_hash(text, text_len, nparams, types);
  snprintf(s->name, sizeof(s->name), "u%llx_%llx", (unsigned long long)c->serial,
           (unsigned long long)++c->next_id);
  s->next_in_bucket = c->buckets[s->hash % c->nbuckets];
  c->buckets[s->hash % c->nbuckets] = s;
  list_push_back(&c->lru, &s->lru);
  c->count++;
  return s;
}
