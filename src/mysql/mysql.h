/* The MySQL/MariaDB protocol engine: sans-I/O, one state machine per connection.
 *
 * Bytes from the server go in through my_conn_feed(); bytes for the server accumulate in
 * my_conn_output() and the owner writes them out; events come back synchronously through the
 * my_handler_t given at init. The engine never touches a socket, a timer or JS, so tests and
 * fuzzers can drive it with plain bytes. Everything runs on one thread (the loop thread).
 *
 * Commands are pipelined: each query appends its packets and is answered in order, each ending
 * with exactly one on_query_done(). A COM_STMT_EXECUTE whose statement is still being prepared
 * waits inside the engine (with every command queued after it) until the prepare answer gives
 * the statement id, so the order on the wire always equals the order of the calls.
 */
#ifndef UVSQL_MYSQL_H
#define UVSQL_MYSQL_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"
#include "../base/base_list.h"
#include "../base/base_reader.h"
#include "../base/db_types.h"
#include "my_stmt.h"

/* Column types (the type byte of a column definition; db_field_t.type_oid). */
enum {
  MYSQL_TYPE_DECIMAL = 0,
  MYSQL_TYPE_TINY = 1,
  MYSQL_TYPE_SHORT = 2,
  MYSQL_TYPE_LONG = 3,
  MYSQL_TYPE_FLOAT = 4,
  MYSQL_TYPE_DOUBLE = 5,
  MYSQL_TYPE_NULL = 6,
  MYSQL_TYPE_TIMESTAMP = 7,
  MYSQL_TYPE_LONGLONG = 8,
  MYSQL_TYPE_INT24 = 9,
  MYSQL_TYPE_DATE = 10,
  MYSQL_TYPE_TIME = 11,
  MYSQL_TYPE_DATETIME = 12,
  MYSQL_TYPE_YEAR = 13,
  MYSQL_TYPE_NEWDATE = 14,
  MYSQL_TYPE_VARCHAR = 15,
  MYSQL_TYPE_BIT = 16,
  MYSQL_TYPE_JSON = 245,
  MYSQL_TYPE_NEWDECIMAL = 246,
  MYSQL_TYPE_ENUM = 247,
  MYSQL_TYPE_SET = 248,
  MYSQL_TYPE_TINY_BLOB = 249,
  MYSQL_TYPE_MEDIUM_BLOB = 250,
  MYSQL_TYPE_LONG_BLOB = 251,
  MYSQL_TYPE_BLOB = 252,
  MYSQL_TYPE_VAR_STRING = 253,
  MYSQL_TYPE_STRING = 254,
  MYSQL_TYPE_GEOMETRY = 255,
};

/* my_conn_query() parameter types: MYSQL_TYPE_* | MY_PARAM_UNSIGNED. */
#define MY_PARAM_UNSIGNED 0x8000u
/* The value is already its wire form: 8 bytes, little-endian, of a LONGLONG or DOUBLE (JS
 * numbers, sent as doubles rather than as text that the engine parses back). */
#define MY_PARAM_BINARY 0x10000u

/* Column flags (db_field_t.flags). */
#define MY_FLAG_NOT_NULL 0x0001u
#define MY_FLAG_UNSIGNED 0x0020u
#define MY_FLAG_BINARY 0x0080u

/* Server status flags (my_ok_t.status). */
#define MY_STATUS_IN_TRANS 0x0001u
#define MY_STATUS_AUTOCOMMIT 0x0002u
#define MY_STATUS_MORE_RESULTS 0x0008u

typedef enum {
  MY_ST_GREETING, /* waiting for the server's Handshake v10 */
  MY_ST_TLS,      /* SSLRequest sent: the owner runs the TLS handshake */
  MY_ST_AUTH,     /* HandshakeResponse (or an auth answer) sent; waiting for the server */
  MY_ST_SETUP,    /* authenticated; the session setup query is running */
  MY_ST_READY,    /* open for commands */
  MY_ST_FAILED,   /* fatal error; every pending query was failed; input is ignored */
  MY_ST_CLOSED,   /* COM_QUIT sent (or terminated before the handshake ended) */
  MY_ST__COUNT
} my_state_t;

/* An OK packet (or the EOF/OK that ends a result set). `info` is borrowed for the callback. */
typedef struct {
  uint64_t affected_rows, last_insert_id;
  uint16_t status, warnings;
  slice_t info;
} my_ok_t;

/* Events, called synchronously from my_conn_feed() (and my_conn_fail/terminate).
 * `query` is the opaque pointer given to my_conn_query()/my_conn_simple_query(). */
typedef struct {
  /* Handshake and session setup (time_zone = '+00:00') done. Called once. */
  void (*on_ready)(void *ctx);
  /* A result set starts. fields[i].format = DB_FORMAT_TEXT (COM_QUERY) or DB_FORMAT_BINARY
   * (COM_STMT_EXECUTE); type_oid = MYSQL_TYPE_*; flags, charset, decimals filled; names
   * borrowed for the callback. */
  void (*on_fields)(void *ctx, void *query, const db_field_t *fields, uint16_t n);
  /* One row packet payload (reassembled when > 16 MiB), already validated against the fields
   * of its result set, so my_row_each_text/my_row_each_binary cannot fail on it. */
  void (*on_row)(void *ctx, void *query, const uint8_t *payload, size_t n);
  /* One statement's result ended (OK packet, or the EOF/OK ending its rows). */
  void (*on_command)(void *ctx, void *query, const my_ok_t *ok);
  /* The server answered this query with an ERR packet (number, code = SQLSTATE, message), or
   * the engine failed it alone. on_query_done follows. */
  void (*on_query_error)(void *ctx, void *query, const db_error_t *err);
  /* Exactly once per query. status 0: answered. DB_EARG: failed by the engine alone (the
   * prepared statement takes another number of parameters than given; `err->message` says
   * so). Other < 0: the connection failed first; my_conn_error_message() says why. */
  void (*on_query_done)(void *ctx, void *query, int status, const db_error_t *err);
  /* The connection is unusable. Called once, before the pending queries are failed. `err` is
   * set when the server sent an ERR packet. */
  void (*on_fatal)(void *ctx, int code, const char *message, const db_error_t *err);
  /* The SSLRequest went out: the owner starts TLS, feeds only decrypted bytes afterwards and
   * calls my_conn_tls_ready() when the handshake is done. Returns 0, or < 0 to fail. */
  int (*on_tls_start)(void *ctx);
  /* A query whose cancel was requested is now running: the owner sends
   * KILL QUERY <my_conn_thread_id()> on another connection. May be NULL. */
  void (*on_cancel_due)(void *ctx);
} my_handler_t;

typedef struct {
  const char *user, *password, *database; /* password/database may be NULL */
  /* Connection attributes key, value, ..., NULL (may be NULL); _client_name=uvsql is always
   * sent. */
  const char *const *attrs;
  /* Prepared statements kept per connection (LRU, COM_STMT_CLOSE on eviction); 0 = close
   * each statement after its execution. */
  uint32_t stmt_cache_max;
  db_ssl_mode_t ssl_mode;
  int secure_transport;          /* unix socket: counts as secure for cleartext passwords */
  int allow_public_key_retrieval;
  const char *server_public_key; /* PEM (SubjectPublicKeyInfo) or NULL */
  /* mysql_clear_password only when set AND the transport is secure (TLS or unix socket). */
  int allow_cleartext_password;
  /* Largest server payload accepted (reassembled); 0 = MY_PAYLOAD_MAX_DEFAULT. Checked from
   * the packet headers before anything is buffered for it. */
  size_t max_payload;
} my_config_t;

#define MY_PAYLOAD_MAX_DEFAULT (1024u * 1024u * 1024u)

struct my_op_s;
struct my_query_s;

/* Authentication progress (MY_ST_AUTH). */
typedef enum {
  MY_AUTH_WAIT,     /* an auth answer went out: OK, ERR, AuthSwitch or AuthMoreData next */
  MY_AUTH_WAIT_KEY, /* the server's public key was requested */
  MY_AUTH_WAIT_OK,  /* nothing but OK or ERR may follow (fast path, full auth sent) */
} my_auth_step_t;

typedef struct my_conn_s {
  my_state_t state;
  const my_handler_t *handler; /* borrowed */
  void *ctx;                   /* borrowed: handed back to every callback */
  buf_t in;                    /* owned: bytes of an incomplete packet */
  buf_t out;                   /* owned: bytes waiting to be written */
  buf_t big;                   /* owned: a payload reassembled from several packets */
  size_t max_payload;
  uint8_t seq;                 /* next sequence id expected (and, in auth, to be sent) */
  uint32_t caps;               /* capabilities in effect (ours & the server's) */
  uint32_t ext_caps;           /* MariaDB's extended capabilities in effect (bits 32-63) */
  struct my_stmt_s *meta_stmt; /* CACHE_METADATA: the statement whose column definitions are
                                * being received (kept for later executions), or NULL */
  uint32_t server_caps;
  uint32_t thread_id;
  uint16_t server_status;
  /* configuration (owned copies) */
  char *user;
  char *password;              /* wiped on free */
  char *database;
  char *server_key;            /* PEM */
  buf_t attrs;                 /* the encoded connection attributes */
  db_ssl_mode_t ssl_mode;
  int secure_transport;
  int allow_key_retrieval;
  int allow_cleartext;
  int tls;                     /* the connection runs over TLS */
  /* authentication */
  uint8_t scramble[32];
  size_t scramble_len;
  char plugin[64];             /* the auth plugin in use */
  my_auth_step_t auth_step;
  int auth_switched;           /* one AuthSwitchRequest was followed; a second is refused */
  int auth_more;               /* AuthMoreData answers so far (bounded) */
  /* commands */
  list_node_t queries;         /* my_query_t not yet done, in order */
  list_node_t sendq;           /* my_op_t not yet written (gated by a statement being prepared) */
  list_node_t inflight;        /* my_op_t written, waiting for their answer, in order */
  my_stmt_cache_t stmts;       /* owned */
  /* the result set being read (only the front in-flight op has one) */
  int rs;                      /* my_rs_t (my_int.h) */
  uint32_t cols_left;          /* column definitions still to come */
  uint16_t ncols;
  db_field_t *fields;          /* owned */
  uint32_t *name_off;          /* owned: offset of each name in `names` */
  uint16_t fields_cap;
  buf_t names;                 /* owned: column names, copied out of their packets */
  int err;                     /* sticky error once FAILED/CLOSED */
  char errmsg[256];
  char argmsg[128];             /* why the last my_conn_query() returned DB_EARG */
} my_conn_t;

/* Copies the configuration. Returns 0 or DB_ENOMEM (DB_EARG without a user). */
int my_conn_init(my_conn_t *c, const my_config_t *cfg, const my_handler_t *h, void *ctx);
/* Frees and wipes; no callbacks. Pending queries must already be done (fail/terminate). */
void my_conn_destroy(my_conn_t *c);

/* Sets (or replaces) the password before the server asks for it. 0 or DB_ENOMEM. */
int my_conn_set_password(my_conn_t *c, const char *password);

/* The TLS handshake succeeded: the HandshakeResponse goes out (through TLS). */
int my_conn_tls_ready(my_conn_t *c);

/* Consumes server bytes. Returns 0, or < 0 once the connection failed (callbacks were made). */
int my_conn_feed(my_conn_t *c, const uint8_t *p, size_t n);

/* Binary protocol: COM_STMT_PREPARE (unless cached) + COM_STMT_EXECUTE. types[i] =
 * MYSQL_TYPE_* | MY_PARAM_UNSIGNED; values[i].p == NULL means NULL. Values are text, encoded by
 * the engine: TINY/SHORT/INT24/LONG/LONGLONG/YEAR from decimal text, FLOAT/DOUBLE from text,
 * DATE/DATETIME/TIMESTAMP from 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]', everything else as bytes;
 * with MY_PARAM_BINARY, a LONGLONG or DOUBLE value is its 8 wire bytes already.
 * Returns 0 and later calls on_query_done exactly once; or < 0 and never calls back (DB_EARG
 * for a bad value text: my_conn_arg_error() says which). */
int my_conn_query(my_conn_t *c, const char *text, size_t len, uint16_t nparams,
                  const uint32_t *types, const slice_t *values, void *query);

/* COM_QUERY text protocol: no parameters, several statements allowed (one result per
 * statement: on_fields/on_row.../on_command, or on_command alone). Same contract. */
int my_conn_simple_query(my_conn_t *c, const char *text, size_t len, void *query);

/* COM_PING: answered by on_command (an OK) and on_query_done. Same contract. */
int my_conn_ping(my_conn_t *c, void *query);

/* COM_RESET_CONNECTION: the server drops session state (its prepared statements too, so the
 * statement cache is emptied). Same contract. */
int my_conn_reset(my_conn_t *c, void *query);

/* 1 = `query` runs now (the caller sends KILL QUERY now), 0 = later via on_cancel_due,
 * DB_EARG when it is not pending here. */
int my_conn_request_cancel(my_conn_t *c, void *query);

static inline uint32_t my_conn_thread_id(const my_conn_t *c) {
  return c->thread_id;
}

/* COM_QUIT if the handshake finished; moves to CLOSED; pending queries fail with DB_ECLOSED. */
void my_conn_terminate(my_conn_t *c);

/* Fails the connection from outside (socket closed, timeout): on_fatal, then every pending
 * query fails with `code`. No-op when already FAILED/CLOSED. */
void my_conn_fail(my_conn_t *c, int code, const char *message);

static inline buf_t *my_conn_output(my_conn_t *c) {
  return &c->out;
}

/* Why the connection failed or closed ("" while it is healthy). */
static inline const char *my_conn_error_message(const my_conn_t *c) {
  return c->errmsg;
}

/* Why the last my_conn_query() returned DB_EARG (a bad parameter value). */
const char *my_conn_arg_error(const my_conn_t *c);

const char *my_state_name(my_state_t s);

#endif
