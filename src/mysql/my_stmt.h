/* Per-connection cache of server-side prepared statements, keyed by SQL text.
 *
 * Bounded (LRU): when full, the least recently used statement that no queued command relies on
 * is evicted and the caller sends COM_STMT_CLOSE for its id. An entry is PREPARING from its
 * COM_STMT_PREPARE being queued until the answer; a failed prepare takes it out of the table.
 * Entries are also handed out uncached ("one-shot", when the cache is off or every entry is in
 * use): the caller closes those right after their execution. Owned by one my_conn_t; runs on
 * the loop thread.
 */
#ifndef UVSQL_MY_STMT_H
#define UVSQL_MY_STMT_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"
#include "../base/base_list.h"

typedef enum {
  MY_STMT_PREPARING, /* COM_STMT_PREPARE queued or sent; no answer yet */
  MY_STMT_READY,     /* the server gave its id */
  MY_STMT_FAILED,    /* the prepare failed: a query still holding it must prepare again */
} my_stmt_state_t;

typedef struct my_stmt_s {
  list_node_t lru;      /* most recently used at the back; in `loose` when not in the table */
  struct my_stmt_s *next_in_bucket;
  uint64_t hash;
  char *text;           /* owned */
  size_t text_len;
  my_stmt_state_t state;
  uint32_t id;          /* valid when READY */
  uint16_t nparams;     /* from the prepare answer */
  uint16_t ncols;
  uint32_t users;       /* queued commands that rely on it: never freed while > 0 */
  buf_t meta;           /* owned: its result's column definitions as sent (u32 length, packet)
                         * for executions that skip them (MariaDB's CACHE_METADATA) */
  uint16_t meta_ncols;  /* how many definitions meta holds (0: none yet; may differ from
                         * ncols once the table changed: the server re-prepares on its own) */
  int cached;           /* in the table */
} my_stmt_t;

typedef struct {
  my_stmt_t **buckets;  /* owned */
  uint32_t nbuckets;
  uint32_t count;
  uint32_t max;
  list_node_t lru;
  list_node_t loose;    /* one-shot and detached entries still used by queued commands */
} my_stmt_cache_t;

void my_stmt_cache_init(my_stmt_cache_t *c, uint32_t max);
void my_stmt_cache_destroy(my_stmt_cache_t *c);

/* The cached entry for `text` (PREPARING or READY), or NULL. Marks it most recently used. */
my_stmt_t *my_stmt_find(my_stmt_cache_t *c, const char *text, size_t text_len);

/* A new PREPARING entry with users = 1. Cached when `may_cache` and the cache has room or can
 * evict: then *evicted and *evicted_id name the statement to close (*evicted = 0 when none).
 * Otherwise (cache off, all in use, or !may_cache) a one-shot entry, cached == 0. NULL on
 * ENOMEM. */
my_stmt_t *my_stmt_add(my_stmt_cache_t *c, const char *text, size_t text_len, int may_cache,
                       int *evicted, uint32_t *evicted_id);

/* Takes an entry out of the table (failed prepare): later queries prepare again. */
void my_stmt_detach(my_stmt_cache_t *c, my_stmt_t *s);

/* A queued command that used `s` is done; an uncached entry is freed with its last user. */
void my_stmt_release(my_stmt_cache_t *c, my_stmt_t *s);

/* Forgets every cached statement (COM_RESET_CONNECTION dropped them on the server). Entries
 * still in use become uncached. */
void my_stmt_clear(my_stmt_cache_t *c);

#endif
