/* What both protocol engines report to the pool: result columns and server errors.
 *
 * The PostgreSQL engine fills these from RowDescription and ErrorResponse/NoticeResponse, the
 * MySQL engine from column definitions and ERR packets. Every slice is borrowed for the
 * duration of the callback that carries it.
 */
#ifndef UVSQL_DB_TYPES_H
#define UVSQL_DB_TYPES_H

#include <stdint.h>

#include "base_reader.h"

/* What to do about TLS before authentication (certificate checks live in src/tls). */
typedef enum {
  DB_SSL_DISABLE, /* never ask for TLS */
  DB_SSL_PREFER,  /* ask; when the server cannot, go on in plaintext */
  DB_SSL_REQUIRE, /* ask; a server that cannot is fatal (require, verify-ca, verify-full) */
} db_ssl_mode_t;

/* How the cells of a row are encoded: says which decoder reads the rows that follow. */
typedef enum {
  DB_FORMAT_TEXT = 0,   /* PostgreSQL text format, or MySQL text protocol (COM_QUERY) */
  DB_FORMAT_BINARY = 1, /* MySQL binary protocol (COM_STMT_EXECUTE) */
} db_format_t;

/* One result column. */
typedef struct {
  slice_t name;
  uint32_t table_oid; /* PostgreSQL: the table's OID, or 0 */
  uint16_t column;    /* PostgreSQL: the column's attribute number, or 0 */
  uint32_t type_oid;  /* PostgreSQL: the type OID; MySQL: the column type byte (MYSQL_TYPE_*) */
  int16_t type_len;
  int32_t type_mod;
  uint16_t format;    /* db_format_t */
  uint16_t flags;     /* MySQL column flags (UNSIGNED, BINARY, ...); 0 for PostgreSQL */
  uint16_t charset;   /* MySQL collation id (63 = binary); 0 for PostgreSQL */
  uint8_t decimals;   /* MySQL: digits after the point (DECIMAL, fractional seconds) */
} db_field_t;

/* A server error or notice. Absent fields have p == NULL. */
typedef struct {
  slice_t severity;  /* PostgreSQL 'V' (non-localized) or else 'S' */
  slice_t code;      /* SQLSTATE ('C'; MySQL: the five characters after '#') */
  slice_t message;   /* 'M' */
  slice_t detail;    /* 'D' */
  slice_t hint;      /* 'H' */
  slice_t position;  /* 'P' */
  slice_t internal_position; /* 'p' */
  slice_t internal_query;    /* 'q' */
  slice_t where;     /* 'W' */
  slice_t schema;    /* 's' */
  slice_t table;     /* 't' */
  slice_t column;    /* 'c' */
  slice_t data_type; /* 'd' */
  slice_t constraint; /* 'n' */
  slice_t file;      /* 'F' */
  slice_t line;      /* 'L' */
  slice_t routine;   /* 'R' */
  uint32_t number;   /* MySQL error number (1062, ...); 0 for PostgreSQL */
} db_error_t;

#endif
