/* Encoders for frontend messages. Each writes the type byte, a length placeholder, the body,
 * then patches the length, so a message is either appended whole or (on ENOMEM) truncated
 * back: a half-written frame never stays in the output. */
#include "pg_int.h"

#include <string.h>

#include "../base/base_err.h"

typedef struct {
  buf_t *out;
  /* Offset of the type byte (or of the length for untyped startup messages), counted from the
   * buffer's live start: buf_reserve may compact the consumed front and move absolute offsets. */
  size_t start;
  int rc;
} msg_t;

static void msg_begin(msg_t *m, buf_t *out, char type) {
  m->out = out;
  m->start = buf_size(out);
  m->rc = 0;
  if (type != 0) {
    m->rc = buf_put_u8(out, (uint8_t)type);
  }
  if (m->rc == 0) {
    m->rc = buf_put_u32be(out, 0);
  }
}

static void msg_bytes(msg_t *m, const void *p, size_t n) {
  if (m->rc == 0) {
    m->rc = buf_append(m->out, p, n);
  }
}
static void msg_u16(msg_t *m, uint16_t v) {
  if (m->rc == 0) {
    m->rc = buf_put_u16be(m->out, v);
  }
}
static void msg_u32(msg_t *m, uint32_t v) {
  if (m->rc == 0) {
    m->rc = buf_put_u32be(m->out, v);
  }
}
static void msg_cstr(msg_t *m, const char *s) {
  msg_bytes(m, s, strlen(s) + 1);
}

static int msg_end(msg_t *m, int typed) {
  size_t len_at = m->start + (typed ? 1 : 0);
  size_t size = buf_size(m->out);
  /* The server refuses messages over 1 GiB - 1; refuse them before they are written. */
  if (m->rc == 0 && size - len_at > PG_MESSAGE_MAX) {
    m->rc = DB_ETOOBIG;
  }
  if (m->rc != 0) {
    if (size > m->start) {
      m->out->len = m->out->head + m->start;
    }
    return m->rc;
  }
  buf_patch_u32be(m->out, m->out->head + len_at, (uint32_t)(size - len_at));
  return 0;
}

int pg_msg_startup(buf_t *out, const char *user, const char *database,
                   const char *const *params) {
  msg_t m;
  msg_begin(&m, out, 0);
  msg_u32(&m, 196608); /* protocol 3.0 */
  msg_cstr(&m, "user");
  msg_cstr(&m, user);
  if (database != NULL && database[0] != '\0') {
    msg_cstr(&m, "database");
    msg_cstr(&m, database);
  }
  for (size_t i = 0; params != NULL && params[i] != NULL && params[i + 1] != NULL; i += 2) {
    msg_cstr(&m, params[i]);
    msg_cstr(&m, params[i + 1]);
  }
  msg_bytes(&m, "", 1);
  return msg_end(&m, 0);
}

int pg_msg_ssl_request(buf_t *out) {
  msg_t m;
  msg_begin(&m, out, 0);
  msg_u32(&m, 80877103); /* the SSLRequest code */
  return msg_end(&m, 0);
}

int pg_msg_password(buf_t *out, const char *password) {
  msg_t m;
  msg_begin(&m, out, 'p');
  msg_cstr(&m, password);
  return msg_end(&m, 1);
}

int pg_msg_sasl_initial(buf_t *out, const char *mechanism, const uint8_t *data, size_t n) {
  msg_t m;
  msg_begin(&m, out, 'p');
  msg_cstr(&m, mechanism);
  msg_u32(&m, (uint32_t)n);
  msg_bytes(&m, data, n);
  return msg_end(&m, 1);
}

int pg_msg_sasl_response(buf_t *out, const uint8_t *data, size_t n) {
  msg_t m;
  msg_begin(&m, out, 'p');
  msg_bytes(&m, data, n);
  return msg_end(&m, 1);
}

int pg_msg_parse(buf_t *out, const char *name, const char *text, size_t text_len,
                 uint16_t nparams, const uint32_t *types) {
  if (memchr(text, 0, text_len) != NULL) {
    return DB_EARG; /* a NUL would end the query text early on the server */
  }
  msg_t m;
  msg_begin(&m, out, 'P');
  msg_cstr(&m, name);
  msg_bytes(&m, text, text_len);
  msg_bytes(&m, "", 1);
  /* A type of 0 leaves it to the server to infer from the query. */
  msg_u16(&m, nparams);
  for (uint16_t i = 0; i < nparams; i++) {
    msg_u32(&m, types != NULL ? types[i] : 0);
  }
  return msg_end(&m, 1);
}

int pg_msg_bind(buf_t *out, const char *portal, const char *stmt, uint16_t nparams,
                const slice_t *values) {
  msg_t m;
  msg_begin(&m, out, 'B');
  msg_cstr(&m, portal);
  msg_cstr(&m, stmt);
  msg_u16(&m, 0); /* every parameter in text format */
  msg_u16(&m, nparams);
  for (uint16_t i = 0; i < nparams; i++) {
    if (values[i].p == NULL) {
      msg_u32(&m, 0xffffffffu);
    } else {
      if (values[i].n > 0x7fffffffu) {
        m.rc = DB_ETOOBIG;
      }
      msg_u32(&m, (uint32_t)values[i].n);
      msg_bytes(&m, values[i].p, values[i].n);
    }
  }
  msg_u16(&m, 0); /* every result column in text format */
  return msg_end(&m, 1);
}

int pg_msg_describe(buf_t *out, char kind, const char *name) {
  msg_t m;
  msg_begin(&m, out, 'D');
  msg_bytes(&m, &kind, 1);
  msg_cstr(&m, name);
  return msg_end(&m, 1);
}

int pg_msg_close(buf_t *out, char kind, const char *name) {
  msg_t m;
  msg_begin(&m, out, 'C');
  msg_bytes(&m, &kind, 1);
  msg_cstr(&m, name);
  return msg_end(&m, 1);
}

int pg_msg_query(buf_t *out, const char *text, size_t text_len) {
  msg_t m;
  msg_begin(&m, out, 'Q');
  msg_bytes(&m, text, text_len);
  msg_bytes(&m, "", 1);
  return msg_end(&m, 1);
}

int pg_msg_execute(buf_t *out, const char *portal, uint32_t max_rows) {
  msg_t m;
  msg_begin(&m, out, 'E');
  msg_cstr(&m, portal);
  msg_u32(&m, max_rows);
  return msg_end(&m, 1);
}

int pg_msg_sync(buf_t *out) {
  msg_t m;
  msg_begin(&m, out, 'S');
  return msg_end(&m, 1);
}

int pg_msg_terminate(buf_t *out) {
  msg_t m;
  msg_begin(&m, out, 'X');
  return msg_end(&m, 1);
}
