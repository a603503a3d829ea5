/* The MySQL connection: framing loop, greeting, TLS request and authentication.
 *
 * Input is framed first (my_packet_peek checks sequence ids and the size limit header by
 * header), then each whole logical packet is dispatched on the state. Commands and their
 * answers live in my_cmd.c. Anything a state does not expect is a protocol violation, fatal to
 * this connection only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth/auth_mysql.h"
#include "../base/base_err.h"
#include "../base/base_mem.h"
#include "my_int.h"

/* What we ask for; the server's greeting decides what we get. Never CLIENT_LOCAL_FILES: a
 * server (or a man in the middle) could then read any file the client can. */
#define MY_CAPS_WANTED                                                                     \
  (MY_CAP_LONG_PASSWORD | MY_CAP_LONG_FLAG | MY_CAP_PROTOCOL_41 | MY_CAP_SECURE_CONNECTION | \
   MY_CAP_TRANSACTIONS | MY_CAP_MULTI_STATEMENTS | MY_CAP_MULTI_RESULTS |                   \
   MY_CAP_PS_MULTI_RESULTS | MY_CAP_PLUGIN_AUTH | MY_CAP_PLUGIN_AUTH_LENENC |               \
   MY_CAP_CONNECT_ATTRS | MY_CAP_DEPRECATE_EOF)

static const char *const state_names[MY_ST__COUNT] = {
  [MY_ST_GREETING] = "GREETING", [MY_ST_TLS] = "TLS",       [MY_ST_AUTH] = "AUTH",
  [MY_ST_SETUP] = "SETUP",       [MY_ST_READY] = "READY",   [MY_ST_FAILED] = "FAILED",
  [MY_ST_CLOSED] = "CLOSED",
};

const char *my_state_name(my_state_t s) {
  return (unsigned)s < MY_ST__COUNT ? state_names[s] : "INVALID";
}

const char *my_conn_arg_error(const my_conn_t *c) {
  return c->argmsg;
}

int my_conn_init(my_conn_t *c, const my_config_t *cfg, const my_handler_t *h, void *ctx) {
  memset(c, 0, sizeof(*c));
  c->state = MY_ST_GREETING;
  c->handler = h;
  c->ctx = ctx;
  buf_init(&c->in);
  buf_init(&c->out);
  buf_init(&c->big);
  buf_init(&c->attrs);
  buf_init(&c->names);
  list_init(&c->queries);
  list_init(&c->sendq);
  list_init(&c->inflight);
  my_stmt_cache_init(&c->stmts, cfg->stmt_cache_max);
  c->max_payload = cfg->max_payload != 0 ? cfg->max_payload : MY_PAYLOAD_MAX_DEFAULT;
  c->ssl_mode = cfg->ssl_mode;
  c->secure_transport = cfg->secure_transport;
  c->allow_key_retrieval = cfg->allow_public_key_retrieval;
  c->allow_cleartext = cfg->allow_cleartext_password;
  if (cfg->user == NULL) {
    my_conn_destroy(c);
    return DB_EARG;
  }
  c->user = base_strdup(cfg->user);
  c->password = base_strdup(cfg->password);
  c->database = base_strdup(cfg->database);
  c->server_key = base_strdup(cfg->server_public_key);
  int rc = my_msg_attrs(&c->attrs, cfg->attrs);
  if (c->user == NULL || (cfg->password != NULL && c->password == NULL) ||
      (cfg->database != NULL && c->database == NULL) ||
      (cfg->server_public_key != NULL && c->server_key == NULL) || rc < 0) {
    my_conn_destroy(c);
    return DB_ENOMEM;
  }
  return 0;
}

void my_conn_destroy(my_conn_t *c) {
  my__free_ops(c);
  list_node_t *n;
  while ((n = list_pop_front(&c->queries)) != NULL) {
    free(container_of(n, my_query_t, node));
  }
  my_stmt_cache_destroy(&c->stmts);
  free(c->user);
  base_wipe_free(c->password);
  free(c->database);
  free(c->server_key);
  c->user = c->password = c->database = c->server_key = NULL;
  free(c->fields);
  free(c->name_off);
  c->fields = NULL;
  c->name_off = NULL;
  c->fields_cap = 0;
  buf_destroy(&c->in);
  buf_destroy(&c->big);
  buf_destroy(&c->attrs);
  buf_destroy(&c->names);
  /* Outgoing bytes may hold an auth answer. */
  buf_wipe_destroy(&c->out);
  memset(c->scramble, 0, sizeof(c->scramble));
}

int my_conn_set_password(my_conn_t *c, const char *password) {
  char *copy = base_strdup(password);
  if (password != NULL && copy == NULL) {
    return DB_ENOMEM;
  }
  base_wipe_free(c->password);
  c->password = copy;
  return 0;
}

/* ---- failure ------------------------------------------------------------------------------ */

void my__fail(my_conn_t *c, int code, const db_error_t *err, const char *fmt, ...) {
  if (c->state == MY_ST_FAILED || c->state == MY_ST_CLOSED) {
    return;
  }
  c->state = MY_ST_FAILED;
  c->err = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
  va_end(ap);
  c->handler->on_fatal(c->ctx, code, c->errmsg, err);
  my__fail_pending(c, code, err);
}

void my_conn_fail(my_conn_t *c, int code, const char *message) {
  my__fail(c, code, NULL, "%s", message);
}

void my_conn_terminate(my_conn_t *c) {
  if (c->state == MY_ST_FAILED || c->state == MY_ST_CLOSED) {
    return;
  }
  int handshake_done = c->state == MY_ST_READY || c->state == MY_ST_SETUP;
  c->state = MY_ST_CLOSED;
  c->err = DB_ECLOSED;
  snprintf(c->errmsg, sizeof(c->errmsg), "connection closed");
  buf_clear(&c->out); /* unsent commands are failed below; only COM_QUIT goes out */
  if (handshake_done) {
    uint8_t seq = 0;
    uint8_t quit = MY_COM_QUIT;
    (void)my_packet_write(&c->out, &seq, &quit, 1);
  }
  my__fail_pending(c, DB_ECLOSED, NULL);
}

/* ---- authentication ----------------------------------------------------------------------- */

static int secure(const my_conn_t *c) {
  return c->tls || c->secure_transport;
}

static const char *password(const my_conn_t *c) {
  return c->password != NULL ? c->password : "";
}

/* The password encrypted under the server's RSA key (configured, or just received). */
static int rsa_answer(my_conn_t *c, const char *pem, size_t pem_len, buf_t *out) {
  int rc = auth_my_rsa_encrypt(pem, pem_len, password(c), c->scramble, c->scramble_len, out);
  if (rc < 0) {
    my__fail(c, rc, NULL, "could not encrypt the password with the server's RSA public key "
             "(%s)", rc == DB_ENOMEM ? "out of memory" : "not a usable RSA public key");
  }
  return rc;
}

/* Full authentication of caching_sha2_password / sha256_password: cleartext only over a
 * secure transport, else RSA with a configured key, else fetch the key when allowed
 * (`key_request` is the byte that asks for it). */
static int full_auth_answer(my_conn_t *c, uint8_t key_request, buf_t *out) {
  if (secure(c)) {
    c->auth_step = MY_AUTH_WAIT_OK;
    return buf_append(out, password(c), strlen(password(c)) + 1);
  }
  if (c->server_key != NULL) {
    c->auth_step = MY_AUTH_WAIT_OK;
    return rsa_answer(c, c->server_key, strlen(c->server_key), out);
  }
  if (c->allow_key_retrieval) {
    c->auth_step = MY_AUTH_WAIT_KEY;
    return buf_put_u8(out, key_request);
  }
  /* A key sent by the server is unauthenticated: a man in the middle could substitute its own
   * and read the password. Only an explicit opt-in lets us use one. */
  my__fail(c, DB_EAUTH, NULL,
           "the server requires the password over TLS or RSA (%s); connect with TLS, give the "
           "server's public key, or set allowPublicKeyRetrieval to fetch it", c->plugin);
  return DB_EAUTH;
}

/* The answer of plugin c->plugin to c->scramble. On a refusal it fails the connection. */
static int plugin_answer(my_conn_t *c, buf_t *out) {
  const char *pw = password(c);
  size_t pw_len = strlen(pw);
  c->auth_step = MY_AUTH_WAIT;
  int scrambles = strcmp(c->plugin, "mysql_native_password") == 0 ||
                  strcmp(c->plugin, "caching_sha2_password") == 0 ||
                  strcmp(c->plugin, "sha256_password") == 0 ||
                  strcmp(c->plugin, "client_ed25519") == 0;
  if (scrambles && c->scramble_len < 20) {
    my__fail(c, DB_EPROTO, NULL, "the server's scramble for %s is too short", c->plugin);
    return DB_EPROTO;
  }
  if (strcmp(c->plugin, "mysql_native_password") == 0) {
    uint8_t h[AUTH_MY_NATIVE_LEN];
    if (pw_len == 0) {
      return 0; /* no password: an empty answer */
    }
    int rc = auth_my_native(pw, c->scramble, 20, h);
    if (rc == 0) {
      rc = buf_append(out, h, sizeof(h));
    }
    memset(h, 0, sizeof(h));
    return rc;
  }
  if (strcmp(c->plugin, "caching_sha2_password") == 0) {
    uint8_t h[AUTH_MY_SHA2_LEN];
    if (pw_len == 0) {
      return 0;
    }
    int rc = auth_my_sha2(pw, c->scramble, 20, h);
    if (rc == 0) {
      rc = buf_append(out, h, sizeof(h));
    }
    memset(h, 0, sizeof(h));
    return rc;
  }
  if (strcmp(c->plugin, "sha256_password") == 0) {
    if (pw_len == 0) {
      return buf_put_u8(out, 0);
    }
    return full_auth_answer(c, 0x01, out);
  }
  if (strcmp(c->plugin, "client_ed25519") == 0) {
    uint8_t sig[AUTH_MY_ED25519_SIG_LEN];
    int rc = auth_my_ed25519_sign(pw, c->scramble, c->scramble_len, sig);
    if (rc == 0) {
      rc = buf_append(out, sig, sizeof(sig));
    }
    return rc;
  }
  if (strcmp(c->plugin, "mysql_clear_password") == 0) {
    if (!c->allow_cleartext || !secure(c)) {
      my__fail(c, DB_EAUTHMETHOD, NULL,
               "the server asked for the password in cleartext (mysql_clear_password); refused "
               "unless cleartext passwords are allowed and the connection uses TLS or a unix "
               "socket");
      return DB_EAUTHMETHOD;
    }
    c->auth_step = MY_AUTH_WAIT_OK;
    return buf_append(out, pw, pw_len + 1);
  }
  my__fail(c, DB_EAUTHMETHOD, NULL, "the server requested the authentication plugin '%s', "
           "which is not supported", c->plugin);
  return DB_EAUTHMETHOD;
}

/* Frames an auth payload with the running sequence id, wiping the temporary. */
static int send_auth(my_conn_t *c, buf_t *payload, int rc) {
  if (rc == 0) {
    rc = my_packet_write(&c->out, &c->seq, buf_begin(payload), buf_size(payload));
    if (rc < 0) {
      my__fail(c, rc, NULL, "out of memory");
    }
  } else if (c->state != MY_ST_FAILED) {
    my__fail(c, rc, NULL, "could not build the authentication answer");
  }
  buf_wipe_destroy(payload);
  return rc;
}

static int send_handshake_response(my_conn_t *c) {
  buf_t auth, payload;
  buf_init(&auth);
  buf_init(&payload);
  int rc = plugin_answer(c, &auth);
  if (rc == 0) {
    rc = my_msg_handshake_response(&payload, c->caps, c->ext_caps, c->user, buf_begin(&auth),
                                   buf_size(&auth), c->database, c->plugin, &c->attrs);
  }
  buf_wipe_destroy(&auth);
  c->state = c->state == MY_ST_FAILED ? MY_ST_FAILED : MY_ST_AUTH;
  return send_auth(c, &payload, rc);
}

int my_conn_tls_ready(my_conn_t *c) {
  if (c->state != MY_ST_TLS) {
    return DB_ESTATE;
  }
  c->tls = 1;
  return send_handshake_response(c);
}

static int on_greeting(my_conn_t *c, const uint8_t *p, size_t n) {
  if (p[0] == 0xFF) {
    db_error_t e;
    if (my_decode_err(p, n, &e) < 0) {
      my__fail(c, DB_EPROTO, NULL, "malformed error packet instead of the server greeting");
      return DB_EPROTO;
    }
    my__fail(c, DB_ESERVER, &e, "the server refused the connection: %.*s",
             (int)(e.message.n > 200 ? 200 : e.message.n), (const char *)e.message.p);
    return DB_ESERVER;
  }
  if (p[0] != 10) {
    my__fail(c, DB_EPROTO, NULL, "unsupported handshake protocol version %u (only 10)", p[0]);
    return DB_EPROTO;
  }
  my_greeting_t g;
  if (my_decode_greeting(p, n, &g) < 0) {
    my__fail(c, DB_EPROTO, NULL, "malformed server greeting");
    return DB_EPROTO;
  }
  if ((g.caps & (MY_CAP_PROTOCOL_41 | MY_CAP_SECURE_CONNECTION)) !=
      (MY_CAP_PROTOCOL_41 | MY_CAP_SECURE_CONNECTION) || g.scramble_len < 20) {
    my__fail(c, DB_EPROTO, NULL, "the server does not speak protocol 4.1 with secure auth");
    return DB_EPROTO;
  }
  c->server_caps = g.caps;
  c->thread_id = g.thread_id;
  c->server_status = g.status;
  memcpy(c->scramble, g.scramble, g.scramble_len);
  c->scramble_len = g.scramble_len;
  /* An unknown default plugin is not an error yet: the account's own plugin decides, and the
   * server switches to it. Start with the classic one. */
  const char *start = "mysql_native_password";
  if (g.plugin.n > 0 && g.plugin.n < sizeof(c->plugin)) {
    static const char *const known[] = {"caching_sha2_password", "sha256_password",
                                        "client_ed25519"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
      if (strlen(known[i]) == g.plugin.n && memcmp(known[i], g.plugin.p, g.plugin.n) == 0) {
        start = known[i];
      }
    }
  }
  snprintf(c->plugin, sizeof(c->plugin), "%s", start);
  uint32_t wanted = MY_CAPS_WANTED | (c->database != NULL ? MY_CAP_CONNECT_WITH_DB : 0);
  c->caps = wanted & g.caps;
  /* MariaDB (no CLIENT_MYSQL): ask for the extended metadata that marks JSON columns, and for
   * executions that skip unchanged column definitions. */
  c->ext_caps = (c->caps & MY_CAP_LONG_PASSWORD)
                    ? 0
                    : g.ext_caps & (MY_EXT_CAP_EXTENDED_METADATA | MY_EXT_CAP_CACHE_METADATA);
  if (!(g.caps & MY_CAP_SSL)) {
    if (c->ssl_mode == DB_SSL_REQUIRE) {
      /* A stripped CLIENT_SSL flag (BACKRONYM) must not downgrade us: nothing goes out. */
      my__fail(c, DB_ETLSUNAVAILABLE, NULL,
               "the server does not support TLS, and the TLS mode requires it");
      return DB_ETLSUNAVAILABLE;
    }
    return send_handshake_response(c);
  }
  if (c->ssl_mode == DB_SSL_DISABLE) {
    return send_handshake_response(c);
  }
  c->caps |= MY_CAP_SSL;
  buf_t payload;
  buf_init(&payload);
  int rc = my_msg_ssl_request(&payload, c->caps, c->ext_caps);
  if (rc == 0) {
    rc = my_packet_write(&c->out, &c->seq, buf_begin(&payload), buf_size(&payload));
  }
  buf_destroy(&payload);
  if (rc < 0) {
    my__fail(c, rc, NULL, "out of memory");
    return rc;
  }
  c->state = MY_ST_TLS;
  rc = c->handler->on_tls_start != NULL ? c->handler->on_tls_start(c->ctx) : DB_ETLS;
  if (rc < 0) {
    my__fail(c, rc, NULL, "could not start TLS");
  }
  return rc;
}

static int on_auth_switch(my_conn_t *c, const uint8_t *p, size_t n) {
  if (c->auth_switched || c->auth_step != MY_AUTH_WAIT) {
    /* One switch is negotiation; more is a server (or attacker) walking us through plugins. */
    my__fail(c, DB_EPROTO, NULL, "the server sent a second authentication switch request");
    return DB_EPROTO;
  }
  c->auth_switched = 1;
  if (n == 1) {
    my__fail(c, DB_EAUTHMETHOD, NULL, "the server requested the authentication plugin "
             "'mysql_old_password', which is not supported");
    return DB_EAUTHMETHOD;
  }
  reader_t r;
  reader_init(&r, p + 1, n - 1);
  slice_t name = reader_cstr(&r);
  slice_t data = reader_bytes(&r, reader_left(&r));
  if (r.err || name.n == 0 || name.n >= sizeof(c->plugin) ||
      memchr(name.p, 0, name.n) != NULL) {
    my__fail(c, DB_EPROTO, NULL, "malformed authentication switch request");
    return DB_EPROTO;
  }
  if (data.n > 0 && data.p[data.n - 1] == 0) {
    data.n--; /* the scramble is sent NUL-terminated */
  }
  if (data.n > sizeof(c->scramble)) {
    my__fail(c, DB_EPROTO, NULL, "authentication switch request with an overlong scramble");
    return DB_EPROTO;
  }
  memcpy(c->plugin, name.p, name.n);
  c->plugin[name.n] = '\0';
  memcpy(c->scramble, data.p, data.n);
  c->scramble_len = data.n;
  buf_t payload;
  buf_init(&payload);
  int rc = plugin_answer(c, &payload);
  return send_auth(c, &payload, rc);
}

static int on_auth_more(my_conn_t *c, const uint8_t *p, size_t n) {
  int sha2 = strcmp(c->plugin, "caching_sha2_password") == 0;
  int sha256 = strcmp(c->plugin, "sha256_password") == 0;
  buf_t payload;
  buf_init(&payload);
  if ((sha2 || sha256) && c->auth_step == MY_AUTH_WAIT_KEY) {
    /* The PEM public key we asked for. */
    c->auth_step = MY_AUTH_WAIT_OK;
    int rc = rsa_answer(c, (const char *)p + 1, n - 1, &payload);
    return send_auth(c, &payload, rc);
  }
  if (sha2 && c->auth_step == MY_AUTH_WAIT && n == 2 && p[1] == 0x03) {
    c->auth_step = MY_AUTH_WAIT_OK; /* fast path: the cached hash matched; OK follows */
    return 0;
  }
  if (sha2 && c->auth_step == MY_AUTH_WAIT && n == 2 && p[1] == 0x04) {
    int rc = full_auth_answer(c, 0x02, &payload);
    if (rc < 0 && c->state == MY_ST_FAILED) {
      buf_wipe_destroy(&payload);
      return rc;
    }
    return send_auth(c, &payload, rc);
  }
  my__fail(c, DB_EPROTO, NULL, "unexpected authentication data from the server (%s)",
           c->plugin);
  return DB_EPROTO;
}

static int on_auth_packet(my_conn_t *c, const uint8_t *p, size_t n) {
  switch (p[0]) {
    case 0x00: {
      my_ok_t ok;
      if (c->auth_step == MY_AUTH_WAIT_KEY || my_decode_ok(p, n, &ok) < 0) {
        my__fail(c, DB_EPROTO, NULL, "unexpected OK packet during authentication");
        return DB_EPROTO;
      }
      c->server_status = ok.status;
      memset(c->scramble, 0, sizeof(c->scramble));
      return my__start_setup(c);
    }
    case 0xFF: {
      db_error_t e;
      if (my_decode_err(p, n, &e) < 0) {
        my__fail(c, DB_EPROTO, NULL, "malformed error packet during authentication");
        return DB_EPROTO;
      }
      int code = e.number == 1045 ? DB_EAUTH : DB_ESERVER;
      my__fail(c, code, &e, "%.*s", (int)(e.message.n > 200 ? 200 : e.message.n),
               (const char *)e.message.p);
      return code;
    }
    case 0xFE:
      return on_auth_switch(c, p, n);
    case 0x01:
      if (c->auth_more++ < 4) {
        return on_auth_more(c, p, n);
      }
      break;
    default:
      break;
  }
  my__fail(c, DB_EPROTO, NULL, "unexpected packet 0x%02x during authentication", p[0]);
  return DB_EPROTO;
}

/* ---- input -------------------------------------------------------------------------------- */

static int dispatch(my_conn_t *c, const uint8_t *p, size_t n) {
  if (n == 0) {
    my__fail(c, DB_EPROTO, NULL, "empty packet from the server");
    return DB_EPROTO;
  }
  switch (c->state) {
    case MY_ST_GREETING:
      return on_greeting(c, p, n);
    case MY_ST_AUTH:
      return on_auth_packet(c, p, n);
    case MY_ST_SETUP:
    case MY_ST_READY:
      return my__on_answer(c, p, n);
    default:
      return c->err != 0 ? c->err : DB_ESTATE;
  }
}

static int running(const my_conn_t *c) {
  return c->state != MY_ST_FAILED && c->state != MY_ST_CLOSED && c->state != MY_ST_TLS;
}

/* Dispatches every whole logical packet in p[0..n); *used gets the bytes consumed. */
static int process(my_conn_t *c, const uint8_t *p, size_t n, size_t *used) {
  size_t off = 0;
  while (running(c)) {
    int seq = c->state == MY_ST_GREETING ? 0 : c->state == MY_ST_AUTH ? c->seq
                                                                      : my__expected_seq(c);
    size_t plen = 0;
    uint32_t npackets = 0;
    ssize_t len = my_packet_peek(p + off, n - off, seq, c->max_payload, &plen, &npackets);
    if (len == 0) {
      break;
    }
    if (len < 0) {
      if (len == DB_ETOOBIG) {
        my__fail(c, DB_ETOOBIG, NULL, "server packet larger than the limit of %zu bytes",
                 c->max_payload);
      } else {
        my__fail(c, DB_EPROTO, NULL, "packet out of order (sequence id mismatch, expected %d)",
                 seq);
      }
      break;
    }
    const uint8_t *payload = p + off + 4;
    if (npackets > 1) {
      if (my_packet_gather(p + off, npackets, &c->big) < 0) {
        my__fail(c, DB_ENOMEM, NULL, "out of memory reassembling a large packet");
        break;
      }
      payload = buf_begin(&c->big);
    }
    c->seq = (uint8_t)(p[off + 3] + npackets);
    off += (size_t)len;
    if (dispatch(c, payload, plen) < 0) {
      break;
    }
  }
  if (c->state == MY_ST_TLS && off < n) {
    /* Bytes after the greeting that were not encrypted: an injection (CVE-2021-23222 kind). */
    my__fail(c, DB_EPROTO, NULL, "the server sent unencrypted data before the TLS handshake");
  }
  buf_clear(&c->big);
  *used = off;
  return c->state == MY_ST_FAILED ? c->err : 0;
}

int my_conn_feed(my_conn_t *c, const uint8_t *p, size_t n) {
  if (c->state == MY_ST_FAILED || c->state == MY_ST_CLOSED) {
    return c->err != 0 ? c->err : DB_ECLOSED;
  }
  if (n == 0) {
    return 0;
  }
  if (c->state == MY_ST_TLS) {
    my__fail(c, DB_EPROTO, NULL, "the server sent unencrypted data before the TLS handshake");
    return DB_EPROTO;
  }
  size_t used = 0;
  int rc;
  if (buf_size(&c->in) == 0) {
    /* Fast path: parse straight from the caller's bytes and keep only the tail. */
    rc = process(c, p, n, &used);
    if (rc == 0 && used < n && running(c)) {
      rc = buf_append(&c->in, p + used, n - used);
      if (rc < 0) {
        my__fail(c, rc, NULL, "out of memory buffering server data");
      }
    }
    return rc;
  }
  rc = buf_append(&c->in, p, n);
  if (rc < 0) {
    my__fail(c, rc, NULL, "out of memory buffering server data");
    return rc;
  }
  rc = process(c, buf_begin(&c->in), buf_size(&c->in), &used);
  buf_consume(&c->in, used);
  return rc;
}
