/* Row batches: the DataRows of one result set, decoded into the compact layout that JS turns
 * into rows with a few typed-array reads and one string per batch (see ROWS.md, strategy "e").
 *
 * Layout of a serialized batch (little-endian, 8-byte aligned sections):
 *   u32 nrows, u32 ncols, u32 text_bytes, u32 flags (bit 0: text is ASCII, bit 1: json is
 *   ASCII, bit 2: rows Bun.SQL reads in text format), u32 json_bytes, u32 0
 *   u8  kinds[ncols]                      padded to 8   (row_cell_kind_t per column)
 *   f64 vals[nrows * ncols]               number, 0/1 for bool, epoch ms for times, or for a
 *                                         text cell the UTF-16 offset where it ends
 *   u8  tags[nrows * ncols]               padded to 8   (row_cell_tag_t)
 *   u8  text[text_bytes]                  the text cells back to back, valid UTF-8
 *   u8  json[json_bytes]                  the JSON cells as one JSON array "[d0,d1,...]",
 *                                         valid UTF-8 (empty when the batch has none)
 * Text cells are in row-major order, so JS walks them with one running offset. JSON cells
 * (json/jsonb) become one JSON.parse per batch instead of one per cell: about 0.6x the time
 * per document on V8 (ROWS.md, "jb"). Their vals[] hold where each document ends in the
 * array's text (UTF-16 units), so JS can still parse them one by one when the whole array does
 * not parse (MySQL keeps an invalid JSON value as a string).
 * Sans-I/O, owned by one query on the loop thread. This file is the generic half; the engines
 * decode their rows into it (src/pg/pg_rowbatch.c, src/mysql/my_rowbatch.c).
 */
#ifndef UVSQL_BASE_ROWBATCH_H
#define UVSQL_BASE_ROWBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "base_buf.h"
#include "db_types.h"

typedef enum {
  ROW_CELL_TEXT,   /* a string; JS may still parse it (int8, numeric, json, arrays, ...) */
  ROW_CELL_NUMBER, /* int2/int4/oid/float4/float8: decoded in C */
  ROW_CELL_BOOL,   /* bool: 1 or 0 */
  ROW_CELL_TIME,   /* date/timestamp/timestamptz: epoch ms, or text when C cannot read it */
  ROW_CELL_JSON,   /* json/jsonb: a document of the batch's JSON array */
  ROW_CELL__COUNT
} row_cell_kind_t;

typedef enum {
  ROW_TAG_NULL = 0,
  ROW_TAG_VALUE = 1, /* vals[] holds the decoded value */
  ROW_TAG_TEXT = 2,  /* the cell is text; vals[] holds its end offset */
  ROW_TAG_JSON = 3,  /* the next document of the JSON array; vals[] holds its end offset */
} row_cell_tag_t;

typedef struct {
  uint16_t ncols;
  uint8_t *kinds;   /* owned, ncols */
  int all_text;     /* every cell as text (raw mode) */
  int text_format;  /* rows Bun.SQL would read in text format (a simple-protocol query, one
                     * without parameters, or prepare: false): a few types decode differently
                     * there (int4[] and float4[] stay plain arrays); set by the owner */
  buf_t vals;       /* owned */
  buf_t tags;       /* owned */
  buf_t text;       /* owned */
  uint32_t nrows;
  double utf16_end; /* UTF-16 length of `text` so far */
  int ascii;        /* every text byte so far is < 0x80 */
  buf_t json;       /* owned: "[d0,d1,..." (the "]" is added by rowbatch_take) */
  double json_utf16; /* UTF-16 length of `json` so far */
  int json_ascii;   /* every json byte so far is < 0x80 */
  db_field_t *cols; /* owned, ncols: the columns (names dropped), for decoders that need more
                     * than the kinds (MySQL's binary rows); NULL until rowbatch_keep_cols */
  uint16_t kinds_cap; /* room in `kinds` (a recycled batch keeps its storage) */
  uint16_t cols_cap;  /* room in `cols`, likewise */
} rowbatch_t;

void rowbatch_init(rowbatch_t *b);
void rowbatch_destroy(rowbatch_t *b);
/* Bytes of heap the batch holds (to decide whether it is worth recycling). */
size_t rowbatch_footprint(const rowbatch_t *b);
/* Starts a result set of `ncols` columns: forgets rows; b->kinds[] (zeroed = text) is then
 * filled by the engine's decoder. Reuses the batch's storage when it is big enough, so a batch
 * can be recycled for the next result (src/napi keeps a few per pool). 0 or DB_ENOMEM. */
int rowbatch_start(rowbatch_t *b, uint16_t ncols, int all_text);

/* Keeps a copy of the columns (without their names) in b->cols. 0 or DB_ENOMEM. */
int rowbatch_keep_cols(rowbatch_t *b, const db_field_t *fields, uint16_t n);

/* Adding one row: rowbatch_row_begin (reserves room for ncols cells), then exactly ncols
 * rowbatch_put_* calls, then b->nrows++. */
int rowbatch_row_begin(rowbatch_t *b);
void rowbatch_put_null(rowbatch_t *b);
void rowbatch_put_value(rowbatch_t *b, double v);
/* A text cell; invalid UTF-8 becomes U+FFFD. 0 or DB_ENOMEM. */
int rowbatch_put_text(rowbatch_t *b, const uint8_t *p, size_t n);
/* A JSON document (valid JSON text from the server) for the batch's JSON array; invalid UTF-8
 * becomes U+FFFD as in rowbatch_put_text. 0 or DB_ENOMEM. */
int rowbatch_put_json(rowbatch_t *b, const uint8_t *p, size_t n);
/* Bytes carried as one UTF-16 unit each (JS reads them back with Buffer.from(s, 'latin1')). */
int rowbatch_put_latin1(rowbatch_t *b, const uint8_t *p, size_t n);

/* Decimal text (an integer, a float, NaN, ±Infinity) -> *out exactly as JS Number() reads it;
 * 0, or -1 for anything else (which then stays text). */
int rowbatch_parse_number(const uint8_t *p, size_t n, double *out);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (astronomical years):
 * how both engines turn dates into epoch milliseconds. */
int64_t rowbatch_days_from_civil(int64_t y, int m, int d);

/* Bytes of the serialized batch. */
size_t rowbatch_size(const rowbatch_t *b);
/* Writes the batch to dst (rowbatch_size bytes, 8-byte aligned) and forgets its rows. */
void rowbatch_take(rowbatch_t *b, uint8_t *dst);

#endif
