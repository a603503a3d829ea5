/* Internal to src/pg: framing, message encoders and decoders shared by the engine's files. */
#ifndef UVSQL_PG_INT_H
#define UVSQL_PG_INT_H

#include <sys/types.h>

#include "pg.h"

/* Frames longer than this are refused unless their type may legitimately be long
 * (DataRow, CopyData, ...): a bad length byte must not make us buffer a gigabyte. */
#define PG_SHORT_MAX 30000u
/* Hard cap on any frame (PostgreSQL's own limit on a message is 1 GB). */
#define PG_FRAME_MAX (1024u * 1024u * 1024u)
/* The longest frontend message the server accepts (PQ_LARGE_MESSAGE_LIMIT). */
#define PG_MESSAGE_MAX (1024u * 1024u * 1024u - 1u)
/* PostgreSQL allows at most 1664 result columns. */
#define PG_MAX_FIELDS 1664u
/* >0: a whole frame of that many bytes (type byte included) is buffered; 0: need more bytes;
 * DB_ESYNC: the length field is impossible. Never consumes, never allocates. */
ssize_t pg_frame_peek(const uint8_t *p, size_t n);

/* Decoders: each reads one frame body and checks it ended exactly at the frame end. */
int pg_decode_error(const uint8_t *body, size_t n, db_error_t *out);
/* Checks a DataRow body: column count then every cell within bounds. */
int pg_decode_data_row(const uint8_t *body, size_t n, uint16_t *ncols);
int pg_decode_row_description(const uint8_t *body, size_t n, db_field_t *fields, uint16_t cap,
                              uint16_t *count);

/* Encoders append one whole message to `out`; 0 or DB_ENOMEM/DB_ETOOBIG. */
int pg_msg_startup(buf_t *out, const char *user, const char *database,
                   const char *const *params);
int pg_msg_ssl_request(buf_t *out);
int pg_msg_password(buf_t *out, const char *password);
int pg_msg_sasl_initial(buf_t *out, const char *mechanism, const uint8_t *data, size_t n);
int pg_msg_sasl_response(buf_t *out, const uint8_t *data, size_t n);
/* `types` may be NULL: every parameter type is then left to the server (0). */
int pg_msg_parse(buf_t *out, const char *name, const char *text, size_t text_len,
                 uint16_t nparams, const uint32_t *types);
int pg_msg_bind(buf_t *out, const char *portal, const char *stmt, uint16_t nparams,
                const slice_t *values);
int pg_msg_describe(buf_t *out, char kind, const char *name);
int pg_msg_close(buf_t *out, char kind, const char *name);
int pg_msg_query(buf_t *out, const char *text, size_t text_len);
int pg_msg_execute(buf_t *out, const char *portal, uint32_t max_rows);
int pg_msg_sync(buf_t *out);
int pg_msg_terminate(buf_t *out);

#endif
