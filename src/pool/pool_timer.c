/* The pool's deadlines, on one timer: retries after failed dials (capped exponential backoff
 * with jitter, until connectionTimeout), idle and lifetime expiry, and the close deadline.
 * Also the re-sends of cancels whose query still ran (pool_cancel.c). The timer keeps the process alive only while queries wait for a retry or a close has a
 * deadline; an idle pool's timers never do. */
#include <errno.h>

#include "../base/base_err.h"
#include "pool_int.h"

#define RETRY_BASE_MS 50u
#define RETRY_CAP_MS 2000u

static uint64_t next_random(pool_t *p) {
  /* xorshift64: jitter only, not security */
  uint64_t x = p->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  p->rng = x;
  return x;
}

void pool__reset_retry(pool_t *p) {
  p->retry_attempt = 0;
  p->retry_at_ms = 0;
  p->retry_until_ms = 0;
}

int pool__plan_retry(pool_t *p, int code) {
  (void)code;
  uint64_t now = net_now(p->loop);
  uint64_t window = p->cfg.connect_timeout_ms > 0 ? p->cfg.connect_timeout_ms : 30000;
  if (p->retry_until_ms == 0) {
    p->retry_until_ms = now + window;
  }
  if (now >= p->retry_until_ms) {
    return 0;
  }
  uint32_t shift = p->retry_attempt < 10 ? p->retry_attempt : 10;
  uint64_t delay = (uint64_t)RETRY_BASE_MS << shift;
  if (delay > RETRY_CAP_MS) {
    delay = RETRY_CAP_MS;
  }
  /* Equal jitter: half fixed, half random, so a pool's many slots do not dial in lockstep. */
  delay = delay / 2 + next_random(p) % (delay / 2 + 1);
  p->retry_attempt++;
  p->retry_at_ms = now + delay;
  if (p->retry_at_ms > p->retry_until_ms) {
    p->retry_at_ms = p->retry_until_ms;
  }
  return 1;
}

static uint64_t earliest(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

void pool__schedule(pool_t *p) {
  uint64_t due = UINT64_MAX;
  if (p->retry_at_ms != 0) {
    due = earliest(due, p->retry_at_ms);
  }
  if (p->close_deadline_ms != 0) {
    due = earliest(due, p->close_deadline_ms);
  }
  uint64_t now = net_now(p->loop);
  if (p->flush_pending > 0) {
    due = now; /* queries held back for one write (pool__conn_flush_soon) */
  }
  due = earliest(due, pool__cancel_resends(p, now, 0));
  if (p->cfg.idle_timeout_ms > 0 || p->cfg.max_lifetime_ms > 0) {
    for (uint32_t i = 0; i < p->cfg.max; i++) {
      const pool_slot_t *s = &p->slots[i];
      if (s->state == SLOT_READY && p->cfg.idle_timeout_ms > 0) {
        due = earliest(due, s->idle_since_ms + p->cfg.idle_timeout_ms);
      }
      if ((s->state == SLOT_READY || s->state == SLOT_BUSY || s->state == SLOT_RESERVED) &&
          p->cfg.max_lifetime_ms > 0 && !s->expired) {
        due = earliest(due, s->born_ms + p->cfg.max_lifetime_ms);
      }
    }
  }
  if (due == UINT64_MAX) {
    net_timer_stop(&p->timer);
    return;
  }
  if (!p->timer.live) {
    /* Created on first need. Once closed (or closing, at the end of pool_close) its memory is
     * never initialised again: libuv may still own it until the close callback. */
    if (p->timer.cb != NULL || p->close_reported ||
        net_timer_init(&p->timer, p->loop, pool__on_timer, p) < 0) {
      return;
    }
  }
  /* A cancel re-send is for a query in flight, which keeps the process alive anyway. */
  int ref = (p->retry_at_ms != 0 && p->nwaiting > 0) || p->close_deadline_ms != 0 ||
            p->flush_pending > 0 || p->resends_pending > 0;
  net_timer_start(&p->timer, due > now ? due - now : 0, ref);
}

void pool__on_timer(net_timer_t *t) {
  pool_t *p = t->data;
  uint64_t now = net_now(p->loop);
  p->in_callback++;
  if (p->close_deadline_ms != 0 && now >= p->close_deadline_ms) {
    p->close_deadline_ms = 0;
    pool_close(p, 1, 0); /* the graceful close ran out of time */
  }
  for (uint32_t i = 0; i < p->cfg.max; i++) {
    pool_slot_t *s = &p->slots[i];
    if (s->state == SLOT_READY && p->cfg.idle_timeout_ms > 0 &&
        now >= s->idle_since_ms + p->cfg.idle_timeout_ms) {
      p->stats.closed_idle++;
      pool__retire(p, i, DB_EIDLE);
      continue;
    }
    if ((s->state == SLOT_READY || s->state == SLOT_BUSY || s->state == SLOT_RESERVED) &&
        p->cfg.max_lifetime_ms > 0 && !s->expired &&
        now >= s->born_ms + p->cfg.max_lifetime_ms) {
      /* No new queries; a busy one retires when it drains, a reserved one when released. */
      s->expired = 1;
      if (s->state == SLOT_READY) {
        p->stats.closed_lifetime++;
        pool__retire(p, i, DB_ELIFETIME);
      }
    }
  }
  if (p->retry_at_ms != 0 && now >= p->retry_at_ms) {
    p->retry_at_ms = 0; /* dispatch (at the end of this callback) dials again */
  }
  (void)pool__cancel_resends(p, now, 1);
  pool__end_callback(p);
}
