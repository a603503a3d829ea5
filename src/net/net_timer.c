#include "net_timer.h"

static void on_timer(uv_timer_t *h) {
  net_timer_t *t = h->data;
  t->cb(t);
}

int net_timer_init(net_timer_t *t, uv_loop_t *loop, net_timer_cb cb, void *data) {
  t->cb = cb;
  t->on_closed = NULL;
  t->data = data;
  int rc = uv_timer_init(loop, &t->handle);
  if (rc < 0) {
    t->live = 0;
    return rc;
  }
  t->handle.data = t;
  t->live = 1;
  uv_unref((uv_handle_t *)&t->handle);
  return 0;
}

void net_timer_start(net_timer_t *t, uint64_t ms, int ref) {
  if (!t->live) {
    return;
  }
  uv_timer_start(&t->handle, on_timer, ms, 0);
  if (ref) {
    uv_ref((uv_handle_t *)&t->handle);
  } else {
    uv_unref((uv_handle_t *)&t->handle);
  }
}

void net_timer_stop(net_timer_t *t) {
  if (t->live) {
    uv_timer_stop(&t->handle);
  }
}

static void on_timer_closed(uv_handle_t *h) {
  net_timer_t *t = h->data;
  if (t->on_closed != NULL) {
    t->on_closed(t);
  }
}

void net_timer_close(net_timer_t *t, net_timer_cb on_closed) {
  if (!t->live) {
    return;
  }
  t->live = 0;
  t->on_closed = on_closed;
  uv_close((uv_handle_t *)&t->handle, on_timer_closed);
}

uint64_t net_now(uv_loop_t *loop) {
  return uv_now(loop);
}
