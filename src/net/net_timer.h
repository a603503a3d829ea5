/* A one-shot timer on the runtime's loop (uv_timer; real under Bun too) and the loop clock.
 * Closing is asynchronous: the memory may go only after on_closed. Loop thread only. */
#ifndef UVSQL_NET_TIMER_H
#define UVSQL_NET_TIMER_H

#include <stdint.h>
#include <uv.h>

typedef struct net_timer_s net_timer_t;
typedef void (*net_timer_cb)(net_timer_t *t);

struct net_timer_s {
  uv_timer_t handle;
  net_timer_cb cb;
  net_timer_cb on_closed; /* may be NULL */
  void *data;
  int live;
};

int net_timer_init(net_timer_t *t, uv_loop_t *loop, net_timer_cb cb, void *data);
/* (Re)arms the timer to fire once after `ms`; `ref` says whether it keeps the process alive. */
void net_timer_start(net_timer_t *t, uint64_t ms, int ref);
void net_timer_stop(net_timer_t *t);
/* Closes the handle; on_closed (if any) runs later. No-op when not live. */
void net_timer_close(net_timer_t *t, net_timer_cb on_closed);

/* The loop's cached clock, in milliseconds. */
uint64_t net_now(uv_loop_t *loop);

#endif
