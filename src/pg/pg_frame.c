/* Framing and decoding of backend messages. Pure functions over byte ranges. */
#include "pg_int.h"

#include <string.h>

#include "../base/base_err.h"

/* Types whose bodies may exceed PG_SHORT_MAX: rows, copy data, notices and errors with long
 * detail, notifications with long payloads, function results. */
static int pg_type_may_be_long(uint8_t type) {
  switch (type) {
    case 'D': /* DataRow */
    case 'd': /* CopyData */
    case 'E': /* ErrorResponse */
    case 'N': /* NoticeResponse */
    case 'A': /* NotificationResponse */
    case 'V': /* FunctionCallResponse */
    case 'T': /* RowDescription with many columns */
    case 'R': /* Authentication (SASL data) */
      return 1;
    default:
      return 0;
  }
}

ssize_t pg_frame_peek(const uint8_t *p, size_t n) {
  if (n < 5) {
    return 0;
  }
  uint32_t len = rd_u32be(p + 1);
  if (len < 4 || len > PG_FRAME_MAX || (len > PG_SHORT_MAX && !pg_type_may_be_long(p[0]))) {
    return DB_ESYNC;
  }
  if (n - 1 < len) {
    return 0;
  }
  return (ssize_t)len + 1;
}

int pg_decode_error(const uint8_t *body, size_t n, db_error_t *out) {
  reader_t r;
  reader_init(&r, body, n);
  memset(out, 0, sizeof(*out));
  slice_t localized_severity = {NULL, 0};
  for (;;) {
    uint8_t field = reader_u8(&r);
    if (r.err || field == 0) {
      break;
    }
    slice_t v = reader_cstr(&r);
    switch (field) {
      case 'S': localized_severity = v; break;
      case 'V': out->severity = v; break;
      case 'C': out->code = v; break;
      case 'M': out->message = v; break;
      case 'D': out->detail = v; break;
      case 'H': out->hint = v; break;
      case 'P': out->position = v; break;
      case 'p': out->internal_position = v; break;
      case 'q': out->internal_query = v; break;
      case 'W': out->where = v; break;
      case 's': out->schema = v; break;
      case 't': out->table = v; break;
      case 'c': out->column = v; break;
      case 'd': out->data_type = v; break;
      case 'n': out->constraint = v; break;
      case 'F': out->file = v; break;
      case 'L': out->line = v; break;
      case 'R': out->routine = v; break;
      default: break; /* unknown fields are to be ignored, per the protocol docs */
    }
  }
  if (out->severity.p == NULL) {
    out->severity = localized_severity;
  }
  return reader_finished(&r) ? 0 : DB_EPROTO;
}

int pg_decode_data_row(const uint8_t *body, size_t n, uint16_t *ncols) {
  reader_t r;
  reader_init(&r, body, n);
  uint16_t count = reader_u16be(&r);
  for (uint16_t i = 0; i < count && !r.err; i++) {
    int32_t len = reader_i32be(&r);
    if (len < -1) {
      return DB_EPROTO;
    }
    if (len > 0) {
      reader_bytes(&r, (size_t)len);
    }
  }
  if (!reader_finished(&r)) {
    return DB_EPROTO;
  }
  *ncols = count;
  return 0;
}

int pg_decode_row_description(const uint8_t *body, size_t n, db_field_t *fields, uint16_t cap,
                              uint16_t *count) {
  reader_t r;
  reader_init(&r, body, n);
  uint16_t nf = reader_u16be(&r);
  if (r.err || nf > cap) {
    return DB_EPROTO;
  }
  for (uint16_t i = 0; i < nf; i++) {
    db_field_t *f = &fields[i];
    f->name = reader_cstr(&r);
    f->table_oid = reader_u32be(&r);
    f->column = reader_u16be(&r);
    f->type_oid = reader_u32be(&r);
    f->type_len = (int16_t)reader_u16be(&r);
    f->type_mod = reader_i32be(&r);
    f->format = reader_u16be(&r);
    f->flags = 0;
    f->charset = 0;
    f->decimals = 0;
    if (r.err) {
      return DB_EPROTO;
    }
  }
  if (!reader_finished(&r)) {
    return DB_EPROTO;
  }
  *count = nf;
  return 0;
}
