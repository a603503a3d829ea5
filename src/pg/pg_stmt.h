/* Per-connection cache of named prepared statements, keyed by query text and parameter types.
 *
 * Bounded: when full, the least recently used statement is evicted and the caller sends a
 * Close for it. An entry is PENDING from the Parse being queued until its ParseComplete; a Parse
 * that fails removes the entry (the server never created the statement). Owned by one
 * pg_conn_t; runs on the loop thread.
 */
#ifndef UVSQL_PG_STMT_H
#define UVSQL_PG_STMT_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_list.h"

#define PG_STMT_NAME_MAX 24

typedef struct pg_stmt_s {
  list_node_t lru;      /* most recently used at the back; in `dead` once detached */
  struct pg_stmt_s *next_in_bucket;
  uint64_t hash;
  char *text;           /* owned */
  size_t text_len;
  uint32_t *types;      /* owned */
  uint16_t nparams;
  int parsed;           /* ParseComplete seen */
  uint32_t users;       /* queued queries that rely on it: never freed while > 0 */
  int dead;             /* detached from the table: freed when the last user is done */
  char name[PG_STMT_NAME_MAX];
} pg_stmt_t;

typedef struct {
  pg_stmt_t **buckets;  /* owned */
  uint32_t nbuckets;
  uint32_t count;
  uint32_t max;
  uint64_t next_id;
  uint64_t serial;      /* process-unique, part of every name (servers shared by connections,
                         * like PGlite's, would otherwise see one name twice) */
  list_node_t lru;
  list_node_t dead;     /* detached entries still used by queued queries */
} pg_stmt_cache_t;

void pg_stmt_cache_init(pg_stmt_cache_t *c, uint32_t max);
void pg_stmt_cache_destroy(pg_stmt_cache_t *c);

/* The entry for (text, types), or NULL. Marks it most recently used. */
pg_stmt_t *pg_stmt_find(pg_stmt_cache_t *c, const char *text, size_t text_len, uint16_t nparams,
                        const uint32_t *types);

/* Adds a new entry with a fresh name. When the cache is full, *evicted receives the name of the
 * statement the caller must Close (NUL-terminated, else ""). NULL on ENOMEM, or when every
 * entry is in use and nothing can be evicted (the caller then uses an unnamed statement). */
pg_stmt_t *pg_stmt_add(pg_stmt_cache_t *c, const char *text, size_t text_len, uint16_t nparams,
                       const uint32_t *types, char evicted[PG_STMT_NAME_MAX]);

/* Takes an entry out of the table (failed Parse, invalidated plan): later queries prepare
 * again. It is freed once no queued query uses it. */
void pg_stmt_detach(pg_stmt_cache_t *c, pg_stmt_t *s);

/* A queued query that used `s` is done. */
void pg_stmt_release(pg_stmt_cache_t *c, pg_stmt_t *s);

#endif
