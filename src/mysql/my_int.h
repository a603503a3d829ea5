/* Internal to src/mysql: framing, message builders and decoders shared by the engine's files. */
#ifndef UVSQL_MY_INT_H
#define UVSQL_MY_INT_H

#include <sys/types.h>

#include "my_wire.h"
#include "mysql.h"

/* The largest payload of one physical packet; a payload this long continues in the next. */
#define MY_PACKET_MAX 0xFFFFFFu

/* Capability flags (Protocol::CapabilityFlags). */
#define MY_CAP_LONG_PASSWORD 0x00000001u
#define MY_CAP_LONG_FLAG 0x00000004u
#define MY_CAP_CONNECT_WITH_DB 0x00000008u
#define MY_CAP_LOCAL_FILES 0x00000080u
#define MY_CAP_PROTOCOL_41 0x00000200u
#define MY_CAP_SSL 0x00000800u
#define MY_CAP_TRANSACTIONS 0x00002000u
#define MY_CAP_SECURE_CONNECTION 0x00008000u
#define MY_CAP_MULTI_STATEMENTS 0x00010000u
#define MY_CAP_MULTI_RESULTS 0x00020000u
#define MY_CAP_PS_MULTI_RESULTS 0x00040000u
#define MY_CAP_PLUGIN_AUTH 0x00080000u
#define MY_CAP_CONNECT_ATTRS 0x00100000u
#define MY_CAP_PLUGIN_AUTH_LENENC 0x00200000u
#define MY_CAP_DEPRECATE_EOF 0x01000000u
/* MariaDB's extended capabilities (bits 32-63), exchanged in the greeting's and the handshake
 * response's reserved bytes when the server does not set CLIENT_MYSQL (= LONG_PASSWORD, bit 0).
 * EXTENDED_METADATA (bit 35): column definitions carry a type name and a format, which is
 * how MariaDB marks JSON columns (a LONGTEXT on the wire otherwise). */
#define MY_EXT_CAP_EXTENDED_METADATA 0x00000008u
/* CACHE_METADATA (bit 36): an execution's result says whether its column definitions follow;
 * they are skipped when unchanged since the prepare or the last execution that sent them, so a
 * `select ?` answer is a header, a row and an OK (S1-S3). */
#define MY_EXT_CAP_CACHE_METADATA 0x00000010u

/* utf8mb4_general_ci: the collation asked for in the handshake. */
#define MY_COLLATION_UTF8MB4 45

/* Commands. */
#define MY_COM_QUIT 0x01
#define MY_COM_QUERY 0x03
#define MY_COM_PING 0x0E
#define MY_COM_STMT_PREPARE 0x16
#define MY_COM_STMT_EXECUTE 0x17
#define MY_COM_STMT_CLOSE 0x19
#define MY_COM_RESET_CONNECTION 0x1F

/* More columns than a server can return (MySQL and MariaDB stop at 4096). */
#define MY_MAX_COLUMNS 4096u

/* ---- framing (my_packet.c) ---------------------------------------------------------------- */

/* Looks at the logical packet at p[0..n): one physical packet, or several when payloads of
 * exactly MY_PACKET_MAX continue. >0: it is whole, that many bytes (headers included);
 * 0: need more bytes; DB_EPROTO: a sequence id differs from `seq`, seq+1, ... (seq < 0: any
 * first id); DB_ETOOBIG: the payload would exceed `max`. Checked header by header as bytes
 * arrive, so a bad packet is refused before its body is buffered. Never allocates. */
ssize_t my_packet_peek(const uint8_t *p, size_t n, int seq, size_t max, size_t *payload_len,
                       uint32_t *npackets);

/* Copies the payload of a whole logical packet of `npackets` packets into `out` (cleared). */
int my_packet_gather(const uint8_t *p, uint32_t npackets, buf_t *out);

/* Appends `payload` as packets numbered from *seq (advanced past the last), split at
 * MY_PACKET_MAX, with an empty packet after a payload that is an exact multiple of it. */
int my_packet_write(buf_t *out, uint8_t *seq, const uint8_t *payload, size_t n);

/* ---- server messages (my_msg.c) ----------------------------------------------------------- */

typedef struct {
  slice_t version;
  uint32_t thread_id;
  uint32_t caps;
  uint32_t ext_caps; /* MariaDB's bits 32-63, 0 from MySQL */
  uint16_t status;
  uint8_t scramble[32];
  size_t scramble_len;
  slice_t plugin; /* empty when the server has no PLUGIN_AUTH */
} my_greeting_t;

/* Handshake v10 (protocol byte already checked by the caller). 0 or DB_EPROTO. */
int my_decode_greeting(const uint8_t *p, size_t n, my_greeting_t *g);
/* OK packet (header 0x00 or 0xFE). 0 or DB_EPROTO. */
int my_decode_ok(const uint8_t *p, size_t n, my_ok_t *ok);
/* ERR packet; `protocol41`: a '#' + SQLSTATE may follow the number. 0 or DB_EPROTO. */
int my_decode_err(const uint8_t *p, size_t n, db_error_t *e);
/* EOF packet (0xFE, warnings, status). 0 or DB_EPROTO. */
int my_decode_eof(const uint8_t *p, size_t n, my_ok_t *ok);
/* Column definition 41. The name is a slice into p. 0 or DB_EPROTO. */
/* ext_meta: MariaDB's extended metadata is on (a JSON column then comes as MYSQL_TYPE_JSON). */
int my_decode_column(const uint8_t *p, size_t n, db_field_t *f, int ext_meta);

/* ---- client messages (my_msg.c): each builds one payload, unframed -------------------------- */

int my_msg_ssl_request(buf_t *out, uint32_t caps, uint32_t ext_caps);
int my_msg_handshake_response(buf_t *out, uint32_t caps, uint32_t ext_caps, const char *user, const uint8_t *auth,
                              size_t auth_len, const char *database, const char *plugin,
                              const buf_t *attrs);
/* The connection attributes block body (pairs of lenenc strings): `_client_name=uvsql` first,
 * then the caller's pairs (a caller's _client_name is skipped). */
int my_msg_attrs(buf_t *out, const char *const *attrs);
int my_msg_command(buf_t *out, uint8_t command, const void *arg, size_t n);
/* COM_STMT_EXECUTE with statement id 0 (patched when it goes out, my_msg_patch_stmt_id).
 * DB_EARG with a message in errbuf for a bad value text. */
int my_msg_execute(buf_t *out, uint16_t nparams, const uint32_t *types, const slice_t *values,
                   char *errbuf, size_t errlen);
void my_msg_patch_stmt_id(buf_t *payload, uint32_t id);

/* ---- the engine's command queue (my_conn.c, my_cmd.c) --------------------------------------- */

typedef enum {
  MY_OP_QUERY,   /* COM_QUERY of a query (text rows, maybe several results) */
  MY_OP_SETUP,   /* the engine's own COM_QUERY after authentication */
  MY_OP_PREPARE, /* COM_STMT_PREPARE */
  MY_OP_EXECUTE, /* COM_STMT_EXECUTE (binary rows) */
  MY_OP_CLOSE,   /* COM_STMT_CLOSE of an evicted statement: no answer */
  MY_OP_SIMPLE,  /* COM_PING / COM_RESET_CONNECTION: one OK or ERR */
} my_op_kind_t;

/* One query of the caller, pending until its on_query_done. */
typedef struct my_query_s {
  list_node_t node; /* in c->queries */
  void *query;      /* borrowed: the owner's opaque pointer */
  int cancel;       /* cancel requested: on_cancel_due when it becomes the running query */
  int errored;      /* on_query_error was reported */
} my_query_t;

/* One command on the wire (or waiting to go out). */
typedef struct my_op_s {
  list_node_t node;   /* in c->sendq, then c->inflight */
  my_op_kind_t kind;
  my_query_t *q;      /* the query it answers for; NULL for the engine's own commands */
  my_stmt_t *stmt;    /* PREPARE/EXECUTE: the statement (holds a user reference) */
  buf_t payload;      /* owned: the command payload */
  uint32_t close_id;  /* CLOSE: the statement id */
  uint16_t nparams;   /* EXECUTE: parameters given */
  uint16_t nresults;  /* result sets begun so far (CACHE_METADATA keeps the first one's columns) */
  uint8_t start_seq;  /* the sequence id its answer starts with */
  uint8_t is_last;    /* the query is done when this op's answer ends */
  uint8_t reset;      /* SIMPLE: it is COM_RESET_CONNECTION */
} my_op_t;

/* Where the front in-flight op's answer is. */
typedef enum {
  MY_RS_FIRST,          /* the first packet of a result: OK, ERR, LOCAL INFILE or column count */
  MY_RS_COLUMNS,        /* column definitions */
  MY_RS_COLUMNS_EOF,    /* the EOF after them (servers without DEPRECATE_EOF) */
  MY_RS_ROWS,           /* rows until EOF/OK */
  MY_RS_PREP_PARAMS,    /* prepare answer: parameter definitions */
  MY_RS_PREP_PARAMS_EOF,
  MY_RS_PREP_COLUMNS,   /* prepare answer: column definitions */
  MY_RS_PREP_COLUMNS_EOF,
} my_rs_t;

/* ---- shared between my_conn.c (handshake, framing) and my_cmd.c (commands) ---------------- */

/* Moves to FAILED: on_fatal, then every pending query fails with `code`. */
void my__fail(my_conn_t *c, int code, const db_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Ends every pending query with `code` (no on_fatal) and frees every queued command. */
void my__fail_pending(my_conn_t *c, int code, const db_error_t *err);
/* Frees every queued and in-flight command (no callbacks). */
void my__free_ops(my_conn_t *c);
/* Authenticated: the session setup query goes out first. */
int my__start_setup(my_conn_t *c);
/* Writes the queued commands that can go (READY only). */
int my__flush(my_conn_t *c);
/* A packet answering the front in-flight command (SETUP/READY). */
int my__on_answer(my_conn_t *c, const uint8_t *p, size_t n);
/* The sequence id the next server packet must carry; -1 when nothing is in flight. */
int my__expected_seq(const my_conn_t *c);

#endif
