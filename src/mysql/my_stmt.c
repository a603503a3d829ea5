/* The MySQL prepared-statement cache: a chained hash table over the SQL text plus an LRU list. */
#include "my_stmt.h"

#include <stdlib.h>
#include <string.h>

static uint64_t text_hash(const char *text, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) {
    h = (h ^ (uint8_t)text[i]) * 1099511628211ull;
  }
  return h;
}

void my_stmt_cache_init(my_stmt_cache_t *c, uint32_t max) {
  memset(c, 0, sizeof(*c));
  c->max = max;
  list_init(&c->lru);
  list_init(&c->loose);
}

static void stmt_free(my_stmt_t *s) {
  buf_destroy(&s->meta);
  free(s->text);
  free(s);
}

void my_stmt_cache_destroy(my_stmt_cache_t *c) {
  list_node_t *n;
  while ((n = list_pop_front(&c->lru)) != NULL) {
    stmt_free(container_of(n, my_stmt_t, lru));
  }
  while ((n = list_pop_front(&c->loose)) != NULL) {
    stmt_free(container_of(n, my_stmt_t, lru));
  }
  free(c->buckets);
  c->buckets = NULL;
  c->nbuckets = 0;
  c->count = 0;
}

my_stmt_t *my_stmt_find(my_stmt_cache_t *c, const char *text, size_t text_len) {
  if (c->nbuckets == 0) {
    return NULL;
  }
  uint64_t h = text_hash(text, text_len);
  for (my_stmt_t *s = c->buckets[h % c->nbuckets]; s != NULL; s = s->next_in_bucket) {
    if (s->hash == h && s->text_len == text_len && memcmp(s->text, text, text_len) == 0) {
      list_remove(&s->lru);
      list_push_back(&c->lru, &s->lru);
      return s;
    }
  }
  return NULL;
}

static void bucket_unlink(my_stmt_cache_t *c, my_stmt_t *s) {
  my_stmt_t **pp = &c->buckets[s->hash % c->nbuckets];
  while (*pp != NULL && *pp != s) {
    pp = &(*pp)->next_in_bucket;
  }
  if (*pp == s) {
    *pp = s->next_in_bucket;
  }
}

void my_stmt_detach(my_stmt_cache_t *c, my_stmt_t *s) {
  if (!s->cached) {
    return;
  }
  bucket_unlink(c, s);
  list_remove(&s->lru);
  c->count--;
  s->cached = 0;
  if (s->users == 0) {
    stmt_free(s);
    return;
  }
  list_push_back(&c->loose, &s->lru);
}

void my_stmt_release(my_stmt_cache_t *c, my_stmt_t *s) {
  (void)c;
  if (s->users > 0) {
    s->users--;
  }
  if (!s->cached && s->users == 0) {
    list_remove(&s->lru);
    stmt_free(s);
  }
}

void my_stmt_clear(my_stmt_cache_t *c) {
  list_node_t *n;
  while ((n = list_front(&c->lru)) != NULL) {
    my_stmt_detach(c, container_of(n, my_stmt_t, lru));
  }
}

/* The least recently used entry nobody relies on, with an id to close. */
static my_stmt_t *evictable(my_stmt_cache_t *c) {
  for (list_node_t *n = c->lru.next; n != &c->lru; n = n->next) {
    my_stmt_t *s = container_of(n, my_stmt_t, lru);
    if (s->users == 0 && s->state == MY_STMT_READY) {
      return s;
    }
  }
  return NULL;
}

my_stmt_t *my_stmt_add(my_stmt_cache_t *c, const char *text, size_t text_len, int may_cache,
                       int *evicted, uint32_t *evicted_id) {
  *evicted = 0;
  *evicted_id = 0;
  my_stmt_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return NULL;
  }
  s->text = malloc(text_len > 0 ? text_len : 1);
  if (s->text == NULL) {
    free(s);
    return NULL;
  }
  memcpy(s->text, text, text_len);
  s->text_len = text_len;
  s->hash = text_hash(text, text_len);
  s->state = MY_STMT_PREPARING;
  s->users = 1;
  int cache = may_cache && c->max > 0;
  if (cache && c->nbuckets == 0) {
    /* Twice the bound: chains stay short without ever rehashing. */
    c->buckets = calloc((size_t)c->max * 2 + 1, sizeof(my_stmt_t *));
    if (c->buckets != NULL) {
      c->nbuckets = c->max * 2 + 1;
    } else {
      cache = 0;
    }
  }
  if (cache && c->count >= c->max) {
    my_stmt_t *old = evictable(c);
    if (old == NULL) {
      cache = 0;
    } else {
      *evicted = 1;
      *evicted_id = old->id;
      my_stmt_detach(c, old);
    }
  }
  if (!cache) {
    list_push_back(&c->loose, &s->lru);
    return s;
  }
  s->cached = 1;
  s->next_in_bucket = c->buckets[s->hash % c->nbuckets];
  c->buckets[s->hash % c->nbuckets] = s;
  list_push_back(&c->lru, &s->lru);
  c->count++;
  return s;
}
