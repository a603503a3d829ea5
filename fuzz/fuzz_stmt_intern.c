/* Fuzz target stmt_intern: the prepared-statement cache (src/pg/pg_stmt.c) and the byte-string
 * interner (src/base/base_intern.c), driven by random operations decoded from the input and
 * checked against a simple model of each.
 *
 * Input: byte 0 = cache bound (0..7), byte 1 = interner bound (0..255), then operations of two
 * bytes each: an opcode and an argument. Keys are short byte strings chosen by the argument, so
 * the same keys come back often (hits, evictions, hash chains).
 *
 * Statement cache model: the engine's contract (pg_conn.c) is followed: find, and add only after
 * a miss; every query that relies on an entry holds a "user" and releases it exactly once; a
 * failed Parse detaches. Checked: count == live entries <= max; find returns the live entry
 * for its key and no other; an evicted entry was unused, parsed and the least recently used of
 * those; add fails only when full with nothing evictable; names are unique; detached entries
 * with users stay valid (ASan checks the frees).
 * Interner model: same bytes -> same id, ids 1..count in order, count <= max, 0 only when full.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../src/base/base_intern.h"
#include "../src/pg/pg_stmt.h"
#include "fuzz_util.h"

#define KEYS 24
#define MAX_ENTRIES 64

static void key_for(uint8_t arg, char *text, size_t *len, uint16_t *nparams, uint32_t types[2]) {
  unsigned k = arg % KEYS;
  *len = (size_t)snprintf(text, 32, "select %u", k / 3);
  *nparams = (uint16_t)(k % 3);   /* same text with different parameter lists: other keys */
  types[0] = k % 3 == 2 ? 25 : 23;
  types[1] = 23;
}

typedef struct {
  pg_stmt_t *s;
  unsigned key;
  uint32_t users;
  int dead;
  int parsed;
  uint64_t last_use;
  char name[PG_STMT_NAME_MAX];
} model_t;

typedef struct {
  model_t m[MAX_ENTRIES];
  int n;
  uint64_t clock;
} models_t;

static void model_drop(models_t *ms, int i) {
  ms->m[i] = ms->m[ms->n - 1];
  ms->n--;
}

static int live_for_key(const models_t *ms, unsigned key) {
  for (int i = 0; i < ms->n; i++) {
    if (!ms->m[i].dead && ms->m[i].key == key) {
      return i;
    }
  }
  return -1;
}

static uint32_t live_count(const models_t *ms) {
  uint32_t c = 0;
  for (int i = 0; i < ms->n; i++) {
    c += !ms->m[i].dead;
  }
  return c;
}

/* The entry the cache must evict: unused, parsed, least recently used. */
static int model_evictable(const models_t *ms) {
  int best = -1;
  for (int i = 0; i < ms->n; i++) {
    const model_t *e = &ms->m[i];
    if (!e->dead && e->users == 0 && e->parsed &&
        (best < 0 || e->last_use < ms->m[best].last_use)) {
      best = i;
    }
  }
  return best;
}

static void run_stmt(uint32_t max, const uint8_t *p, size_t n) {
  pg_stmt_cache_t c;
  pg_stmt_cache_init(&c, max);
  models_t ms;
  memset(&ms, 0, sizeof(ms));
  for (size_t at = 0; at + 1 < n; at += 2) {
    uint8_t op = p[at] % 5;
    uint8_t arg = p[at + 1];
    char text[32];
    size_t len;
    uint16_t np;
    uint32_t types[2];
    key_for(arg, text, &len, &np, types);
    unsigned key = arg % KEYS;
    switch (op) {
      case 0: { /* a query: find, else add; it then holds a user */
        pg_stmt_t *s = pg_stmt_find(&c, text, len, np, types);
        int li = live_for_key(&ms, key);
        FUZZ_CHECK(s == (li >= 0 ? ms.m[li].s : NULL), "find(%u) gave the wrong entry", key);
        if (s != NULL) {
          ms.m[li].users++;
          ms.m[li].last_use = ++ms.clock;
          s->users++;
          break;
        }
        char evicted[PG_STMT_NAME_MAX];
        memset(evicted, 'x', sizeof(evicted));
        int victim = live_count(&ms) >= max ? model_evictable(&ms) : -1;
        s = pg_stmt_add(&c, text, len, np, types, evicted);
        if (max == 0 || (live_count(&ms) >= max && victim < 0)) {
          FUZZ_CHECK(s == NULL, "add succeeded with %u/%u entries all in use", live_count(&ms),
                     max);
          break;
        }
        if (s == NULL) {
          break; /* out of memory */
        }
        if (victim >= 0) {
          FUZZ_CHECK(strcmp(evicted, ms.m[victim].name) == 0, "evicted '%s', expected '%s'",
                     evicted, ms.m[victim].name);
          model_drop(&ms, victim);
        } else {
          FUZZ_CHECK(evicted[0] == '\0', "evicted '%s' with room left", evicted);
        }
        FUZZ_CHECK(ms.n < MAX_ENTRIES, "model full");
        for (int i = 0; i < ms.n; i++) {
          FUZZ_CHECK(strcmp(ms.m[i].name, s->name) != 0, "name '%s' reused", s->name);
        }
        FUZZ_CHECK(s->users == 0 && !s->parsed && !s->dead, "a new entry is not fresh");
        model_t *e = &ms.m[ms.n++];
        memset(e, 0, sizeof(*e));
        e->s = s;
        e->key = key;
        e->users = 1;
        e->last_use = ++ms.clock;
        memcpy(e->name, s->name, PG_STMT_NAME_MAX);
        s->users++;
        break;
      }
      case 1: { /* ParseComplete for an entry */
        if (ms.n == 0) {
          break;
        }
        model_t *e = &ms.m[arg % ms.n];
        e->parsed = 1;
        e->s->parsed = 1;
        break;
      }
      case 2: { /* a query that used an entry is done */
        if (ms.n == 0) {
          break;
        }
        int i = arg % ms.n;
        model_t *e = &ms.m[i];
        if (e->users == 0) {
          break; /* the engine releases only what it holds */
        }
        FUZZ_CHECK(e->s->users == e->users, "users %u, model %u", e->s->users, e->users);
        pg_stmt_release(&c, e->s);
        e->users--;
        if (e->dead && e->users == 0) {
          model_drop(&ms, i); /* freed now */
        }
        break;
      }
      case 3: { /* failed Parse / invalidated plan */
        if (ms.n == 0) {
          break;
        }
        int i = arg % ms.n;
        model_t *e = &ms.m[i];
        pg_stmt_detach(&c, e->s);
        if (e->dead) {
          break; /* a second detach is a no-op */
        }
        if (e->users == 0) {
          model_drop(&ms, i);
        } else {
          e->dead = 1;
          FUZZ_CHECK(e->s->dead, "detached entry with users not marked dead");
        }
        break;
      }
      default: { /* look up without using */
        pg_stmt_t *s = pg_stmt_find(&c, text, len, np, types);
        int li = live_for_key(&ms, key);
        FUZZ_CHECK(s == (li >= 0 ? ms.m[li].s : NULL), "find(%u) gave the wrong entry", key);
        if (li >= 0) {
          ms.m[li].last_use = ++ms.clock;
        }
        break;
      }
    }
    FUZZ_CHECK(c.count == live_count(&ms), "count %u, model %u", c.count, live_count(&ms));
    FUZZ_CHECK(c.count <= c.max, "count %u > max %u", c.count, c.max);
    for (int i = 0; i < ms.n; i++) {
      FUZZ_CHECK(ms.m[i].s->users == ms.m[i].users && ms.m[i].s->dead == ms.m[i].dead,
                 "entry %d: users %u/%u dead %d/%d", i, ms.m[i].s->users, ms.m[i].users,
                 ms.m[i].s->dead, ms.m[i].dead);
    }
  }
  pg_stmt_cache_destroy(&c);
}

static void run_intern(uint32_t max, const uint8_t *p, size_t n) {
  base_intern_t t;
  base_intern_init(&t, max);
  /* Keys: runs of the input cut at 0xff, plus re-lookups of earlier keys. */
  const uint8_t *keys[256];
  size_t lens[256];
  uint32_t ids[256];
  int nkeys = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n && nkeys < 256; i++) {
    if (i < n && p[i] != 0xff) {
      continue;
    }
    const uint8_t *k = p + start;
    size_t kn = i - start;
    start = i + 1;
    int is_new = 0;
    uint32_t before = t.count;
    uint32_t id = base_intern(&t, k, kn, &is_new);
    int known = -1;
    for (int j = 0; j < nkeys; j++) {
      if (ids[j] != 0 && lens[j] == kn && memcmp(keys[j], k, kn) == 0) {
        known = j;
        break;
      }
    }
    if (known >= 0) {
      FUZZ_CHECK(id == ids[known] && !is_new, "key interned twice: %u then %u", ids[known], id);
    } else if (id == 0) {
      FUZZ_CHECK(!is_new && t.count == before, "id 0 but is_new %d", is_new);
      FUZZ_CHECK(before >= max || t.count == before, "refused with room left");
    } else {
      FUZZ_CHECK(is_new && id == before + 1 && t.count == id, "new id %u after %u", id, before);
    }
    FUZZ_CHECK(t.count <= t.max, "count %u > max %u", t.count, t.max);
    FUZZ_CHECK(t.cap == 0 || (t.count * 2 <= t.cap && (t.cap & (t.cap - 1)) == 0),
               "count %u in cap %u", t.count, t.cap);
    keys[nkeys] = k;
    lens[nkeys] = kn;
    ids[nkeys] = id;
    nkeys++;
  }
  /* Every id handed out is still found. */
  for (int j = 0; j < nkeys; j++) {
    if (ids[j] != 0) {
      int is_new = 1;
      FUZZ_CHECK(base_intern(&t, keys[j], lens[j], &is_new) == ids[j] && !is_new,
                 "key %d lost", j);
    }
  }
  base_intern_destroy(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  run_stmt(data[0] % 8, data + 2, size - 2);
  run_intern(data[1], data + 2, size - 2);
  return 0;
}
