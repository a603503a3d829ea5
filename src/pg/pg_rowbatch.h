/* PostgreSQL DataRows (text format) decoded into row batches (src/base/base_rowbatch.h): what
 * C reads the same way as lib/types.js becomes a number, bool or time; the rest stays text. */
#ifndef UVSQL_PG_ROWBATCH_H
#define UVSQL_PG_ROWBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_rowbatch.h"
#include "pg.h"

/* How a column of this type is carried. */
row_cell_kind_t pg_cell_kind(uint32_t type_oid);

/* Starts a result set: forgets rows and sets the column kinds. 0 or DB_ENOMEM. */
int pg_rowbatch_set_fields(rowbatch_t *b, const db_field_t *fields, uint16_t n, int all_text);
/* Adds one DataRow body (already validated by the engine). 0, DB_EPROTO (column count differs
 * from the RowDescription) or DB_ENOMEM. */
int pg_rowbatch_add(rowbatch_t *b, const uint8_t *body, size_t n);

/* Exposed for tests: text -> epoch ms for the ISO DateStyle; 0 or -1 when not that layout. */
int pg_parse_time(const uint8_t *p, size_t n, double *ms);

#endif
