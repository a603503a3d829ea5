/* PostgreSQL binary-format cells: the columns a RowDescription marks format 1 although uvsql
 * asks for text (the FETCH of a BINARY cursor, a scripted server). The types Bun.SQL 1.4.5
 * decodes there are decoded into the same cell their text format gives; the others keep
 * failing the query (PG_OID_BINARY_COLUMN, ERR_POSTGRES_UNKNOWN_FORMAT_CODE in lib/types.js). */
#ifndef UVSQL_PG_BINARY_H
#define UVSQL_PG_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_rowbatch.h"

/* The type reported for a column the server sent in binary format and that is not decoded
 * (lib/types.js fails the query on it): no real type has this OID. */
#define PG_OID_BINARY_COLUMN 0xFFFFFFFFu
/* Binary int4[] and float4[] columns: Bun.SQL gives a 1-D one without NULLs as an Int32Array /
 * Float32Array, whatever the query's protocol (lib/types.js parses their text as for an
 * extended query's int4[] / float4[]). */
#define PG_OID_BINARY_INT4_ARRAY 0xFFFFFFFEu
#define PG_OID_BINARY_FLOAT4_ARRAY 0xFFFFFFFDu

/* The type a column of type `oid` in binary format is reported with: `oid` itself when it is
 * decoded (int4, float4, float8, bool, text, varchar, bpchar, name, "char", bytea, timestamp,
 * timestamptz, json, int2[], float8[]), PG_OID_BINARY_INT4_ARRAY / _FLOAT4_ARRAY, or
 * PG_OID_BINARY_COLUMN. */
uint32_t pg_binary_column_type(uint32_t oid);

/* 0 when the datum (n bytes) has the layout of `type` (as pg_binary_column_type gave it):
 * the exact length of a fixed-size type, a bool of 0 or 1, an array whose header, dimensions
 * and elements end exactly at n; -1 otherwise. Never reads outside p[0..n). */
int pg_binary_check(uint32_t type, const uint8_t *p, size_t n);

/* Appends one datum as the next cell of the row: a value for the kinds C decodes (number,
 * bool, time), otherwise the text format's text (bytea as \x hex, arrays as {..} literals),
 * which lib/types.js parses as usual. 0, DB_EPROTO (pg_binary_check refuses it) or DB_ENOMEM. */
int pg_binary_put(rowbatch_t *b, uint32_t type, const uint8_t *p, size_t n);

#endif
