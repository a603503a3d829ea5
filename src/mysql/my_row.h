/* Pure decoders for MySQL row packets (the payloads my_handler_t.on_row hands out).
 *
 * No state, no allocation: each walks one payload with the bounds-checked reader and calls `fn`
 * once per column in order. The engine runs them with fn == NULL on every row before on_row,
 * so on the rows it reports they cannot fail. Safe on any thread.
 */
#ifndef UVSQL_MY_ROW_H
#define UVSQL_MY_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_reader.h"
#include "../base/db_types.h"

typedef enum {
  MY_CELL_NULL,
  MY_CELL_BYTES,    /* `bytes` (text protocol: every non-NULL cell) */
  MY_CELL_INT,      /* `i`: signed TINY/SHORT/INT24/LONG/LONGLONG/YEAR */
  MY_CELL_UINT,     /* `u`: the same types with the UNSIGNED flag */
  MY_CELL_DOUBLE,   /* `d`: DOUBLE, or FLOAT widened from its float value */
  MY_CELL_DATETIME, /* `dt`: DATE/DATETIME/TIMESTAMP (zero fields for a zero date) */
  MY_CELL_TIME,     /* `time`: TIME (may exceed 24 hours through `days`) */
} my_cell_kind_t;

/* Only `kind` and the field it names are set (the decoders do not zero the rest). */
typedef struct {
  my_cell_kind_t kind;
  slice_t bytes;
  int64_t i;
  uint64_t u;
  double d;
  struct { int year, month, day, hour, minute, second, micro; } dt;
  struct { int negative, days, hour, minute, second, micro; } time;
} my_cell_t;

/* Called for each column; a non-zero return stops the walk (and is returned). */
typedef int (*my_cell_fn)(void *arg, uint16_t col, const my_cell_t *cell);

/* Text protocol row: ncols cells, each 0xFB (NULL) or a lenenc string. 0, DB_EPROTO, or what fn
 * returned. fn may be NULL (validation only). */
int my_row_each_text(const uint8_t *p, size_t n, uint16_t ncols, my_cell_fn fn, void *arg);

/* Binary protocol row: 0x00, NULL bitmap (offset 2), then each non-NULL value encoded by its
 * column's type (fields[i].type_oid, UNSIGNED in fields[i].flags). Same returns. */
int my_row_each_binary(const uint8_t *p, size_t n, const db_field_t *fields, uint16_t ncols,
                       my_cell_fn fn, void *arg);

#endif
