/* The connection pool: slots, their connections, and the queue of queries waiting for one.
 *
 * Driver-agnostic above the socket: a connection is an engine (pg_conn_t) fed by a socket
 * (net_sock_t). A slot's state is one enum value moved only by pool_slot_fire() through a
 * transition table (pool_fsm.c); every connection carries the slot generation it was opened
 * for, and events from a connection whose generation is stale change nothing.
 *
 * A finished handshake moves the slot to PENDING and the owner is told (on_connected); the
 * owner answers with pool_accept_ready() from a later turn of the loop (through a threadsafe
 * function in the Node-API layer). Only a slot still PENDING with the same generation becomes
 * READY: a close that came first (same read, same tick) already moved it to EMPTY and bumped
 * the generation, so the late notification is dropped and counted. This is the structural
 * fix for Bun's ghost-ready-connection bug (PR 30950).
 *
 * Query events are forwarded to the owner (the Node-API layer) synchronously; the owner batches
 * them and hands them to JS when pool_handler_t.flush is called at the end of each I/O callback.
 * Everything runs on the loop thread.
 */
#ifndef UVSQL_POOL_H
#define UVSQL_POOL_H

#include <stdint.h>
#include <uv.h>

#include "../base/base_list.h"
#include "../net/net_sock.h"
#include "../net/net_timer.h"
#include "../pg/pg.h"
#include "../tls/tls.h"

typedef enum {
  SLOT_EMPTY,      /* no connection */
  SLOT_CONNECTING, /* socket and handshake in progress */
  SLOT_PENDING,    /* handshake done; the ready notification is in flight */
  SLOT_READY,      /* idle, open for queries */
  SLOT_BUSY,       /* queries in flight (pipelined) */
  SLOT_RESERVED,   /* an exclusive lease: reserve() or begin(); only its holder sends queries */
  SLOT_CLOSING,    /* retired: Terminate sent or socket closing; gives no more work */
  SLOT__COUNT
} pool_slot_state_t;

typedef enum {
  SLOT_EV_OPEN,      /* start a connection */
  SLOT_EV_HANDSHAKE, /* the server said ReadyForQuery for the first time */
  SLOT_EV_ACCEPT,    /* the ready notification arrived and still matched */
  SLOT_EV_LEASE,     /* a query was sent on it */
  SLOT_EV_DRAINED,   /* its last query finished */
  SLOT_EV_DIED,      /* the connection failed or closed */
  SLOT_EV_CLOSE,     /* the pool retires it */
  SLOT_EV_RESERVE,   /* an exclusive lease takes the idle connection */
  SLOT_EV_RELEASE,   /* the lease was given back and nothing runs on it */
  SLOT_EV__COUNT
} pool_slot_event_t;

typedef struct pool_s pool_t;
typedef struct pool_conn_s pool_conn_t;

/* A query, owned by the pool from pool_query_submit() until on_query_done. */
typedef struct pool_query_s {
  list_node_t node;  /* in pool->waiting while queued */
  char *text;        /* in the query's own block (pool_query_new), like values/types/storage */
  size_t text_len;
  uint16_t nparams;
  slice_t *values;   /* array; bytes in `storage` */
  uint32_t *types;   /* array of parameter type OIDs (0 = inferred) */
  int simple;        /* simple protocol: no parameters, several statements allowed */
  int reserve;       /* not a query: a request for an exclusive lease (on_reserved answers); 2:
                      * for a transaction, whose lease outlives a graceful close (close_hold) */
  int sent;          /* on a connection: `slot` and `gen` say which */
  int replan;        /* it runs once more: its cached plan went stale (0A000/26000), or a
                      * cancel meant for an earlier query hit it (pool_engine.c) */
  int replanned;     /* ...and that already happened: a second failure is reported */
  int delivered;     /* a command tag went to the owner: it can never run again */
  int rows_seen;     /* rows went to the owner; it may run again only if the owner can take
                      * them back (on_query_retry) */
  int cancel_requested; /* pool_query_cancel() took it: a second call changes nothing */
  uint32_t slot;
  uint32_t gen;
  uint64_t queued_ms; /* when it was submitted (waiter time) */
  uint8_t *storage;  /* the parameters' bytes */
  void *data;        /* owner's pointer */
} pool_query_t;

typedef struct {
  void (*on_fields)(void *ctx, pool_query_t *q, const db_field_t *f, uint16_t n);
  void (*on_row)(void *ctx, pool_query_t *q, const uint8_t *body, size_t n);
  void (*on_command)(void *ctx, pool_query_t *q, slice_t tag);
  void (*on_query_error)(void *ctx, pool_query_t *q, const db_error_t *e);
  /* The pool wants to run `q` once more (a cancel meant for an earlier query hit it): 1 when
   * none of its rows reached the user yet and the owner dropped what it kept (the rows come
   * again), 0 when some did (the error is then the answer). May be NULL: never. */
  int (*on_query_retry)(void *ctx, pool_query_t *q);
  /* status 0: finished (maybe with a server error reported before); < 0: failed with `message`
   * and, when the server said why, `err`. The pool frees q after this returns. */
  void (*on_query_done)(void *ctx, pool_query_t *q, int status, const char *message,
                        const db_error_t *err);
  /* A reservation request got its connection: the lease is {slot, seq}. The pool frees q
   * after this returns. A request that fails gets on_query_done(status < 0) instead. */
  void (*on_reserved)(void *ctx, pool_query_t *q, uint32_t slot, uint32_t gen);
  /* The connection of lease {slot, seq} is gone (the holder's later queries will fail). */
  void (*on_lease_lost)(void *ctx, uint32_t slot, uint32_t seq);
  /* A handshake finished: answer with pool_accept_ready(slot, gen) from a later loop turn. */
  void (*on_connected)(void *ctx, uint32_t slot, uint32_t gen);
  /* A connection that had been accepted is gone: `code` says why (DB_ECLOSED, DB_EIDLE,
   * DB_ELIFETIME, a socket error...). Once per accepted connection. */
  void (*on_disconnected)(void *ctx, int code, const char *message);
  /* pool_close() finished: every connection is gone. */
  void (*on_closed)(void *ctx);
  /* End of one I/O callback: deliver what was batched. */
  void (*flush)(void *ctx);
  /* With cfg.password_fn: connection `slot`/`gen` waits for pool_password_supplied(). */
  void (*on_password_needed)(void *ctx, uint32_t slot, uint32_t gen);
  /* Optional: a NoticeResponse / NotificationResponse from any connection. */
  void (*on_notice)(void *ctx, const db_error_t *notice);
  void (*on_notification)(void *ctx, uint32_t pid, slice_t channel, slice_t payload);
} pool_handler_t;

/* Which wire protocol the pool's connections speak. */
typedef enum {
  POOL_PROTO_PG,    /* PostgreSQL (src/pg) */
  POOL_PROTO_MYSQL, /* MySQL and MariaDB (src/mysql) */
} pool_proto_t;

typedef struct {
  pool_proto_t proto;
  char *host;       /* owned; NULL with `path` */
  uint16_t port;
  char *path;       /* owned: full unix socket path, or NULL */
  char *user;       /* owned */
  char *password;   /* owned, wiped */
  char *database;   /* owned */
  char **params;    /* owned: key, value, ..., NULL */
  uint32_t max;     /* slots */
  uint32_t max_pipeline; /* queries in flight on one connection */
  uint32_t stmt_cache_max; /* prepared statements per connection; 0 = prepare: false */
  uint64_t connect_timeout_ms; /* each attempt's deadline, and how long failed dials retry */
  uint64_t idle_timeout_ms;    /* 0 = never: close a connection idle this long */
  uint64_t max_lifetime_ms;    /* 0 = never: retire a connection this old once it is idle */
  db_ssl_mode_t ssl_mode;  /* ignored on unix sockets (as Bun.SQL does) */
  pg_channel_binding_t channel_binding; /* PostgreSQL only */
  unsigned auth_allowed;   /* PostgreSQL require_auth: PG_AUTH_ALLOW_* bits, 0 = any */
  int password_fn;         /* the password comes from a (JS) function, once per connection */
  int allow_public_key_retrieval; /* MySQL: may ask the server for its RSA key over plaintext */
  tls_config_t tls;        /* owned: certificates and checks when ssl_mode is not DISABLE */
  net_js_t *js;            /* one counted reference (net_js_retain): the js I/O driver, or
                            * NULL for the uv driver */
} pool_config_t;

typedef struct {
  uint64_t opened;           /* connection attempts started */
  uint64_t connected;        /* connections accepted as READY */
  uint64_t connect_failures; /* attempts that died before READY */
  uint64_t closed;           /* connection objects freed */
  uint64_t closed_idle, closed_lifetime, closed_by_pool, closed_by_error;
  uint64_t retries;          /* dials scheduled after a failure (backoff) */
  uint64_t stale_events;     /* notifications/answers for a generation that moved on */
  uint64_t queries;
  uint64_t waiter_ms;        /* total time queries spent waiting for a connection */
  uint64_t bad_transitions;  /* refused state changes: must stay 0 */
  uint64_t cancel_resends;   /* cancels sent once more: acted on while their query still ran */
} pool_stats_t;

typedef struct {
  pool_slot_state_t state;
  uint32_t gen;        /* bumped whenever the slot's connection dies or is replaced */
  uint32_t inflight;   /* queries sent on the current connection and not yet done */
  pool_conn_t *conn;   /* the current connection (NULL when EMPTY) */
  uint64_t born_ms;    /* when the current connection was accepted */
  uint64_t idle_since_ms; /* when it last became READY */
  int expired;         /* max lifetime reached: retire once drained */
  int release_pending; /* the lease was given back while queries still ran on it */
  int discard_pending; /* ...and its connection must not serve anyone else (pool_release) */
  int close_hold;      /* a transaction's lease: a graceful close lets it run its next queries
                        * until it is released or the close deadline passes (as Bun.SQL) */
  uint32_t lease_seq;  /* bumped by every reservation: a lease is {slot, lease_seq}, so a
                        * released lease can never reach the next holder's transaction */
} pool_slot_t;

struct pool_s {
  uv_loop_t *loop;
  pool_config_t cfg;          /* owned */
  pool_slot_t *slots;         /* owned, cfg.max entries */
  list_node_t waiting;        /* pool_query_t, FIFO */
  uint32_t nwaiting;
  uint32_t live_conns;        /* connection objects not yet freed (incl. detached, closing) */
  uint32_t live_cancels;      /* CancelRequest / KILL QUERY connections not yet freed */
  list_node_t cancels;        /* pool_cancel_t of those connections (pool_cancel.c) */
  int closing;
  int close_reported;
  int in_callback;            /* nesting depth of pool-originated callbacks */
  int dispatching;            /* pool__dispatch is walking the waiting list */
  int dispatch_again;         /* ...and was asked for another pass meanwhile */
  uint32_t flush_pending;     /* connections whose queued queries wait for pool__flush_pending */
  uint32_t resends_pending;   /* connections with a cancel re-send due (pool_conn_t.resend_at_ms) */
  const pool_handler_t *handler;
  void *ctx;
  pool_stats_t stats;
  tls_ctx_t *tls_ctx;         /* owned; NULL without TLS */
  net_timer_t timer;          /* housekeeping: retries, idle, lifetime, close deadline */
  int timer_closed;           /* the timer handle finished closing */
  uint32_t retry_attempt;     /* failed dials in a row */
  uint64_t retry_at_ms;       /* 0, or when the next dial may start */
  uint64_t retry_until_ms;    /* 0, or when failed dials stop being retried */
  uint64_t close_deadline_ms; /* 0, or when a graceful close turns into an immediate one */
  uint64_t rng;               /* jitter */
};

/* Frees every string of cfg (wiping the password) and zeroes it. */
void pool_config_free(pool_config_t *cfg);

/* Takes ownership of cfg's strings. 0, DB_ENOMEM, or DB_ETLS with `errmsg` filled (bad
 * certificate or key); on failure cfg is freed. */
int pool_init(pool_t *p, uv_loop_t *loop, pool_config_t *cfg, const pool_handler_t *h, void *ctx,
              char *errmsg, size_t errlen);
/* Frees what is left. Only after on_closed (or if pool_close returned 1). */
void pool_destroy(pool_t *p);

/* Builds a query record with copies of text and values. NULL on ENOMEM. */
pool_query_t *pool_query_new(const char *text, size_t text_len, uint16_t nparams,
                             const uint32_t *types, const slice_t *values, void *data);
void pool_query_free(pool_query_t *q);

/* Hands q to the pool: 0, then exactly one on_query_done later; or < 0 (closed, ENOMEM) and
 * the caller still owns q. Never calls back synchronously. */
int pool_query_submit(pool_t *p, pool_query_t *q);

/* Queues a request for an exclusive lease (q has no text): FIFO with the queries; served by an
 * idle connection. for_tx: a transaction's lease, which runs its queries through a graceful
 * close (pool_slot_t.close_hold). Answered by on_reserved, which may come during this call when
 * a connection is idle (the caller must be ready for it), or by on_query_done on failure. */
int pool_reserve(pool_t *p, pool_query_t *q, int for_tx);

/* Sends q on the reserved connection {slot, seq}, pipelined behind what runs there. 0, then
 * on_query_done; or DB_ECLOSED when that lease is gone (the connection died or the pool closed
 * it): a query meant for a transaction never runs anywhere else. */
int pool_query_submit_on(pool_t *p, pool_query_t *q, uint32_t slot, uint32_t seq);

/* Gives the lease back; the connection returns to the pool once its queries finished, or with
 * `discard` is closed instead (its session holds state no one else may inherit, such as a
 * prepared XA transaction). A stale lease (its connection is gone) is a counted no-op. */
void pool_release(pool_t *p, uint32_t slot, uint32_t seq, int discard);

/* Cancels q: a waiting query is failed at once with DB_ECANCELED (its on_query_done is called
 * before this returns); a running one gets a CancelRequest (the server then fails it with
 * SQLSTATE 57014); one pipelined behind others gets it when its turn comes. From the request
 * until the cancel is resolved no query is given to q's connection, and from the sending on
 * nothing is written on it (pool_cancel.c explains why). 0; 1 when the cancel waits for q's
 * turn (queries were pipelined before it); < 0 when q is no longer in the pool's hands. */
int pool_query_cancel(pool_t *p, pool_query_t *q);

/* The answer to on_connected: the slot becomes READY if it is still PENDING with generation
 * `gen` (returns 1), else the notification is stale and dropped (returns 0). */
int pool_accept_ready(pool_t *p, uint32_t slot, uint32_t gen);

/* The password for connection slot/gen (from on_password_needed), or `error` (the function
 * failed). A stale slot/gen is ignored. */
void pool_password_supplied(pool_t *p, uint32_t slot, uint32_t gen, const char *password,
                            const char *error);

/* Stops taking queries. Waiting and running queries finish first (graceful), unless `now`:
 * then they fail at once. With timeout_ms > 0 a graceful close becomes immediate after that
 * long. Returns 1 when nothing was open (no on_closed follows), else 0; on_closed follows
 * exactly once. Bounded: a closing pool holds no timer but the deadline and no retry. */
int pool_close(pool_t *p, int now, uint64_t timeout_ms);

/* Brackets owner calls (close, cancel) that may produce callbacks: on the way out, batched
 * results are flushed and deadlines rescheduled, as at the end of an I/O callback. */
void pool_callbacks_begin(pool_t *p);
void pool_callbacks_end(pool_t *p);

/* For stats: counts per slot state. */
void pool_count_states(const pool_t *p, uint32_t counts[SLOT__COUNT]);

#endif
