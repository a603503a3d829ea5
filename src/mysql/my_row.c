/* Text and binary row decoders (see my_row.h). Every byte is read through the bounds-checked
 * reader, every length is checked against what is left, and the walk must end exactly at the
 * end of the payload: a row that disagrees with its columns is DB_EPROTO, never an over-read. */
#include "my_row.h"

#include <string.h>

#include "../base/base_err.h"
#include "my_wire.h"
#include "mysql.h"

static int emit(my_cell_fn fn, void *arg, uint16_t col, const my_cell_t *cell) {
  return fn != NULL ? fn(arg, col, cell) : 0;
}

int my_row_each_text(const uint8_t *p, size_t n, uint16_t ncols, my_cell_fn fn, void *arg) {
  reader_t r;
  reader_init(&r, p, n);
  for (uint16_t i = 0; i < ncols; i++) {
    my_cell_t cell; /* only the fields of cell.kind are set: see my_row.h */
    if (reader_left(&r) > 0 && r.p[r.pos] == 0xFB) {
      r.pos++;
      cell.kind = MY_CELL_NULL;
    } else {
      cell.kind = MY_CELL_BYTES;
      cell.bytes = reader_lenenc_str(&r);
      if (r.err) {
        return DB_EPROTO;
      }
    }
    int rc = emit(fn, arg, i, &cell);
    if (rc != 0) {
      return rc;
    }
  }
  return reader_finished(&r) ? 0 : DB_EPROTO;
}

/* DATE/DATETIME/TIMESTAMP: a length byte (0, 4, 7 or 11) then the fields present. */
static int read_datetime(reader_t *r, my_cell_t *cell) {
  uint8_t len = reader_u8(r);
  cell->kind = MY_CELL_DATETIME;
  memset(&cell->dt, 0, sizeof(cell->dt)); /* the fields a short form leaves out are zero */
  if (len != 0 && len != 4 && len != 7 && len != 11) {
    return DB_EPROTO;
  }
  if (len >= 4) {
    cell->dt.year = reader_u16le(r);
    cell->dt.month = reader_u8(r);
    cell->dt.day = reader_u8(r);
  }
  if (len >= 7) {
    cell->dt.hour = reader_u8(r);
    cell->dt.minute = reader_u8(r);
    cell->dt.second = reader_u8(r);
  }
  if (len == 11) {
    cell->dt.micro = (int)(reader_u32le(r) & 0x7fffffffu);
  }
  /* Out-of-range fields would only make a consumer build a wrong date: refuse them here. */
  if (r->err || cell->dt.month > 12 || cell->dt.day > 31 || cell->dt.hour > 23 ||
      cell->dt.minute > 59 || cell->dt.second > 59 || cell->dt.micro > 999999) {
    return DB_EPROTO;
  }
  return 0;
}

/* TIME: a length byte (0, 8 or 12): sign, days, hours, minutes, seconds[, microseconds]. */
static int read_time(reader_t *r, my_cell_t *cell) {
  uint8_t len = reader_u8(r);
  cell->kind = MY_CELL_TIME;
  memset(&cell->time, 0, sizeof(cell->time));
  if (len != 0 && len != 8 && len != 12) {
    return DB_EPROTO;
  }
  if (len >= 8) {
    uint8_t neg = reader_u8(r);
    uint32_t days = reader_u32le(r);
    cell->time.hour = reader_u8(r);
    cell->time.minute = reader_u8(r);
    cell->time.second = reader_u8(r);
    if (neg > 1 || days > 0x7fffffffu) {
      return DB_EPROTO;
    }
    cell->time.negative = neg;
    cell->time.days = (int)days;
  }
  if (len == 12) {
    cell->time.micro = (int)(reader_u32le(r) & 0x7fffffffu);
  }
  if (r->err || cell->time.hour > 23 || cell->time.minute > 59 || cell->time.second > 59 ||
      cell->time.micro > 999999) {
    return DB_EPROTO;
  }
  return 0;
}

/* One non-NULL binary value of the given column. */
static int read_binary(reader_t *r, const db_field_t *f, my_cell_t *cell) {
  int is_unsigned = (f->flags & MY_FLAG_UNSIGNED) != 0;
  uint64_t raw;
  int64_t sval;
  switch (f->type_oid) {
    case MYSQL_TYPE_TINY:
      raw = reader_u8(r);
      sval = (int8_t)raw;
      break;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR:
      raw = reader_u16le(r);
      sval = (int16_t)raw;
      break;
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
      /* INT24 travels as 4 bytes, sign-extended by the server. */
      raw = reader_u32le(r);
      sval = (int32_t)raw;
      break;
    case MYSQL_TYPE_LONGLONG:
      raw = reader_u64le(r);
      sval = (int64_t)raw;
      break;
    case MYSQL_TYPE_FLOAT: {
      uint32_t bits = reader_u32le(r);
      float fv;
      memcpy(&fv, &bits, sizeof(fv));
      cell->kind = MY_CELL_DOUBLE;
      cell->d = (double)fv;
      return r->err ? DB_EPROTO : 0;
    }
    case MYSQL_TYPE_DOUBLE: {
      uint64_t bits = reader_u64le(r);
      memcpy(&cell->d, &bits, sizeof(cell->d));
      cell->kind = MY_CELL_DOUBLE;
      return r->err ? DB_EPROTO : 0;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
      return read_datetime(r, cell);
    case MYSQL_TYPE_TIME:
      return read_time(r, cell);
    default:
      cell->kind = MY_CELL_BYTES;
      cell->bytes = reader_lenenc_str(r);
      return r->err ? DB_EPROTO : 0;
  }
  if (r->err) {
    return DB_EPROTO;
  }
  if (is_unsigned) {
    cell->kind = MY_CELL_UINT;
    cell->u = raw;
  } else {
    cell->kind = MY_CELL_INT;
    cell->i = sval;
  }
  return 0;
}

int my_row_each_binary(const uint8_t *p, size_t n, const db_field_t *fields, uint16_t ncols,
                       my_cell_fn fn, void *arg) {
  reader_t r;
  reader_init(&r, p, n);
  if (reader_u8(&r) != 0x00) {
    return DB_EPROTO;
  }
  /* The NULL bitmap of a result row starts at bit 2 (bits 0-1 are reserved). */
  slice_t bitmap = reader_bytes(&r, ((size_t)ncols + 7 + 2) / 8);
  if (r.err) {
    return DB_EPROTO;
  }
  for (uint16_t i = 0; i < ncols; i++) {
    /* Not zeroed as a whole: a memset of the ~100-byte cell per value was 2/3 of this
     * function's time (perf); each reader sets the fields of the kind it reports. */
    my_cell_t cell;
    size_t bit = (size_t)i + 2;
    if (bitmap.p[bit / 8] & (1u << (bit % 8))) {
      cell.kind = MY_CELL_NULL;
    } else if (read_binary(&r, &fields[i], &cell) < 0) {
      return DB_EPROTO;
    }
    int rc = emit(fn, arg, i, &cell);
    if (rc != 0) {
      return rc;
    }
  }
  return reader_finished(&r) ? 0 : DB_EPROTO;
}
