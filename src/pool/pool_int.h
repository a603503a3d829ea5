/* Internal to src/pool: what the pool's files share. Loop thread only. */
#ifndef UVSQL_POOL_INT_H
#define UVSQL_POOL_INT_H

#include "pool_conn.h"

/* The only writer of slot->state (pool_fsm.c). 0 or DB_ESTATE (refused, counted). */
int pool_slot_fire(pool_t *p, uint32_t index, pool_slot_event_t ev);

/* Sends waiting queries to slots that can take them and opens connections (pool.c). */
void pool__dispatch(pool_t *p);
/* Sends what pool__conn_flush_soon held back, on every connection. */
void pool__flush_pending(pool_t *p);
/* Retires a connection: Terminate, then close once written; `reason` goes to onclose. */
void pool__retire(pool_t *p, uint32_t index, int reason);

/* Housekeeping timer (pool_timer.c): re-arms it for the earliest deadline. */
void pool__schedule(pool_t *p);
void pool__on_timer(net_timer_t *t);
/* A dial failed: schedule a retry with backoff, or give up. Returns 1 when a retry is
 * scheduled, 0 when the waiting queries must fail now. */
int pool__plan_retry(pool_t *p, int code);
void pool__reset_retry(pool_t *p);

#endif
