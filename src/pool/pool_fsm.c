/* The slot state machine: one table, one writer.
 *
 * pool_slot_fire() is the only code that assigns slot->state. The table lists every legal
 * move; anything else is refused: an assert in debug builds, a counted no-op in release builds
 * (the caller then closes that connection), never a corrupted pool. Debug builds also check
 * the pool's invariants after every transition.
 */
#include <assert.h>

#include "../base/base_err.h"
#include "pool_int.h"

#define BAD SLOT__COUNT

static const uint8_t slot_next[SLOT__COUNT][SLOT_EV__COUNT] = {
  [SLOT_EMPTY] = {
    [SLOT_EV_OPEN] = SLOT_CONNECTING, [SLOT_EV_HANDSHAKE] = BAD, [SLOT_EV_ACCEPT] = BAD,
    [SLOT_EV_LEASE] = BAD, [SLOT_EV_DRAINED] = BAD, [SLOT_EV_DIED] = BAD, [SLOT_EV_CLOSE] = BAD,
    [SLOT_EV_RESERVE] = BAD, [SLOT_EV_RELEASE] = BAD,
  },
  [SLOT_CONNECTING] = {
    [SLOT_EV_OPEN] = BAD, [SLOT_EV_HANDSHAKE] = SLOT_PENDING, [SLOT_EV_ACCEPT] = BAD,
    [SLOT_EV_LEASE] = BAD, [SLOT_EV_DRAINED] = BAD, [SLOT_EV_DIED] = SLOT_EMPTY,
    [SLOT_EV_CLOSE] = SLOT_CLOSING, [SLOT_EV_RESERVE] = BAD, [SLOT_EV_RELEASE] = BAD,
  },
  [SLOT_PENDING] = {
    [SLOT_EV_OPEN] = BAD, [SLOT_EV_HANDSHAKE] = BAD, [SLOT_EV_ACCEPT] = SLOT_READY,
    [SLOT_EV_LEASE] = BAD, [SLOT_EV_DRAINED] = BAD, [SLOT_EV_DIED] = SLOT_EMPTY,
    [SLOT_EV_CLOSE] = SLOT_CLOSING, [SLOT_EV_RESERVE] = BAD, [SLOT_EV_RELEASE] = BAD,
  },
  [SLOT_READY] = {
    [SLOT_EV_OPEN] = BAD, [SLOT_EV_HANDSHAKE] = BAD, [SLOT_EV_ACCEPT] = BAD,
    [SLOT_EV_LEASE] = SLOT_BUSY, [SLOT_EV_DRAINED] = BAD, [SLOT_EV_DIED] = SLOT_EMPTY,
    [SLOT_EV_CLOSE] = SLOT_CLOSING, [SLOT_EV_RESERVE] = SLOT_RESERVED, [SLOT_EV_RELEASE] = BAD,
  },
  [SLOT_BUSY] = {
    [SLOT_EV_OPEN] = BAD, [SLOT_EV_HANDSHAKE] = BAD, [SLOT_EV_ACCEPT] = BAD,
    [SLOT_EV_LEASE] = SLOT_BUSY, [SLOT_EV_DRAINED] = SLOT_READY, [SLOT_EV_DIED] = SLOT_EMPTY,
    [SLOT_EV_CLOSE] = SLOT_CLOSING, [SLOT_EV_RESERVE] = BAD, [SLOT_EV_RELEASE] = BAD,
  },
  [SLOT_RESERVED] = {
    [SLOT_EV_OPEN] = BAD, [SLOT_EV_HANDSHAKE] = BAD, [SLOT_EV_ACCEPT] = BAD,
    [SLOT_EV_LEASE] = SLOT_RESERVED, [SLOT_EV_DRAINED] = SLOT_RESERVED,
    [SLOT_EV_DIED] = SLOT_EMPTY, [SLOT_EV_CLOSE] = SLOT_CLOSING, [SLOT_EV_RESERVE] = BAD,
    [SLOT_EV_RELEASE] = SLOT_READY,
  },
  [SLOT_CLOSING] = {
    [SLOT_EV_OPEN] = BAD, [SLOT_EV_HANDSHAKE] = BAD, [SLOT_EV_ACCEPT] = BAD,
    [SLOT_EV_LEASE] = BAD, [SLOT_EV_DRAINED] = BAD, [SLOT_EV_DIED] = SLOT_EMPTY,
    [SLOT_EV_CLOSE] = BAD, [SLOT_EV_RESERVE] = BAD, [SLOT_EV_RELEASE] = BAD,
  },
};

#ifdef UVSQL_DEBUG
static void check_invariants(const pool_t *p) {
  uint32_t open = 0;
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    const pool_slot_t *s = &p->slots[i];
    /* Only a live connection can be READY/BUSY/PENDING; an EMPTY slot has none. */
    assert((s->state == SLOT_EMPTY) == (s->conn == NULL) || s->state == SLOT_CONNECTING);
    assert(s->state == SLOT_BUSY || s->state == SLOT_RESERVED || s->state == SLOT_CLOSING ||
           s->inflight == 0);
    open += s->state != SLOT_EMPTY;
  }
  assert(open <= p->cfg.max);
  assert(!p->closing || list_empty(&p->waiting) || open > 0 || p->retry_at_ms != 0 ||
         p->in_callback > 0);
}
#endif

int pool_slot_fire(pool_t *p, uint32_t index, pool_slot_event_t ev) {
  pool_slot_t *s = &p->slots[index];
  uint8_t next = slot_next[s->state][ev];
  if (next == BAD) {
    p->stats.bad_transitions++;
    assert(!"illegal pool slot transition");
    return DB_ESTATE;
  }
  if (ev == SLOT_EV_DIED) {
    /* Every lease, timer and notification that names the old generation is now stale. */
    s->gen++;
    s->inflight = 0;
    s->conn = NULL;
    s->expired = 0;
  }
  if (ev == SLOT_EV_RESERVE || ev == SLOT_EV_RELEASE || ev == SLOT_EV_DIED) {
    s->release_pending = 0;
    s->discard_pending = 0;
  }
  if (ev == SLOT_EV_RESERVE) {
    s->lease_seq++; /* a new lease: every earlier one (released or dead) is now stale */
  }
  if (next == SLOT_READY) {
    s->idle_since_ms = net_now(p->loop);
  }
  if (ev == SLOT_EV_ACCEPT) {
    s->born_ms = s->idle_since_ms;
  }
  s->state = (pool_slot_state_t)next;
  /* An idle connection must not keep the process alive; one with work (or connecting) must.
   * A reserved one with no query running is idle too: a forgotten reserve() must not keep a
   * process from exiting. */
  if (s->conn != NULL) {
    int idle = next == SLOT_READY || (next == SLOT_RESERVED && s->inflight == 0);
    net_sock_set_ref(&s->conn->sock, !idle);
  }
#ifdef UVSQL_DEBUG
  check_invariants(p);
#endif
  return 0;
}
