/* MySQL row packets (text and binary protocol) decoded into row batches
 * (src/base/base_rowbatch.h): integers that fit a double, FLOAT/DOUBLE and dates become numbers
 * and epoch milliseconds in C; BIGINT, DECIMAL, TIME and strings stay text; binary strings are
 * carried byte for byte (latin1) for JS to turn into Buffers. lib/mysql-types.js is the other
 * half and must agree with the kinds chosen here. */
#ifndef UVSQL_MY_ROWBATCH_H
#define UVSQL_MY_ROWBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_rowbatch.h"
#include "../base/db_types.h"

/* The type code JS sees for a column: the type byte, | 0x100 when UNSIGNED, | 0x200 when the
 * collation is binary (63), | 0x400 for a BIT(1) column. */
uint32_t my_field_js_type(const db_field_t *f);

/* Starts a result set: forgets rows, keeps the columns, sets the kinds. 0 or DB_ENOMEM. */
int my_rowbatch_set_fields(rowbatch_t *b, const db_field_t *fields, uint16_t n, int all_text);

/* Adds one row payload as the engine reported it (already validated). 0, DB_EPROTO or
 * DB_ENOMEM. */
int my_rowbatch_add(rowbatch_t *b, const uint8_t *payload, size_t n);

#endif
