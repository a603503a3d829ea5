/* Row batches: the DataRows of one result set, decoded into the compact layout that JS turns
 * into rows with a few typed-array reads and one string per batch (see ROWS.md, strategy "e").
 *
 * Layout of a serialized batch (little-endian, 8-byte aligned sections):
 *   u32 nrows, u32 ncols, u32 text_bytes, u32 flags (bit 0: text is ASCII)
 *   u8  kinds[ncols]                      padded to 8   (pg_cell_kind_t per column)
 *   f64 vals[nrows * ncols]               number, 0/1 for bool, epoch ms for times, or for a
 *                                         text cell the UTF-16 offset where it ends
 *   u8  tags[nrows * ncols]               padded to 8   (pg_cell_tag_t)
 *   u8  text[text_bytes]                  the text cells back to back, valid UTF-8
 * Text cells are in row-major order, so JS walks them with one running offset.
 * Sans-I/O, owned by one query on the loop thread.
 */
#ifndef UVSQL_PG_ROWBATCH_H
#define UVSQL_PG_ROWBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"
#include "pg.h"

typedef enum {
  PG_CELL_TEXT,   /* a string; JS may still parse it (int8, numeric, json, arrays, ...) */
  PG_CELL_NUMBER, /* int2/int4/oid/float4/float8: decoded in C */
  PG_CELL_BOOL,   /* bool: 1 or 0 */
  PG_CELL_TIME,   /* date/timestamp/timestamptz: epoch ms, or text when C cannot read it */
  PG_CELL__COUNT
} pg_cell_kind_t;

typedef enum {
  PG_TAG_NULL = 0,
  PG_TAG_VALUE = 1, /* vals[] holds the decoded value */
  PG_TAG_TEXT = 2,  /* the cell is text; vals[] holds its end offset */
} pg_cell_tag_t;

typedef struct {
  uint16_t ncols;
  uint8_t *kinds;   /* owned, ncols */
  int all_text;     /* every cell as text (raw mode) */
  buf_t vals;       /* owned */
  buf_t tags;       /* owned */
  buf_t text;       /* owned */
  uint32_t nrows;
  double utf16_end; /* UTF-16 length of `text` so far */
  int ascii;        /* every text byte so far is < 0x80 */
} pg_rowbatch_t;

/* How a column of this type is carried. */
pg_cell_kind_t pg_cell_kind(uint32_t type_oid);

void pg_rowbatch_init(pg_rowbatch_t *b);
void pg_rowbatch_destroy(pg_rowbatch_t *b);
/* Starts a result set: forgets rows and sets the column kinds. 0 or DB_ENOMEM. */
int pg_rowbatch_set_fields(pg_rowbatch_t *b, const db_field_t *fields, uint16_t n, int all_text);
/* Adds one DataRow body (already validated by the engine). 0, DB_EPROTO (column count differs
 * from the RowDescription) or DB_ENOMEM. */
int pg_rowbatch_add(pg_rowbatch_t *b, const uint8_t *body, size_t n);
/* Bytes of the serialized batch. */
size_t pg_rowbatch_size(const pg_rowbatch_t *b);
/* Writes the batch to dst (pg_rowbatch_size bytes, 8-byte aligned) and forgets its rows. */
void pg_rowbatch_take(pg_rowbatch_t *b, uint8_t *dst);

/* Exposed for tests: text -> epoch ms for the ISO DateStyle; 0 or -1 when not that layout. */
int pg_parse_time(const uint8_t *p, size_t n, double *ms);

#endif
