/* Intrusive circular doubly-linked list (libuv's queue idea): the node lives inside the
 * element, so linking never allocates. An empty list is a head pointing at itself. */
#ifndef UVSQL_BASE_LIST_H
#define UVSQL_BASE_LIST_H

#include <stddef.h>

typedef struct list_node_s {
  struct list_node_s *next;
  struct list_node_s *prev;
} list_node_t;

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void list_init(list_node_t *h) {
  h->next = h;
  h->prev = h;
}
static inline int list_empty(const list_node_t *h) {
  return h->next == h;
}
static inline void list_push_back(list_node_t *h, list_node_t *n) {
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}
static inline void list_push_front(list_node_t *h, list_node_t *n) {
  list_push_back(h->next, n); /* before the first node: after the head */
}
static inline void list_remove(list_node_t *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n;
  n->prev = n;
}
static inline list_node_t *list_front(const list_node_t *h) {
  return h->next == h ? NULL : h->next;
}
/* Unlinks and returns the first node, or NULL. */
static inline list_node_t *list_pop_front(list_node_t *h) {
  list_node_t *n = list_front(h);
  if (n != NULL) {
    list_remove(n);
  }
  return n;
}

#endif
