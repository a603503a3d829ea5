/* Internal to src/pool: one pooled connection, an engine bound to a socket. */
#ifndef UVSQL_POOL_CONN_H
#define UVSQL_POOL_CONN_H

#include "../mysql/mysql.h"
#include "../net/net_sock.h"
#include "../pg/pg.h"
#include "../tls/tls.h"
#include "pool.h"

/* A cancel on its way to the server (pool_cancel.c): a PostgreSQL CancelRequest connection or
 * a MySQL killer. It names its victim connection by {slot, gen}: the victim may go first. */
typedef struct {
  list_node_t node; /* in pool->cancels */
  uint32_t slot;    /* the victim's slot and generation */
  uint32_t gen;
  net_sock_t *sock; /* borrowed: the cancel connection's socket (closed by pool_close now) */
  int sent;         /* the request may have left for the server */
  int resolved;     /* ...and the server has acted on it (or refused it) */
  uint64_t mark;    /* the victim's queries_left when it was sent: equal while the query it
                     * was sent for (the one running then) still runs */
} pool_cancel_t;

struct pool_conn_s {
  pool_t *pool;       /* borrowed */
  uint32_t slot;      /* index of the slot it was opened for */
  uint32_t gen;       /* that slot's generation then: stale once they differ */
  union {
    pg_conn_t pg;     /* cfg.proto == POOL_PROTO_PG */
    my_conn_t my;     /* cfg.proto == POOL_PROTO_MYSQL */
  } eng;              /* owned: the protocol engine (pool_engine.c) */
  int killer;         /* MySQL: a connection outside the slots that runs KILL QUERY */
  uint32_t kill_thread_id;
  pool_cancel_t cancel; /* killer only: its victim and how far the KILL got */
  uint32_t cancel_holds; /* cancels asked for its queries and not yet resolved: while > 0
                          * the pool gives it no new query */
  uint32_t cancels_out;  /* ...of which sent (their query runs or ran): while > 0 nothing
                          * more is written on it */
  int stray_window;   /* a cancel request for it may have reached the server, and it was not
                       * quiet since (no cancel out, nothing in flight): until then a cancel
                       * error on a query nobody cancelled may come from one. Not closed by
                       * the first hit: PostgreSQL signals the backend twice (its pid and its
                       * process group), and on another CPU the second signal can land after
                       * the first one's error, on the next query. */
  uint64_t queries_left; /* queries that left it so far (answered, failed or requeued) */
  uint64_t resend_at_ms; /* 0, or when the cancel of the query it runs is sent once more: the
                          * last one was acted on while the query still ran, so it may have
                          * reached the backend between two commands and been dropped
                          * (pool_cancel.c). Holds one of cancel_holds meanwhile. */
  uint32_t resends;      /* re-sends for the running query so far (the backoff) */
  tls_conn_t *tls;    /* owned; NULL in plaintext */
  int tls_ready;      /* handshake finished and reported to the engine */
  buf_t plain;        /* owned: scratch for decrypted bytes */
  buf_t cipher;       /* owned: scratch for encrypted bytes */
  int awaiting_password; /* created, socket not opened until the password function answers */
  int had_connected;  /* was accepted as READY: its end is reported (onclose) */
  int retire_reason;  /* why the pool retired it (DB_ECLOSED, DB_EIDLE, DB_ELIFETIME), or 0 */
  int close_code;     /* why the socket was closed without an engine failure, or 0 */
  char close_msg[160];
  int flush_pending;  /* queries queued by pool__conn_flush_soon wait for pool__flush_pending */
  net_sock_t sock;    /* owned; this struct is freed in the socket's on_closed */
};

/* Opens a connection for slot `index` (already CONNECTING). 0, or < 0 and nothing opened. */
int pool__conn_open(pool_t *p, uint32_t index);
/* Opens a MySQL connection that kills the query `victim` runs (pool_engine.c). */
int pool__conn_open_killer(pool_t *p, pool_conn_t *victim, uint64_t mark);
/* Opens the socket of a created connection. 0 (failures are reported asynchronously). */
int pool__conn_connect(pool_conn_t *c);
/* Fails a connection that never opened its socket, asynchronously, with this reason. */
void pool__conn_fail_early(pool_conn_t *c, int code, const char *message);
/* Sends the engine's queued bytes. */
void pool__conn_flush(pool_conn_t *c);
/* After queueing a query: sends the engine's bytes once per loop turn rather than per query
 * (see pool_conn.c). */
void pool__conn_flush_soon(pool_conn_t *c);
/* Sends Terminate (when possible) and closes the socket once it is written. */
void pool__conn_retire(pool_conn_t *c);

/* The protocol engine (pool_engine.c). */
int pool__eng_init(pool_conn_t *c, const char *password);
void pool__eng_destroy(pool_conn_t *c);
buf_t *pool__eng_output(pool_conn_t *c);
void pool__eng_feed(pool_conn_t *c, const uint8_t *bytes, size_t n);
void pool__eng_fail(pool_conn_t *c, int code, const char *message);
void pool__eng_terminate(pool_conn_t *c);
void pool__eng_tls_ready(pool_conn_t *c, const uint8_t *cbind, size_t cbind_len);
int pool__eng_set_password(pool_conn_t *c, const char *password);
/* Queues q on the connection: 0, or < 0 (nothing queued; pool__eng_send_error says why). */
int pool__eng_send(pool_conn_t *c, pool_query_t *q);
const char *pool__eng_send_error(pool_conn_t *c, int rc);
int pool__eng_request_cancel(pool_conn_t *c, pool_query_t *q);
/* The session is inside a transaction block. PostgreSQL only (ReadyForQuery 'T' or 'E': a BEGIN
 * never ended, or an error aborted it); MySQL connections answer 0. */
int pool__eng_in_transaction(const pool_conn_t *c);
const char *pool__eng_error_message(const pool_conn_t *c);
int pool__eng_error(const pool_conn_t *c);

/* Pool callbacks used by the connection (pool.c). */
int pool__conn_current(const pool_conn_t *c);
void pool__on_conn_handshake(pool_conn_t *c);
void pool__on_conn_died(pool_conn_t *c, int code, const char *message, const db_error_t *err);
void pool__on_conn_freed(pool_t *p);
void pool__on_query_done(pool_conn_t *c, pool_query_t *q, int status, const db_error_t *err);
/* Puts q, answered on `c` without effect, back at the head of the waiting queue. */
void pool__requeue(pool_conn_t *c, pool_query_t *q);
void pool__end_callback(pool_t *p);
void pool__check_closed(pool_t *p);

/* Cancels (pool_cancel.c). pool__send_cancel sends a CancelRequest (MySQL: opens a killer) for
 * the query `c` runs now; the caller took one of c's cancel_holds for it, which is given back
 * when the cancel is resolved, also when it cannot even start. `leaving`: queries still to
 * leave c before that one is the running one (1 when the previous query is ending now). */
int pool__send_cancel(pool_t *p, pool_conn_t *c, uint32_t leaving);
/* The request of cancel `k` may be leaving for the server now: it can hit from here on. */
void pool__cancel_sent(pool_t *p, pool_cancel_t *k);
/* The deadline of a cancel connection: a cancel holds its victim's slot at most this long. */
uint64_t pool__cancel_timeout_ms(const pool_t *p);
/* A cancel connection closed: gives its victim's hold back, or discards the victim when the
 * request may have left without the server acting on it yet. */
void pool__cancel_closed(pool_t *p, pool_cancel_t *k);
/* A query left `c` (answered, failed or sent back to the queue): a re-send that waited for
 * it is not needed any more. */
void pool__cancel_query_left(pool_conn_t *c);
/* The housekeeping timer: sends the re-sends that are due; returns the earliest one still
 * waiting (UINT64_MAX: none). */
uint64_t pool__cancel_resends(pool_t *p, uint64_t now, int fire);
/* pool_close(now): closes every cancel connection. */
void pool__cancel_abort_all(pool_t *p);
/* The connection has nothing in flight: once no sent cancel is unresolved either, every
 * cancel sent for it has hit a query or was dropped by an idle backend. */
void pool__cancel_quiet(pool_conn_t *c);

#endif
