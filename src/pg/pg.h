/* The PostgreSQL protocol engine: sans-I/O, one state machine per connection.
 *
 * Bytes from the server go in through pg_conn_feed(); bytes for the server accumulate in
 * pg_conn_output() and the owner writes them out; events come back synchronously through the
 * pg_handler_t given at init. The engine never touches a socket, a timer or JS, so tests and
 * fuzzers can drive it with plain bytes. Everything runs on one thread (the loop thread).
 *
 * Queries are pipelined: each pg_conn_query() appends Parse/Bind/Describe/Execute/Sync and is
 * answered in order, each ending with exactly one on_query_done().
 */
#ifndef UVSQL_PG_H
#define UVSQL_PG_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"
#include "../base/base_list.h"
#include "../base/base_reader.h"
#include "../base/db_types.h"
#include "../auth/auth_scram.h"
#include "pg_stmt.h"

typedef enum {
  PG_ST_SSL_WAIT,     /* SSLRequest sent; waiting for the one-byte answer */
  PG_ST_TLS,          /* the server said 'S': the owner runs the TLS handshake */
  PG_ST_STARTUP,      /* startup message sent; waiting for an Authentication request */
  PG_ST_SASL_FIRST,   /* SASLInitialResponse sent; waiting for SASLContinue */
  PG_ST_SASL_FINAL,   /* SASLResponse sent; waiting for SASLFinal */
  PG_ST_PASSWORD,     /* cleartext or MD5 password sent; waiting for AuthenticationOk */
  PG_ST_AUTHED,       /* AuthenticationOk received; waiting for the first ReadyForQuery */
  PG_ST_READY,        /* open for queries */
  PG_ST_FAILED,       /* fatal error; every pending query was failed; input is ignored */
  PG_ST_CLOSED,       /* Terminate sent */
  PG_ST__COUNT
} pg_state_t;

/* Events, called synchronously from pg_conn_feed() (and from pg_conn_fail()).
 * `query` is the opaque pointer given to pg_conn_query(). */
typedef struct {
  /* The handshake finished: the connection accepts queries. Called once. */
  void (*on_ready)(void *ctx);
  void (*on_fields)(void *ctx, void *query, const db_field_t *fields, uint16_t n);
  /* A DataRow whose cells were validated against the frame: `body` starts at the column
   * count; every cell is int32 length (-1 = NULL) + bytes. */
  void (*on_row)(void *ctx, void *query, const uint8_t *body, size_t n);
  void (*on_command)(void *ctx, void *query, slice_t tag);
  /* The server rejected this query (ErrorResponse). on_query_done still follows. */
  void (*on_query_error)(void *ctx, void *query, const db_error_t *err);
  /* The query is over. status 0: answered (ReadyForQuery). status < 0: the connection failed
   * before the answer was complete; `err` is then the server's ErrorResponse that ended the
   * connection, if one did (else NULL), and pg_conn_error_message() says why. Exactly once per
   * query. */
  void (*on_query_done)(void *ctx, void *query, int status, const db_error_t *err);
  /* The connection is unusable (protocol violation, auth failure, server FATAL). Called once,
   * before the pending queries are failed. `err` is set when the server sent an ErrorResponse. */
  void (*on_fatal)(void *ctx, int code, const char *message, const db_error_t *err);
  /* Optional (may be NULL): ParameterStatus, NoticeResponse and NotificationResponse, which
   * may arrive in any state. */
  void (*on_parameter)(void *ctx, slice_t name, slice_t value);
  void (*on_notice)(void *ctx, const db_error_t *notice);
  void (*on_notification)(void *ctx, uint32_t pid, slice_t channel, slice_t payload);
  /* The server accepted TLS ('S'). The owner starts the TLS transform, feeds the engine only
   * decrypted bytes from now on, and calls pg_conn_tls_ready() once the handshake succeeded.
   * Returns 0, or < 0 to fail the connection. */
  int (*on_tls_start)(void *ctx);
  /* A query whose cancel was requested is now the one the server runs: send a CancelRequest
   * (pg_msg_cancel with backend_pid/backend_key) on a separate connection now. */
  void (*on_cancel_due)(void *ctx);
} pg_handler_t;

/* libpq's channel_binding: prefer binds SCRAM to the TLS certificate when the server offers
 * SCRAM-SHA-256-PLUS; require refuses any authentication without it (also trust, MD5,
 * cleartext); disable never binds. */
typedef enum {
  PG_CBIND_PREFER = 0,
  PG_CBIND_DISABLE = 1,
  PG_CBIND_REQUIRE = 2
} pg_channel_binding_t;

/* libpq's require_auth methods, as bits of pg_config_t.auth_allowed. */
enum {
  PG_AUTH_ALLOW_NONE = 1u << 0,     /* AuthenticationOk without a request (trust, peer) */
  PG_AUTH_ALLOW_PASSWORD = 1u << 1, /* cleartext */
  PG_AUTH_ALLOW_MD5 = 1u << 2,
  PG_AUTH_ALLOW_SCRAM = 1u << 3
};

typedef struct {
  const char *user;     /* required */
  const char *password; /* may be NULL */
  const char *database; /* may be NULL: the server then uses the user name */
  /* Extra startup parameters: key, value, key, value, ..., NULL. May be NULL. */
  const char *const *params;
  /* Named prepared statements kept per connection; 0 = unnamed statements only (prepare:
   * false, needed behind PgBouncer in transaction mode). */
  uint32_t stmt_cache_max;
  db_ssl_mode_t ssl_mode;
  pg_channel_binding_t channel_binding;
  /* libpq's require_auth: PG_AUTH_ALLOW_* bits the server may use; 0 = any method. */
  unsigned auth_allowed;
} pg_config_t;

typedef struct pg_conn_s {
  pg_state_t state;
  const pg_handler_t *handler; /* borrowed */
  void *ctx;                   /* borrowed: handed back to every callback */
  buf_t in;                    /* owned: bytes of an incomplete frame */
  buf_t out;                   /* owned: bytes waiting to be written */
  buf_t held;                  /* owned: queries queued before the handshake ended; they go
                                * out after it, never between auth messages */
  buf_t startup;               /* owned: the StartupMessage, held back during TLS negotiation */
  db_ssl_mode_t ssl_mode;
  pg_channel_binding_t channel_binding;
  unsigned auth_allowed;       /* PG_AUTH_ALLOW_* bits; 0 = any */
  int tls;                     /* the connection runs over TLS */
  uint8_t cbind[64];           /* tls-server-end-point hash for SCRAM-SHA-256-PLUS */
  size_t cbind_len;
  char *user;                  /* owned */
  char *password;              /* owned; wiped on free */
  int auth_answered;           /* an auth request was answered: a second one is a violation */
  auth_scram_t scram;          /* valid in the SASL states */
  int scram_live;
  uint32_t backend_pid;
  uint32_t backend_key;
  char tx_status;              /* from the last ReadyForQuery: 'I', 'T' or 'E' */
  int stale_plan;              /* the error being reported said the cached statement is gone
                                * (0A000/26000 answering its Bind, before any BindComplete) */
  list_node_t pending;         /* pg_pending_t, in the order sent */
  pg_stmt_cache_t stmts;       /* owned */
  uint32_t npending;
  int32_t row_ncols;           /* columns of the current RowDescription, -1 when none */
  int row_binary;              /* ... of which some are in binary format (checked per row) */
  db_field_t *fields;          /* owned scratch for RowDescription decoding */
  uint16_t fields_cap;
  int err;                     /* sticky error once FAILED */
  char errmsg[256];
} pg_conn_t;

/* Allocates nothing that can fail except copies of the strings. Returns 0 or DB_ENOMEM. */
int pg_conn_init(pg_conn_t *c, const pg_config_t *cfg, const pg_handler_t *h, void *ctx);
/* Fails nothing (no callbacks); frees and wipes. Pending queries must already be done. */
void pg_conn_destroy(pg_conn_t *c);

/* Sets (or replaces) the password before the server asks for it (a password function resolved
 * after the connection was created). 0 or DB_ENOMEM. */
int pg_conn_set_password(pg_conn_t *c, const char *password);

/* The TLS handshake succeeded: the StartupMessage goes out (through TLS). `cbind` is the
 * tls-server-end-point hash for SCRAM-SHA-256-PLUS (NULL/0 when unavailable). */
int pg_conn_tls_ready(pg_conn_t *c, const uint8_t *cbind, size_t cbind_len);

/* Consumes server bytes. Returns 0, or < 0 once the connection failed (callbacks were made). */
int pg_conn_feed(pg_conn_t *c, const uint8_t *p, size_t n);

/* Queues an extended-protocol query with text parameters (values[i].p == NULL means NULL) of
 * the given type OIDs (NULL or 0 entries: inferred by the server).
 * Returns 0 and later calls on_query_done exactly once; or < 0 and never calls back. */
int pg_conn_query(pg_conn_t *c, const char *text, size_t text_len, uint16_t nparams,
                  const uint32_t *types, const slice_t *values, void *query);

/* Queues a simple-protocol Query ('Q'): no parameters, several statements allowed, one result
 * set per statement (on_fields/on_row/on_command each time). Same contract as pg_conn_query. */
int pg_conn_simple_query(pg_conn_t *c, const char *text, size_t text_len, void *query);

/* Asks to cancel `query`, which is in flight on this connection. Returns 1 when it runs now
 * (the caller sends the CancelRequest at once), 0 when queries before it still run (then
 * on_cancel_due fires when its turn comes), DB_EARG when it is not in flight here.
 * A CancelRequest cancels whatever the server runs when it arrives: a late one can hit the next
 * query on this connection. The pool guards against that (src/pool/pool_cancel.c). */
int pg_conn_request_cancel(pg_conn_t *c, void *query);

/* Appends the 16-byte CancelRequest for this connection's backend to `out`. */
int pg_conn_cancel_message(const pg_conn_t *c, buf_t *out);

/* Queues Terminate and moves to CLOSED. Pending queries are failed with DB_ECLOSED. */
void pg_conn_terminate(pg_conn_t *c);

/* Fails the connection from outside (socket closed, timeout): calls on_fatal, then fails every
 * pending query with `code`. No-op when already FAILED/CLOSED. */
void pg_conn_fail(pg_conn_t *c, int code, const char *message);

static inline buf_t *pg_conn_output(pg_conn_t *c) {
  return &c->out;
}

const char *pg_state_name(pg_state_t s);

/* Why the connection failed or closed ("" while it is healthy). */
static inline const char *pg_conn_error_message(const pg_conn_t *c) {
  return c->errmsg;
}

#endif
