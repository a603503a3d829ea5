/* The PostgreSQL connection state machine: one handler per state, one place that moves state.
 *
 * Input is framed first (pg_frame_peek), then each whole frame is dispatched. Messages that may
 * arrive at any time (NoticeResponse, ParameterStatus, NotificationResponse) are handled before
 * the state's own handler; anything a state does not expect is a protocol violation, fatal to
 * this connection only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth/auth_md5.h"
#include "../base/base_err.h"
#include "../base/base_bytes.h"
#include "../base/base_mem.h"
#include "pg_binary.h"
#include "pg_int.h"

/* One query sent and not yet answered by its ReadyForQuery. */
typedef struct {
  list_node_t node;
  void *query;     /* borrowed: the owner's opaque pointer */
  pg_stmt_t *stmt; /* the named statement it binds, or NULL (unnamed / simple protocol) */
  int parses;      /* its own Parse creates `stmt` */
  int cancel;      /* cancel requested: send it when this query becomes the running one */
  int errored;     /* its ErrorResponse came: only ReadyForQuery may follow */
  int bound;       /* BindComplete came: an error now comes from running the query itself */
} pg_pending_t;

/* Authentication request codes (AuthenticationXXX 'R' messages). */
enum {
  PG_AUTH_OK = 0,
  PG_AUTH_CLEARTEXT = 3,
  PG_AUTH_MD5 = 5,
  PG_AUTH_SASL = 10,
  PG_AUTH_SASL_CONTINUE = 11,
  PG_AUTH_SASL_FINAL = 12,
};

static void fail_with(pg_conn_t *c, int code, const db_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static const char *const state_names[PG_ST__COUNT] = {
  [PG_ST_SSL_WAIT] = "SSL_WAIT",  [PG_ST_TLS] = "TLS",
  [PG_ST_STARTUP] = "STARTUP",   [PG_ST_SASL_FIRST] = "SASL_FIRST",
  [PG_ST_SASL_FINAL] = "SASL_FINAL", [PG_ST_PASSWORD] = "PASSWORD",
  [PG_ST_AUTHED] = "AUTHED",     [PG_ST_READY] = "READY",
  [PG_ST_FAILED] = "FAILED",     [PG_ST_CLOSED] = "CLOSED",
};

const char *pg_state_name(pg_state_t s) {
  return (unsigned)s < PG_ST__COUNT ? state_names[s] : "INVALID";
}

int pg_conn_init(pg_conn_t *c, const pg_config_t *cfg, const pg_handler_t *h, void *ctx) {
  memset(c, 0, sizeof(*c));
  c->state = PG_ST_STARTUP;
  c->handler = h;
  c->ctx = ctx;
  buf_init(&c->in);
  buf_init(&c->out);
  buf_init(&c->held);
  list_init(&c->pending);
  pg_stmt_cache_init(&c->stmts, cfg->stmt_cache_max);
  c->tx_status = 'I';
  c->row_ncols = -1;
  c->user = base_strdup(cfg->user != NULL ? cfg->user : "");
  c->password = base_strdup(cfg->password);
  if (c->user == NULL || (cfg->password != NULL && c->password == NULL)) {
    pg_conn_destroy(c);
    return DB_ENOMEM;
  }
  /* The startup message is built now, while cfg (borrowed) is still alive; with TLS it waits
   * for the handshake, behind an SSLRequest. */
  buf_init(&c->startup);
  c->ssl_mode = cfg->ssl_mode;
  c->channel_binding = cfg->channel_binding;
  c->auth_allowed = cfg->auth_allowed;
  int rc = pg_msg_startup(&c->startup, c->user, cfg->database, cfg->params);
  if (rc == 0 && c->ssl_mode == DB_SSL_DISABLE) {
    rc = buf_append(&c->out, buf_begin(&c->startup), buf_size(&c->startup));
  } else if (rc == 0) {
    rc = pg_msg_ssl_request(&c->out);
    c->state = PG_ST_SSL_WAIT;
  }
  if (rc < 0) {
    pg_conn_destroy(c);
    return rc;
  }
  return 0;
}

void pg_conn_destroy(pg_conn_t *c) {
  list_node_t *n;
  while ((n = list_pop_front(&c->pending)) != NULL) {
    free(container_of(n, pg_pending_t, node));
  }
  c->npending = 0;
  pg_stmt_cache_destroy(&c->stmts);
  if (c->scram_live) {
    auth_scram_destroy(&c->scram);
    c->scram_live = 0;
  }
  free(c->user);
  c->user = NULL;
  base_wipe_free(c->password);
  c->password = NULL;
  free(c->fields);
  c->fields = NULL;
  buf_destroy(&c->in);
  buf_destroy(&c->held);
  buf_wipe_destroy(&c->startup);
  /* Outgoing bytes may hold a password message. */
  buf_wipe_destroy(&c->out);
}

int pg_conn_set_password(pg_conn_t *c, const char *password) {
  char *copy = base_strdup(password);
  if (password != NULL && copy == NULL) {
    return DB_ENOMEM;
  }
  base_wipe_free(c->password);
  c->password = copy;
  return 0;
}

int pg_conn_tls_ready(pg_conn_t *c, const uint8_t *cbind, size_t cbind_len) {
  if (c->state != PG_ST_TLS) {
    return DB_ESTATE;
  }
  if (cbind != NULL && cbind_len > 0 && cbind_len <= sizeof(c->cbind)) {
    memcpy(c->cbind, cbind, cbind_len);
    c->cbind_len = cbind_len;
  }
  c->tls = 1;
  c->state = PG_ST_STARTUP;
  int rc = buf_append(&c->out, buf_begin(&c->startup), buf_size(&c->startup));
  if (rc < 0) {
    fail_with(c, rc, NULL, "out of memory");
  }
  return rc;
}

/* The one-byte answer to SSLRequest, alone in its read. */
static int on_ssl_answer(pg_conn_t *c, const uint8_t *p, size_t n) {
  uint8_t answer = p[0];
  if (answer == 'S') {
    if (n > 1) {
      /* Bytes that arrived before the handshake were not encrypted: an attacker could have
       * injected them (CVE-2021-23222). */
      fail_with(c, DB_EPROTO, NULL,
                "the server sent unencrypted data right after accepting TLS; refusing it");
      return DB_EPROTO;
    }
    c->state = PG_ST_TLS;
    int rc = c->handler->on_tls_start != NULL ? c->handler->on_tls_start(c->ctx) : DB_ETLS;
    if (rc < 0) {
      fail_with(c, rc, NULL, "could not start TLS");
    }
    return rc;
  }
  if (answer == 'N' && c->ssl_mode == DB_SSL_PREFER) {
    if (n > 1) {
      fail_with(c, DB_EPROTO, NULL, "unexpected data after the server refused TLS");
      return DB_EPROTO;
    }
    c->state = PG_ST_STARTUP;
    return buf_append(&c->out, buf_begin(&c->startup), buf_size(&c->startup));
  }
  if (answer == 'N') {
    fail_with(c, DB_ETLSUNAVAILABLE, NULL,
              "the server does not support TLS, and the TLS mode requires it");
    return DB_ETLSUNAVAILABLE;
  }
  if (answer == 'E') {
    /* An error before authentication: never show its text, it is not trustworthy
     * (CVE-2024-10977). Very old servers answer this way when they have no TLS. */
    fail_with(c, DB_ETLSUNAVAILABLE, NULL, "the server rejected the TLS request");
    return DB_ETLSUNAVAILABLE;
  }
  fail_with(c, DB_EPROTO, NULL, "invalid answer 0x%02x to the TLS request", answer);
  return DB_EPROTO;
}

/* ---- failure ---------------------------------------------------------------------------- */

static void fail_pending(pg_conn_t *c, int code, const db_error_t *err) {
  list_node_t *n;
  while ((n = list_pop_front(&c->pending)) != NULL) {
    pg_pending_t *q = container_of(n, pg_pending_t, node);
    void *query = q->query;
    if (q->stmt != NULL) {
      pg_stmt_release(&c->stmts, q->stmt);
    }
    free(q);
    c->npending--;
    c->handler->on_query_done(c->ctx, query, code, err);
  }
}

static void fail_with(pg_conn_t *c, int code, const db_error_t *err, const char *fmt, ...) {
  if (c->state == PG_ST_FAILED || c->state == PG_ST_CLOSED) {
    return;
  }
  c->state = PG_ST_FAILED;
  c->err = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
  va_end(ap);
  if (c->scram_live) {
    auth_scram_destroy(&c->scram);
    c->scram_live = 0;
  }
  c->handler->on_fatal(c->ctx, code, c->errmsg, err);
  fail_pending(c, code, err);
}

void pg_conn_fail(pg_conn_t *c, int code, const char *message) {
  fail_with(c, code, NULL, "%s", message);
}

void pg_conn_terminate(pg_conn_t *c) {
  if (c->state == PG_ST_FAILED || c->state == PG_ST_CLOSED) {
    return;
  }
  int was_ready = c->state == PG_ST_READY;
  c->state = PG_ST_CLOSED;
  c->err = DB_ECLOSED;
  snprintf(c->errmsg, sizeof(c->errmsg), "connection closed");
  if (was_ready) {
    buf_clear(&c->out); /* unsent queries are failed below; only Terminate goes out */
    (void)pg_msg_terminate(&c->out);
  }
  fail_pending(c, DB_ECLOSED, NULL);
}

/* ---- queries ---------------------------------------------------------------------------- */

/* Checks the state and allocates the record that waits for the answer. */
static int pending_new(pg_conn_t *c, pg_pending_t **out) {
  *out = NULL;
  if (c->state == PG_ST_FAILED || c->state == PG_ST_CLOSED) {
    return c->err < 0 ? c->err : DB_ECLOSED;
  }
  *out = calloc(1, sizeof(pg_pending_t));
  return *out != NULL ? 0 : DB_ENOMEM;
}

/* Queries queued before the handshake ends wait in `held` and go out after it. */
static buf_t *query_output(pg_conn_t *c) {
  return c->state == PG_ST_READY ? &c->out : &c->held;
}

static void pending_push(pg_conn_t *c, pg_pending_t *q, void *query) {
  q->query = query;
  list_push_back(&c->pending, &q->node);
  c->npending++;
}

int pg_conn_query(pg_conn_t *c, const char *text, size_t text_len, uint16_t nparams,
                  const uint32_t *types, const slice_t *values, void *query) {
  if (memchr(text, 0, text_len) != NULL) {
    return DB_EARG; /* a NUL would end the query text early on the server */
  }
  pg_pending_t *q = NULL;
  int rc = pending_new(c, &q);
  if (rc < 0) {
    return rc;
  }
  /* Named statement from the cache when prepare is on: Parse only the first time. */
  pg_stmt_t *st = NULL;
  char evicted[PG_STMT_NAME_MAX] = "";
  q->parses = 1;
  if (c->stmts.max > 0) {
    st = pg_stmt_find(&c->stmts, text, text_len, nparams, types);
    if (st != NULL) {
      q->parses = 0;
    } else {
      st = pg_stmt_add(&c->stmts, text, text_len, nparams, types, evicted);
    }
  }
  const char *name = st != NULL ? st->name : "";
  buf_t *out = query_output(c);
  size_t mark = buf_size(out);
  if (evicted[0] != '\0') {
    rc = pg_msg_close(out, 'S', evicted); /* its CloseComplete arrives within this answer */
  }
  if (rc == 0 && q->parses) {
    rc = pg_msg_parse(out, name, text, text_len, nparams, types);
  }
  if (rc == 0) {
    rc = pg_msg_bind(out, "", name, nparams, values);
  }
  if (rc == 0) {
    rc = pg_msg_describe(out, 'P', "");
  }
  if (rc == 0) {
    rc = pg_msg_execute(out, "", 0);
  }
  if (rc == 0) {
    rc = pg_msg_sync(out);
  }
  if (rc < 0) {
    out->len = out->head + mark; /* never leave a partial query on the wire */
    if (st != NULL && q->parses) {
      pg_stmt_detach(&c->stmts, st); /* never sent: forget it */
    }
    free(q);
    return rc;
  }
  if (st != NULL) {
    st->users++;
    q->stmt = st;
  }
  pending_push(c, q, query);
  return 0;
}

int pg_conn_simple_query(pg_conn_t *c, const char *text, size_t text_len, void *query) {
  if (memchr(text, 0, text_len) != NULL) {
    return DB_EARG;
  }
  pg_pending_t *q = NULL;
  int rc = pending_new(c, &q);
  if (rc < 0) {
    return rc;
  }
  rc = pg_msg_query(query_output(c), text, text_len);
  if (rc < 0) {
    free(q);
    return rc;
  }
  pending_push(c, q, query);
  return 0;
}

static pg_pending_t *front_pending(const pg_conn_t *c) {
  list_node_t *n = list_front(&c->pending);
  return n != NULL ? container_of(n, pg_pending_t, node) : NULL;
}

int pg_conn_request_cancel(pg_conn_t *c, void *query) {
  if (c->state != PG_ST_READY) {
    return DB_EARG;
  }
  int first = 1;
  for (list_node_t *n = c->pending.next; n != &c->pending; n = n->next) {
    pg_pending_t *q = container_of(n, pg_pending_t, node);
    if (q->query == query) {
      if (first) {
        return 1;
      }
      q->cancel = 1;
      return 0;
    }
    first = 0;
  }
  return DB_EARG;
}

int pg_conn_cancel_message(const pg_conn_t *c, buf_t *out) {
  int rc = buf_put_u32be(out, 16);
  if (rc == 0) {
    rc = buf_put_u32be(out, 80877102); /* the CancelRequest code */
  }
  if (rc == 0) {
    rc = buf_put_u32be(out, c->backend_pid);
  }
  if (rc == 0) {
    rc = buf_put_u32be(out, c->backend_key);
  }
  return rc;
}

static void *front_query(const pg_conn_t *c) {
  list_node_t *n = list_front(&c->pending);
  return n != NULL ? container_of(n, pg_pending_t, node)->query : NULL;
}

/* ---- authentication --------------------------------------------------------------------- */

static int need_password(pg_conn_t *c, const char *method) {
  if (c->password == NULL) {
    fail_with(c, DB_ENOPASSWORD, NULL,
              "the server requested %s authentication but no password was given", method);
    return DB_ENOPASSWORD;
  }
  return 0;
}

/* require_auth and channel_binding=require, checked before anything is answered: a method
 * the user ruled out fails the connection with no credential sent. */
static int method_allowed(pg_conn_t *c, unsigned bit, const char *what_server_did) {
  if (c->auth_allowed != 0 && (c->auth_allowed & bit) == 0) {
    fail_with(c, DB_EAUTHMETHOD, NULL, "the server %s, which require_auth does not allow",
              what_server_did);
    return DB_EAUTHMETHOD;
  }
  if (c->channel_binding == PG_CBIND_REQUIRE && bit != PG_AUTH_ALLOW_SCRAM) {
    fail_with(c, DB_EAUTHMETHOD, NULL,
              "channel_binding=require, but the server %s (no channel binding)",
              what_server_did);
    return DB_EAUTHMETHOD;
  }
  return 0;
}

static int auth_sasl_start(pg_conn_t *c, reader_t *r) {
  int has_scram = 0;
  int has_plus = 0;
  for (;;) {
    slice_t mech = reader_cstr(r);
    if (r->err || mech.n == 0) {
      break;
    }
    if (mech.n == 13 && memcmp(mech.p, "SCRAM-SHA-256", 13) == 0) {
      has_scram = 1;
    }
    if (mech.n == 18 && memcmp(mech.p, "SCRAM-SHA-256-PLUS", 18) == 0) {
      has_plus = 1;
    }
  }
  if (!reader_finished(r)) {
    fail_with(c, DB_EPROTO, NULL, "malformed AuthenticationSASL message");
    return DB_EPROTO;
  }
  /* Over TLS, bind the exchange to the server's certificate when the server can
   * (SCRAM-SHA-256-PLUS): a man in the middle with another certificate then fails. */
  int rc = method_allowed(c, PG_AUTH_ALLOW_SCRAM, "asked for SCRAM-SHA-256 authentication");
  if (rc < 0) {
    return rc;
  }
  int can_bind = c->tls && c->cbind_len > 0;
  int plus = has_plus && can_bind && c->channel_binding != PG_CBIND_DISABLE;
  if (c->channel_binding == PG_CBIND_REQUIRE && !plus) {
    fail_with(c, DB_EAUTHMETHOD, NULL, "channel_binding=require, but %s",
              !c->tls    ? "the connection does not use TLS (set sslmode=require or stronger)"
              : has_plus ? "the server certificate's hash cannot be used for channel binding"
                         : "the server did not offer SCRAM-SHA-256-PLUS");
    return DB_EAUTHMETHOD;
  }
  if (!has_scram && !plus) {
    fail_with(c, DB_EAUTHMETHOD, NULL,
              "the server offered no SASL mechanism this client supports (SCRAM-SHA-256)");
    return DB_EAUTHMETHOD;
  }
  rc = need_password(c, "SCRAM-SHA-256");
  if (rc < 0) {
    return rc;
  }
  rc = auth_scram_init(&c->scram, c->password);
  if (rc < 0) {
    fail_with(c, rc, NULL, "SCRAM initialisation failed");
    return rc;
  }
  c->scram_live = 1;
  if (plus) {
    rc = auth_scram_set_channel_binding(&c->scram, SCRAM_CBIND_TLS_SERVER_END_POINT, c->cbind,
                                        c->cbind_len);
  } else if (can_bind && !has_plus && c->channel_binding != PG_CBIND_DISABLE) {
    /* "y": we could bind but the server did not offer it; a server that does support it
     * (its offer stripped by a man in the middle) then refuses. With channel_binding=disable,
     * or when the certificate's hash is unusable, "n" (a "y" to a server that offered -PLUS
     * would be refused as a downgrade). */
    rc = auth_scram_set_channel_binding(&c->scram, SCRAM_CBIND_UNOFFERED, NULL, 0);
  }
  buf_t first;
  buf_init(&first);
  if (rc == 0) {
    rc = auth_scram_client_first(&c->scram, &first);
  }
  if (rc == 0) {
    rc = pg_msg_sasl_initial(&c->out, plus ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256",
                             buf_begin(&first), buf_size(&first));
  }
  buf_wipe_destroy(&first);
  if (rc < 0) {
    fail_with(c, rc, NULL, "could not build the SCRAM client-first message");
    return rc;
  }
  c->state = PG_ST_SASL_FIRST;
  return 0;
}

static int auth_sasl_continue(pg_conn_t *c, reader_t *r) {
  slice_t data = reader_bytes(r, reader_left(r));
  buf_t final;
  buf_init(&final);
  int rc = auth_scram_client_final(&c->scram, data.p, data.n, &final);
  if (rc == 0) {
    rc = pg_msg_sasl_response(&c->out, buf_begin(&final), buf_size(&final));
  }
  buf_wipe_destroy(&final);
  if (rc < 0) {
    fail_with(c, rc == DB_ENOMEM ? rc : DB_EAUTH, NULL, "SCRAM authentication failed: %s",
              auth_scram_error(&c->scram));
    return rc;
  }
  c->state = PG_ST_SASL_FINAL;
  return 0;
}

static int auth_sasl_final(pg_conn_t *c, reader_t *r) {
  slice_t data = reader_bytes(r, reader_left(r));
  int rc = auth_scram_verify_final(&c->scram, data.p, data.n);
  if (rc < 0) {
    fail_with(c, DB_EAUTH, NULL, "SCRAM server signature did not verify: %s",
              auth_scram_error(&c->scram));
    return DB_EAUTH;
  }
  auth_scram_destroy(&c->scram);
  c->scram_live = 0;
  c->state = PG_ST_PASSWORD; /* what remains is AuthenticationOk */
  return 0;
}

/* An Authentication ('R') message. */
static int on_auth(pg_conn_t *c, const uint8_t *body, size_t n) {
  reader_t r;
  reader_init(&r, body, n);
  uint32_t code = reader_u32be(&r);
  if (r.err) {
    fail_with(c, DB_EPROTO, NULL, "malformed Authentication message");
    return DB_EPROTO;
  }
  if (code == PG_AUTH_OK) {
    if (c->state != PG_ST_STARTUP && c->state != PG_ST_PASSWORD) {
      /* e.g. AuthenticationOk in the middle of SCRAM: the server skipped proving itself. */
      fail_with(c, DB_EAUTH, NULL, "the server sent AuthenticationOk before SCRAM finished");
      return DB_EAUTH;
    }
    if (!reader_finished(&r)) {
      fail_with(c, DB_EPROTO, NULL, "malformed AuthenticationOk message");
      return DB_EPROTO;
    }
    if (c->state == PG_ST_STARTUP) {
      int rc = method_allowed(c, PG_AUTH_ALLOW_NONE, "accepted the connection without authentication");
      if (rc < 0) {
        return rc;
      }
    }
    c->state = PG_ST_AUTHED;
    return 0;
  }
  switch (c->state) {
    case PG_ST_STARTUP:
      if (code == PG_AUTH_SASL_CONTINUE || code == PG_AUTH_SASL_FINAL) {
        fail_with(c, DB_EPROTO, NULL, "SASL message %u before any SASL exchange started", code);
        return DB_EPROTO;
      }
      break;
    case PG_ST_SASL_FIRST:
      if (code == PG_AUTH_SASL_CONTINUE) {
        return auth_sasl_continue(c, &r);
      }
      fail_with(c, DB_EPROTO, NULL, "expected SASLContinue, got authentication request %u",
                code);
      return DB_EPROTO;
    case PG_ST_SASL_FINAL:
      if (code == PG_AUTH_SASL_FINAL) {
        return auth_sasl_final(c, &r);
      }
      fail_with(c, DB_EPROTO, NULL, "expected SASLFinal, got authentication request %u", code);
      return DB_EPROTO;
    default:
      /* Each auth request is answered at most once: a repeat is a violation, not a loop. */
      fail_with(c, DB_EPROTO, NULL, "unexpected authentication request %u in state %s", code,
                pg_state_name(c->state));
      return DB_EPROTO;
  }
  if (c->auth_answered) {
    fail_with(c, DB_EPROTO, NULL, "the server repeated an authentication request");
    return DB_EPROTO;
  }
  c->auth_answered = 1;
  int rc;
  switch (code) {
    case PG_AUTH_CLEARTEXT:
      if (!reader_finished(&r)) {
        fail_with(c, DB_EPROTO, NULL, "malformed AuthenticationCleartextPassword message");
        return DB_EPROTO;
      }
      if ((rc = method_allowed(c, PG_AUTH_ALLOW_PASSWORD, "asked for a cleartext password")) < 0 ||
          (rc = need_password(c, "cleartext password")) < 0) {
        return rc;
      }
      rc = pg_msg_password(&c->out, c->password);
      break;
    case PG_AUTH_MD5: {
      slice_t salt = reader_bytes(&r, 4);
      if (!reader_finished(&r)) {
        fail_with(c, DB_EPROTO, NULL, "malformed AuthenticationMD5Password message");
        return DB_EPROTO;
      }
      if ((rc = method_allowed(c, PG_AUTH_ALLOW_MD5, "asked for MD5 password authentication")) < 0 ||
          (rc = need_password(c, "MD5 password")) < 0) {
        return rc;
      }
      char hashed[AUTH_MD5_PASSWORD_LEN + 1];
      rc = auth_md5_password(c->user, c->password, salt.p, hashed);
      if (rc == 0) {
        rc = pg_msg_password(&c->out, hashed);
      }
      memset(hashed, 0, sizeof(hashed));
      break;
    }
    case PG_AUTH_SASL:
      return auth_sasl_start(c, &r);
    default:
      fail_with(c, DB_EAUTHMETHOD, NULL,
                "the server requested authentication method %u, which is not supported", code);
      return DB_EAUTHMETHOD;
  }
  if (rc < 0) {
    fail_with(c, rc, NULL, "could not build the password message");
    return rc;
  }
  c->state = PG_ST_PASSWORD;
  return 0;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static int on_error_response(pg_conn_t *c, const uint8_t *body, size_t n) {
  db_error_t e;
  if (pg_decode_error(body, n, &e) < 0) {
    fail_with(c, DB_EPROTO, NULL, "malformed ErrorResponse");
    return DB_EPROTO;
  }
  int fatal_sev = e.severity.p != NULL &&
                  ((e.severity.n == 5 && memcmp(e.severity.p, "FATAL", 5) == 0) ||
                   (e.severity.n == 5 && memcmp(e.severity.p, "PANIC", 5) == 0));
  if (c->state != PG_ST_READY) {
    /* Before ReadyForQuery every error ends the connection (bad password, no such database,
     * too many connections...). */
    fail_with(c, DB_ESERVER, &e, "%.*s", (int)(e.message.n > 200 ? 200 : e.message.n),
              e.message.p != NULL ? (const char *)e.message.p : "server error");
    return DB_ESERVER;
  }
  pg_pending_t *front = front_pending(c);
  void *q = front != NULL ? front->query : NULL;
  if (front != NULL && front->stmt != NULL) {
    /* A Parse that failed never created the statement; a plan invalidated by DDL ("cached
     * plan must not change result type", 0A000) or a statement the server lost (26000) must
     * be prepared again by the next query. Only as the answer to the Bind: after
     * BindComplete the same SQLSTATEs come from the query itself (a function raising
     * feature_not_supported), which ran and may have changed data. */
    int parse_failed = front->parses && !front->stmt->parsed;
    int invalidated = !front->bound && e.code.n == 5 &&
                      (memcmp(e.code.p, "0A000", 5) == 0 || memcmp(e.code.p, "26000", 5) == 0);
    c->stale_plan = invalidated;
    if (parse_failed || invalidated) {
      pg_stmt_detach(&c->stmts, front->stmt);
    }
  }
  if (q != NULL) {
    if (front->errored) {
      fail_with(c, DB_EPROTO, &e, "a second ErrorResponse for one query");
      return DB_EPROTO;
    }
    front->errored = 1;
    c->handler->on_query_error(c->ctx, q, &e);
    c->stale_plan = 0;
  }
  if (fatal_sev || q == NULL) {
    fail_with(c, DB_ECLOSED, &e, "the server closed the connection: %.*s",
              (int)(e.message.n > 200 ? 200 : e.message.n),
              e.message.p != NULL ? (const char *)e.message.p : "");
    return DB_ECLOSED;
  }
  return 0;
}

static int on_row_description(pg_conn_t *c, const uint8_t *body, size_t n) {
  if (c->fields == NULL) {
    c->fields = malloc(sizeof(db_field_t) * PG_MAX_FIELDS);
    if (c->fields == NULL) {
      fail_with(c, DB_ENOMEM, NULL, "out of memory");
      return DB_ENOMEM;
    }
    c->fields_cap = PG_MAX_FIELDS;
  }
  uint16_t count = 0;
  if (pg_decode_row_description(body, n, c->fields, c->fields_cap, &count) < 0) {
    fail_with(c, DB_EPROTO, NULL, "malformed RowDescription");
    return DB_EPROTO;
  }
  c->row_ncols = count;
  /* Every Bind asks for text results; only the FETCH of a BINARY cursor (simple protocol)
   * answers in binary. The types Bun.SQL reads there are decoded (pg_binary.c); any other
   * column, or a format code that is neither 0 nor 1, gets a type no parser knows, and
   * lib/types.js fails the query with a clear error rather than read its bytes as text. */
  c->row_binary = 0;
  for (uint16_t i = 0; i < count; i++) {
    db_field_t *f = &c->fields[i];
    if (f->format != 0) {
      f->type_oid = f->format == 1 ? pg_binary_column_type(f->type_oid) : PG_OID_BINARY_COLUMN;
      c->row_binary = 1;
    }
  }
  c->handler->on_fields(c->ctx, front_query(c), c->fields, count);
  return 0;
}

/* A binary datum that does not have its type's layout (a float8 of 4 bytes, a bool of 2) is
 * a broken server: the connection fails (ERR_POSTGRES_INVALID_BINARY_DATA in lib/errors.js)
 * rather than a cell read past its end. The body is already bounds-checked. */
static int check_binary_row(pg_conn_t *c, const uint8_t *body) {
  size_t off = 2;
  for (int32_t i = 0; i < c->row_ncols; i++) {
    int32_t len = (int32_t)rd_u32be(body + off);
    off += 4;
    if (len < 0) {
      continue;
    }
    const db_field_t *f = &c->fields[i];
    if (f->format == 1 && f->type_oid != PG_OID_BINARY_COLUMN &&
        pg_binary_check(f->type_oid, body + off, (size_t)len) < 0) {
      fail_with(c, DB_EPROTO, NULL, "malformed binary datum: %d bytes in column %d (type %u)",
                len, i + 1, f->type_oid);
      return DB_EPROTO;
    }
    off += (size_t)len;
  }
  return 0;
}

static int expect_empty(pg_conn_t *c, size_t n, const char *what) {
  if (n != 0) {
    fail_with(c, DB_EPROTO, NULL, "%s has an unexpected body", what);
    return DB_EPROTO;
  }
  return 0;
}

/* Messages that answer a query; only valid in READY with a query pending. */
static int on_query_message(pg_conn_t *c, uint8_t type, const uint8_t *body, size_t n) {
  void *q = front_query(c);
  if (q == NULL) {
    fail_with(c, DB_EPROTO, NULL, "unexpected message '%c' with no query in flight", type);
    return DB_EPROTO;
  }
  if (front_pending(c)->errored && type != 'Z') {
    /* After an error the server skips to Sync: rows or results now would be a desync. */
    fail_with(c, DB_EPROTO, NULL, "message '%c' after the query's ErrorResponse", type);
    return DB_EPROTO;
  }
  switch (type) {
    case '1': {
      pg_pending_t *front = front_pending(c);
      if (front->parses && front->stmt != NULL) {
        front->stmt->parsed = 1;
      }
      return expect_empty(c, n, "ParseComplete");
    }
    case '2':
      front_pending(c)->bound = 1;
      return expect_empty(c, n, "BindComplete");
    case '3': return expect_empty(c, n, "CloseComplete");
    case 'n': return expect_empty(c, n, "NoData");
    case 'I': return expect_empty(c, n, "EmptyQueryResponse");
    case 's': return expect_empty(c, n, "PortalSuspended");
    case 't': return 0; /* ParameterDescription: not requested yet */
    case 'T': return on_row_description(c, body, n);
    case 'D': {
      uint16_t ncols;
      if (pg_decode_data_row(body, n, &ncols) < 0) {
        fail_with(c, DB_EPROTO, NULL, "malformed DataRow");
        return DB_EPROTO;
      }
      if ((int32_t)ncols != c->row_ncols) {
        fail_with(c, DB_EPROTO, NULL, "DataRow with %u columns where the RowDescription has %d",
                  ncols, c->row_ncols);
        return DB_EPROTO;
      }
      if (c->row_binary && check_binary_row(c, body) < 0) {
        return DB_EPROTO;
      }
      c->handler->on_row(c->ctx, q, body, n);
      return 0;
    }
    case 'C': {
      reader_t r;
      reader_init(&r, body, n);
      slice_t tag = reader_cstr(&r);
      if (!reader_finished(&r)) {
        fail_with(c, DB_EPROTO, NULL, "malformed CommandComplete");
        return DB_EPROTO;
      }
      c->row_ncols = -1; /* the next result set brings its own RowDescription */
      c->handler->on_command(c->ctx, q, tag);
      return 0;
    }
    case 'Z': {
      if (n != 1 || (body[0] != 'I' && body[0] != 'T' && body[0] != 'E')) {
        fail_with(c, DB_EPROTO, NULL, "malformed ReadyForQuery");
        return DB_EPROTO;
      }
      c->tx_status = (char)body[0];
      c->row_ncols = -1;
      pg_pending_t *done = container_of(list_pop_front(&c->pending), pg_pending_t, node);
      if (done->stmt != NULL) {
        pg_stmt_release(&c->stmts, done->stmt);
      }
      free(done);
      c->npending--;
      pg_pending_t *next = front_pending(c);
      if (next != NULL && next->cancel && c->handler->on_cancel_due != NULL) {
        next->cancel = 0;
        c->handler->on_cancel_due(c->ctx);
      }
      c->handler->on_query_done(c->ctx, q, 0, NULL);
      return 0;
    }
    default:
      fail_with(c, DB_EPROTO, NULL, "unexpected message type 0x%02x", type);
      return DB_EPROTO;
  }
}

static int dispatch(pg_conn_t *c, uint8_t type, const uint8_t *body, size_t n) {
  /* Asynchronous messages, valid in any state. */
  switch (type) {
    case 'N': {
      db_error_t e;
      if (pg_decode_error(body, n, &e) < 0) {
        fail_with(c, DB_EPROTO, NULL, "malformed NoticeResponse");
        return DB_EPROTO;
      }
      if (c->handler->on_notice != NULL) {
        c->handler->on_notice(c->ctx, &e);
      }
      return 0;
    }
    case 'S': {
      reader_t r;
      reader_init(&r, body, n);
      slice_t name = reader_cstr(&r);
      slice_t value = reader_cstr(&r);
      if (!reader_finished(&r)) {
        fail_with(c, DB_EPROTO, NULL, "malformed ParameterStatus");
        return DB_EPROTO;
      }
      if (c->handler->on_parameter != NULL) {
        c->handler->on_parameter(c->ctx, name, value);
      }
      return 0;
    }
    case 'A': {
      reader_t r;
      reader_init(&r, body, n);
      uint32_t pid = reader_u32be(&r);
      slice_t channel = reader_cstr(&r);
      slice_t payload = reader_cstr(&r);
      if (!reader_finished(&r)) {
        fail_with(c, DB_EPROTO, NULL, "malformed NotificationResponse");
        return DB_EPROTO;
      }
      if (c->handler->on_notification != NULL) {
        c->handler->on_notification(c->ctx, pid, channel, payload);
      }
      return 0;
    }
    case 'E':
      return on_error_response(c, body, n);
    default:
      break;
  }
  switch (c->state) {
    case PG_ST_STARTUP:
    case PG_ST_SASL_FIRST:
    case PG_ST_SASL_FINAL:
    case PG_ST_PASSWORD:
      if (type == 'R') {
        return on_auth(c, body, n);
      }
      if (type == 'v' && c->state == PG_ST_STARTUP) {
        return 0; /* NegotiateProtocolVersion: we ask for 3.0 and no options */
      }
      break;
    case PG_ST_AUTHED:
      if (type == 'K') {
        reader_t r;
        reader_init(&r, body, n);
        c->backend_pid = reader_u32be(&r);
        c->backend_key = reader_u32be(&r);
        if (!reader_finished(&r)) {
          fail_with(c, DB_EPROTO, NULL, "malformed BackendKeyData");
          return DB_EPROTO;
        }
        return 0;
      }
      if (type == 'Z') {
        if (n != 1 || (body[0] != 'I' && body[0] != 'T' && body[0] != 'E')) {
          fail_with(c, DB_EPROTO, NULL, "malformed ReadyForQuery");
          return DB_EPROTO;
        }
        c->tx_status = (char)body[0];
        c->state = PG_ST_READY;
        if (buf_size(&c->held) > 0) {
          if (buf_append(&c->out, buf_begin(&c->held), buf_size(&c->held)) < 0) {
            fail_with(c, DB_ENOMEM, NULL, "out of memory");
            return DB_ENOMEM;
          }
          buf_clear(&c->held);
        }
        c->handler->on_ready(c->ctx);
        return 0;
      }
      break;
    case PG_ST_READY:
      return on_query_message(c, type, body, n);
    default:
      return c->err != 0 ? c->err : DB_ESTATE;
  }
  fail_with(c, DB_EPROTO, NULL, "unexpected message type 0x%02x during %s", type,
            pg_state_name(c->state));
  return DB_EPROTO;
}

/* Dispatches every whole frame in p[0..n); *used gets the bytes consumed. */
static int process(pg_conn_t *c, const uint8_t *p, size_t n, size_t *used) {
  size_t off = 0;
  while (c->state != PG_ST_FAILED && c->state != PG_ST_CLOSED) {
    ssize_t len = pg_frame_peek(p + off, n - off);
    if (len == 0) {
      break;
    }
    if (len < 0) {
      fail_with(c, DB_ESYNC, NULL, "invalid message length from the server (type 0x%02x)",
                p[off]);
      break;
    }
    int rc = dispatch(c, p[off], p + off + 5, (size_t)len - 5);
    off += (size_t)len;
    if (rc < 0) {
      break;
    }
  }
  *used = off;
  return c->state == PG_ST_FAILED ? c->err : 0;
}

int pg_conn_feed(pg_conn_t *c, const uint8_t *p, size_t n) {
  if (c->state == PG_ST_FAILED || c->state == PG_ST_CLOSED) {
    return c->err != 0 ? c->err : DB_ECLOSED;
  }
  if (n == 0) {
    return 0;
  }
  if (c->state == PG_ST_SSL_WAIT) {
    return on_ssl_answer(c, p, n);
  }
  if (c->state == PG_ST_TLS) {
    fail_with(c, DB_ESTATE, NULL, "plaintext fed to the engine during the TLS handshake");
    return DB_ESTATE;
  }
  size_t used = 0;
  int rc;
  if (buf_size(&c->in) == 0) {
    /* Fast path: parse straight from the caller's bytes and keep only the tail. */
    rc = process(c, p, n, &used);
    if (rc == 0 && used < n && c->state != PG_ST_CLOSED) {
      rc = buf_append(&c->in, p + used, n - used);
      if (rc < 0) {
        fail_with(c, rc, NULL, "out of memory buffering server data");
      }
    }
    return rc;
  }
  rc = buf_append(&c->in, p, n);
  if (rc < 0) {
    fail_with(c, rc, NULL, "out of memory buffering server data");
    return rc;
  }
  rc = process(c, buf_begin(&c->in), buf_size(&c->in), &used);
  buf_consume(&c->in, used);
  return rc;
}
