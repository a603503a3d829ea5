#include "auth_scram.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../base/base_err.h"
#include "../base/base_reader.h"
#include "auth_util.h"

/* ---- state machine: one enum, one table, one writer ---------------------------------------- */

typedef enum {
  SCRAM_EV_FIRST,    /* client-first produced */
  SCRAM_EV_FINAL,    /* client-final produced */
  SCRAM_EV_VERIFIED, /* server signature verified */
  SCRAM_EV_FAIL,     /* any error */
  SCRAM_EV__COUNT
} scram_ev_t;

#define BAD SCRAM_ST__COUNT
#define NONCE_ SCRAM_ST_NONCE_SENT
#define PROOF_ SCRAM_ST_PROOF_SENT
#define DONE_ SCRAM_ST_FINISHED
#define FAIL_ SCRAM_ST_FAILED
/* clang-format off */
static const uint8_t scram_next[SCRAM_ST__COUNT][SCRAM_EV__COUNT] = {
  /*                       FIRST   FINAL   VERIFIED  FAIL */
  [SCRAM_ST_INIT]       = {NONCE_, BAD,    BAD,      FAIL_},
  [SCRAM_ST_NONCE_SENT] = {BAD,    PROOF_, BAD,      FAIL_},
  [SCRAM_ST_PROOF_SENT] = {BAD,    BAD,    DONE_,    FAIL_},
  [SCRAM_ST_FINISHED]   = {BAD,    BAD,    BAD,      FAIL_},
  [SCRAM_ST_FAILED]     = {BAD,    BAD,    BAD,      FAIL_},
};
/* clang-format on */
#undef NONCE_
#undef PROOF_
#undef DONE_
#undef FAIL_

static const char *const scram_state_names[SCRAM_ST__COUNT] = {
  [SCRAM_ST_INIT] = "INIT",
  [SCRAM_ST_NONCE_SENT] = "NONCE_SENT",
  [SCRAM_ST_PROOF_SENT] = "PROOF_SENT",
  [SCRAM_ST_FINISHED] = "FINISHED",
  [SCRAM_ST_FAILED] = "FAILED",
};

/* The only code that assigns s->state. Callers check the transition first (scram_check), so a
 * BAD entry here means memory corruption: fail closed. */
static void scram_fire(auth_scram_t *s, scram_ev_t ev) {
  uint8_t next = (unsigned)s->state < SCRAM_ST__COUNT ? scram_next[s->state][ev] : BAD;
  s->state = next == BAD ? SCRAM_ST_FAILED : (scram_state_t)next;
}

/* Records the first error, moves to FAILED and returns `code`. */
static int scram_fail(auth_scram_t *s, int code, const char *msg) {
  if (s->err == 0) {
    s->err = code;
    snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
  }
  scram_fire(s, SCRAM_EV_FAIL);
  return code;
}

/* 0 when `ev` is allowed now; otherwise DB_ESTATE (and FAILED). */
static int scram_check(auth_scram_t *s, scram_ev_t ev, const char *fn) {
  char msg[sizeof(s->errmsg)];
  if ((unsigned)s->state >= SCRAM_ST__COUNT || scram_next[s->state][ev] == BAD) {
    const char *st =
      (unsigned)s->state < SCRAM_ST__COUNT ? scram_state_names[s->state] : "(corrupt)";
    snprintf(msg, sizeof(msg), "%s called in SCRAM state %s", fn, st);
    return scram_fail(s, DB_ESTATE, msg);
  }
  if (ev != SCRAM_EV_VERIFIED && s->password == NULL) {
    snprintf(msg, sizeof(msg), "%s called on an uninitialised SCRAM exchange", fn);
    return scram_fail(s, DB_ESTATE, msg);
  }
  return 0;
}

#define SCRAM_STR_(x) #x
#define SCRAM_STR(x) SCRAM_STR_(x)

/* ---- helpers ------------------------------------------------------------------------------- */

/* RFC 5802 "printable": %x21-2B / %x2D-7E (no ',' and no control, space or non-ASCII bytes). */
static int scram_is_printable(uint8_t c) {
  return c >= 0x21 && c <= 0x7e && c != ',';
}

static const char *scram_gs2_header(const auth_scram_t *s) {
  switch (s->cbind) {
    case SCRAM_CBIND_UNOFFERED:
      return "y,,";
    case SCRAM_CBIND_TLS_SERVER_END_POINT:
      return "p=tls-server-end-point,,";
    default:
      return "n,,";
  }
}

static int scram_hmac(const uint8_t *key, size_t keylen, const void *data, size_t n,
                      uint8_t out[AUTH_SCRAM_KEY_LEN]) {
  size_t outlen = 0;
  if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, data, n, out, AUTH_SCRAM_KEY_LEN,
                &outlen) == NULL ||
      outlen != AUTH_SCRAM_KEY_LEN) {
    return DB_EAUTH;
  }
  return 0;
}

static int scram_sha256(const void *data, size_t n, uint8_t out[AUTH_SCRAM_KEY_LEN]) {
  unsigned int outlen = 0;
  if (EVP_Digest(data, n, out, &outlen, EVP_sha256(), NULL) != 1 ||
      outlen != AUTH_SCRAM_KEY_LEN) {
    return DB_EAUTH;
  }
  return 0;
}

/* Wipes and frees the password copy. */
static void scram_drop_password(auth_scram_t *s) {
  if (s->password != NULL) {
    auth__wipe(s->password, s->password_len + 1);
    free(s->password);
  }
  s->password = NULL;
  s->password_len = 0;
}

/* Reads "<name>=<value>" at *pos. The value ends at the next ',' or at the end of the input.
 * On return *pos is just past the value (at the ',' or at n). 0 or -1 (no such attribute). */
static int scram_read_attr(const uint8_t *p, size_t n, size_t *pos, char name, slice_t *val) {
  size_t i = *pos;
  if (n - i < 2 || p[i] != (uint8_t)name || p[i + 1] != '=') {
    return -1;
  }
  i += 2;
  const uint8_t *comma = memchr(p + i, ',', n - i);
  size_t end = comma != NULL ? (size_t)(comma - p) : n;
  val->p = p + i;
  val->n = end - i;
  *pos = end;
  return 0;
}

/* Consumes the ',' that must follow an attribute. 0 or -1. */
static int scram_read_comma(const uint8_t *p, size_t n, size_t *pos) {
  if (*pos >= n || p[*pos] != ',') {
    return -1;
  }
  (*pos)++;
  return 0;
}

/* posit-number = (%x31-39) *DIGIT, bounded by AUTH_SCRAM_ITER_MAX. 0 or -1. */
static int scram_parse_iter(slice_t v, int *iter) {
  if (v.n == 0 || v.p[0] < '1' || v.p[0] > '9') {
    return -1;
  }
  long long acc = 0;
  for (size_t i = 0; i < v.n; i++) {
    if (v.p[i] < '0' || v.p[i] > '9') {
      return -1;
    }
    acc = acc * 10 + (v.p[i] - '0');
    if (acc > AUTH_SCRAM_ITER_MAX) {
      return -1;
    }
  }
  *iter = (int)acc;
  return 0;
}

/* Appends a RFC 5802 saslname: ',' -> "=2C", '=' -> "=3D". */
static int scram_append_saslname(buf_t *b, const char *name) {
  int rc = 0;
  for (const char *c = name; *c != '\0' && rc == 0; c++) {
    if (*c == ',') {
      rc = buf_append(b, "=2C", 3);
    } else if (*c == '=') {
      rc = buf_append(b, "=3D", 3);
    } else {
      rc = buf_append(b, c, 1);
    }
  }
  return rc;
}

/* ---- public API ---------------------------------------------------------------------------- */

int auth_scram_set_channel_binding(auth_scram_t *s, scram_cbind_t mode, const uint8_t *data,
                                   size_t n) {
  if (s->state != SCRAM_ST_INIT || (unsigned)mode >= SCRAM_CBIND__COUNT) {
    return DB_ESTATE;
  }
  if (mode == SCRAM_CBIND_TLS_SERVER_END_POINT && (data == NULL || n == 0)) {
    return DB_EARG;
  }
  s->cbind = mode;
  buf_clear(&s->cbind_data);
  if (mode == SCRAM_CBIND_TLS_SERVER_END_POINT) {
    return buf_append(&s->cbind_data, data, n);
  }
  return 0;
}

int auth_scram_init(auth_scram_t *s, const char *password) {
  memset(s, 0, sizeof(*s));
  buf_init(&s->cbind_data);
  buf_init(&s->client_first_bare);
  buf_init(&s->server_first);
  buf_init(&s->auth_message);
  s->state = SCRAM_ST_INIT;
  s->cbind = SCRAM_CBIND_NONE;
  if (password == NULL) {
    return scram_fail(s, DB_EARG, "no password given");
  }
  size_t len = strlen(password);
  if (len > (size_t)INT_MAX - 1) {
    return scram_fail(s, DB_EARG, "password too long");
  }
  s->password = malloc(len + 1);
  if (s->password == NULL) {
    return scram_fail(s, DB_ENOMEM, "out of memory copying the password");
  }
  memcpy(s->password, password, len + 1);
  s->password_len = len;
  return 0;
}

int auth_scram_set_username(auth_scram_t *s, const char *user) {
  if (s->state != SCRAM_ST_INIT || s->password == NULL) {
    return scram_fail(s, DB_ESTATE, "auth_scram_set_username called after the exchange started");
  }
  if (user == NULL || strlen(user) > AUTH_SCRAM_USER_MAX) {
    return scram_fail(s, DB_EARG, "invalid SCRAM user name");
  }
  char *copy = strdup(user);
  if (copy == NULL) {
    return scram_fail(s, DB_ENOMEM, "out of memory copying the user name");
  }
  free(s->username);
  s->username = copy;
  return 0;
}

static int scram_client_first(auth_scram_t *s, const char *nonce, size_t nonce_len, buf_t *out) {
  memcpy(s->nonce, nonce, nonce_len);
  s->nonce[nonce_len] = '\0';
  s->nonce_len = nonce_len;

  buf_t *bare = &s->client_first_bare;
  buf_clear(bare);
  int rc = buf_append(bare, "n=", 2);
  if (rc == 0) {
    rc = scram_append_saslname(bare, s->username != NULL ? s->username : "");
  }
  if (rc == 0) {
    rc = buf_append(bare, ",r=", 3);
  }
  if (rc == 0) {
    rc = buf_append(bare, s->nonce, s->nonce_len);
  }
  const char *gs2 = scram_gs2_header(s);
  size_t gs2_len = strlen(gs2);
  /* Reserve first so that the appends below cannot fail halfway. */
  if (rc == 0) {
    rc = buf_reserve(out, gs2_len + buf_size(bare));
  }
  if (rc < 0) {
    return scram_fail(s, rc, "out of memory building client-first-message");
  }
  (void)buf_append(out, gs2, gs2_len);
  (void)buf_append(out, buf_begin(bare), buf_size(bare));
  scram_fire(s, SCRAM_EV_FIRST);
  return 0;
}

int auth_scram_client_first(auth_scram_t *s, buf_t *out) {
  int rc = scram_check(s, SCRAM_EV_FIRST, "auth_scram_client_first");
  if (rc < 0) {
    return rc;
  }
  uint8_t raw[AUTH_SCRAM_NONCE_RAW_LEN];
  if (RAND_bytes(raw, (int)sizeof(raw)) != 1) {
    return scram_fail(s, DB_EAUTH, "RAND_bytes failed: no randomness for the SCRAM nonce");
  }
  buf_t b64;
  buf_init(&b64);
  rc = auth__b64_append(&b64, raw, sizeof(raw));
  auth__wipe(raw, sizeof(raw));
  if (rc < 0 || buf_size(&b64) != AUTH_SCRAM_NONCE_LEN) {
    buf_destroy(&b64);
    return scram_fail(s, rc < 0 ? rc : DB_EAUTH, "cannot encode the SCRAM nonce");
  }
  /* 18 bytes encode to 24 characters of [A-Za-z0-9+/] with no '=': all printable, no ','. */
  rc = scram_client_first(s, (const char *)buf_begin(&b64), buf_size(&b64), out);
  buf_destroy(&b64);
  return rc;
}

int auth_scram_client_first_with_nonce(auth_scram_t *s, const char *nonce, buf_t *out) {
  int rc = scram_check(s, SCRAM_EV_FIRST, "auth_scram_client_first_with_nonce");
  if (rc < 0) {
    return rc;
  }
  size_t len = nonce != NULL ? strlen(nonce) : 0;
  if (len == 0 || len > AUTH_SCRAM_NONCE_MAX) {
    return scram_fail(s, DB_EARG, "test nonce must have 1..64 characters");
  }
  for (size_t i = 0; i < len; i++) {
    if (!scram_is_printable((uint8_t)nonce[i])) {
      return scram_fail(s, DB_EARG, "test nonce has a non-printable character or ','");
    }
  }
  return scram_client_first(s, nonce, len, out);
}

/* The parsed server-first-message; slices borrow the caller's input. */
typedef struct {
  slice_t nonce;
  slice_t salt_b64;
  int iter;
} scram_server_first_t;

/* 0, or scram_fail()'s code. */
static int scram_parse_server_first(auth_scram_t *s, const uint8_t *p, size_t n,
                                    scram_server_first_t *sf) {
  size_t pos = 0;
  slice_t iter;
  if (n >= 2 && p[0] == 'm' && p[1] == '=') {
    return scram_fail(s, DB_EPROTO, "server-first-message requires an unsupported extension (m=)");
  }
  if (scram_read_attr(p, n, &pos, 'r', &sf->nonce) < 0 || scram_read_comma(p, n, &pos) < 0) {
    return scram_fail(s, DB_EPROTO, "malformed server-first-message: expected 'r=<nonce>,'");
  }
  if (scram_read_attr(p, n, &pos, 's', &sf->salt_b64) < 0 || scram_read_comma(p, n, &pos) < 0) {
    return scram_fail(s, DB_EPROTO, "malformed server-first-message: expected 's=<salt>,'");
  }
  if (scram_read_attr(p, n, &pos, 'i', &iter) < 0) {
    return scram_fail(s, DB_EPROTO, "malformed server-first-message: expected 'i=<count>'");
  }
  if (pos != n) {
    return scram_fail(s, DB_EPROTO,
                      "malformed server-first-message: unexpected data after the iteration count");
  }
  for (size_t i = 0; i < sf->nonce.n; i++) {
    if (!scram_is_printable(sf->nonce.p[i])) {
      return scram_fail(s, DB_EPROTO, "server nonce contains a non-printable character");
    }
  }
  if (sf->nonce.n < s->nonce_len ||
      CRYPTO_memcmp(sf->nonce.p, s->nonce, s->nonce_len) != 0) {
    return scram_fail(s, DB_EAUTH, "server nonce does not start with the client nonce");
  }
  if (sf->nonce.n == s->nonce_len) {
    return scram_fail(s, DB_EAUTH, "server nonce adds nothing to the client nonce");
  }
  if (sf->salt_b64.n == 0) {
    return scram_fail(s, DB_EPROTO, "server-first-message has an empty salt");
  }
  if (scram_parse_iter(iter, &sf->iter) < 0) {
    return scram_fail(s, DB_EPROTO, "server-first-message has an invalid iteration count (must be "
                                    "1.." SCRAM_STR(AUTH_SCRAM_ITER_MAX) " without leading zeros)");
  }
  return 0;
}

int auth_scram_client_final(auth_scram_t *s, const uint8_t *server_first, size_t n, buf_t *out) {
  int rc = scram_check(s, SCRAM_EV_FINAL, "auth_scram_client_final");
  if (rc < 0) {
    return rc;
  }
  uint8_t salt[AUTH_SCRAM_SALT_MAX];
  size_t salt_len = 0;
  uint8_t client_key[AUTH_SCRAM_KEY_LEN];
  uint8_t stored_key[AUTH_SCRAM_KEY_LEN];
  uint8_t client_sig[AUTH_SCRAM_KEY_LEN];
  uint8_t server_key[AUTH_SCRAM_KEY_LEN];
  uint8_t proof[AUTH_SCRAM_KEY_LEN];
  buf_t msg; /* client-final-message being built */
  buf_t cb;  /* gs2-header || cbind-data */
  buf_init(&msg);
  buf_init(&cb);
  const char *gs2 = scram_gs2_header(s);
  const char *what = NULL;
  scram_server_first_t sf;

  if (server_first == NULL && n > 0) {
    rc = DB_EARG;
    what = "server-first-message is NULL";
    goto done;
  }
  if (n > AUTH_SCRAM_MSG_MAX) {
    rc = DB_EPROTO;
    what = "server-first-message is too long";
    goto done;
  }
  rc = scram_parse_server_first(s, server_first, n, &sf);
  if (rc < 0) {
    goto done; /* already failed with its own detail */
  }
  rc = auth__b64_decode(sf.salt_b64.p, sf.salt_b64.n, salt, sizeof(salt), &salt_len);
  if (rc == DB_ETOOBIG) {
    rc = DB_EPROTO;
    what = "server-first-message salt is too long";
    goto done;
  }
  if (rc < 0) {
    rc = DB_EPROTO;
    what = "server-first-message salt is not valid base64";
    goto done;
  }

  /* client-final-message-without-proof = "c=" base64(gs2-header || cbind-data) ",r=" nonce */
  rc = buf_append(&cb, gs2, strlen(gs2));
  if (rc == 0 && buf_size(&s->cbind_data) > 0) {
    /* (guarded: buf_begin() of a never-written buf_t is NULL + 0, which UBSan flags) */
    rc = buf_append(&cb, buf_begin(&s->cbind_data), buf_size(&s->cbind_data));
  }
  if (rc == 0) {
    rc = buf_append(&msg, "c=", 2);
  }
  if (rc == 0) {
    rc = auth__b64_append(&msg, buf_begin(&cb), buf_size(&cb));
  }
  if (rc == 0) {
    rc = buf_append(&msg, ",r=", 3);
  }
  if (rc == 0) {
    rc = buf_append(&msg, sf.nonce.p, sf.nonce.n);
  }
  /* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
  buf_clear(&s->server_first);
  buf_clear(&s->auth_message);
  if (rc == 0) {
    rc = buf_append(&s->server_first, server_first, n);
  }
  if (rc == 0) {
    rc = buf_append(&s->auth_message, buf_begin(&s->client_first_bare),
                    buf_size(&s->client_first_bare));
  }
  if (rc == 0) {
    rc = buf_append(&s->auth_message, ",", 1);
  }
  if (rc == 0) {
    rc = buf_append(&s->auth_message, server_first, n);
  }
  if (rc == 0) {
    rc = buf_append(&s->auth_message, ",", 1);
  }
  if (rc == 0) {
    rc = buf_append(&s->auth_message, buf_begin(&msg), buf_size(&msg));
  }
  if (rc < 0) {
    what = "out of memory building client-final-message";
    goto done;
  }

  /* SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i); the keys follow RFC 5802 §3. */
  if (PKCS5_PBKDF2_HMAC((const char *)s->password, (int)s->password_len, salt, (int)salt_len,
                        sf.iter, EVP_sha256(), AUTH_SCRAM_KEY_LEN, s->salted_password) != 1) {
    rc = DB_EAUTH;
    what = "PBKDF2 failed";
    goto done;
  }
  rc = scram_hmac(s->salted_password, AUTH_SCRAM_KEY_LEN, "Client Key", 10, client_key);
  if (rc == 0) {
    rc = scram_sha256(client_key, AUTH_SCRAM_KEY_LEN, stored_key);
  }
  if (rc == 0) {
    rc = scram_hmac(stored_key, AUTH_SCRAM_KEY_LEN, buf_begin(&s->auth_message),
                    buf_size(&s->auth_message), client_sig);
  }
  if (rc == 0) {
    rc = scram_hmac(s->salted_password, AUTH_SCRAM_KEY_LEN, "Server Key", 10, server_key);
  }
  if (rc == 0) {
    rc = scram_hmac(server_key, AUTH_SCRAM_KEY_LEN, buf_begin(&s->auth_message),
                    buf_size(&s->auth_message), s->server_signature);
  }
  if (rc < 0) {
    what = "HMAC-SHA-256 failed";
    goto done;
  }
  for (size_t i = 0; i < AUTH_SCRAM_KEY_LEN; i++) {
    proof[i] = client_key[i] ^ client_sig[i];
  }
  rc = buf_append(&msg, ",p=", 3);
  if (rc == 0) {
    rc = auth__b64_append(&msg, proof, sizeof(proof));
  }
  if (rc == 0) {
    rc = buf_append(out, buf_begin(&msg), buf_size(&msg));
  }
  if (rc < 0) {
    what = "out of memory building client-final-message";
    goto done;
  }

done:
  auth__wipe(client_key, sizeof(client_key));
  auth__wipe(stored_key, sizeof(stored_key));
  auth__wipe(client_sig, sizeof(client_sig));
  auth__wipe(server_key, sizeof(server_key));
  auth__wipe(proof, sizeof(proof));
  auth__wipe(s->salted_password, sizeof(s->salted_password));
  buf_wipe_destroy(&msg);
  buf_destroy(&cb);
  /* The password is not needed after this step, whatever happened. */
  scram_drop_password(s);
  if (rc < 0) {
    return what != NULL ? scram_fail(s, rc, what) : rc;
  }
  scram_fire(s, SCRAM_EV_FINAL);
  return 0;
}

/* Copies a server-provided value into a message, keeping printable ASCII only. */
static void scram_fail_server_error(auth_scram_t *s, slice_t v) {
  char msg[sizeof(s->errmsg)];
  static const char prefix[] = "server rejected SCRAM authentication: ";
  size_t k = sizeof(prefix) - 1;
  memcpy(msg, prefix, k);
  for (size_t i = 0; i < v.n && k < sizeof(msg) - 1; i++) {
    msg[k++] = (v.p[i] >= 0x20 && v.p[i] <= 0x7e) ? (char)v.p[i] : '?';
  }
  msg[k] = '\0';
  scram_fail(s, DB_EAUTH, msg);
}

int auth_scram_verify_final(auth_scram_t *s, const uint8_t *server_final, size_t n) {
  int rc = scram_check(s, SCRAM_EV_VERIFIED, "auth_scram_verify_final");
  if (rc < 0) {
    return rc;
  }
  if (server_final == NULL && n > 0) {
    return scram_fail(s, DB_EARG, "server-final-message is NULL");
  }
  if (n > AUTH_SCRAM_MSG_MAX) {
    return scram_fail(s, DB_EPROTO, "server-final-message is too long");
  }
  size_t pos = 0;
  slice_t v;
  if (scram_read_attr(server_final, n, &pos, 'e', &v) == 0) {
    scram_fail_server_error(s, v);
    return DB_EAUTH;
  }
  if (scram_read_attr(server_final, n, &pos, 'v', &v) < 0) {
    return scram_fail(s, DB_EPROTO, "malformed server-final-message: expected 'v=' or 'e='");
  }
  if (pos != n) {
    return scram_fail(s, DB_EPROTO,
                      "malformed server-final-message: unexpected data after the verifier");
  }
  uint8_t sig[48];
  size_t sig_len = 0;
  rc = auth__b64_decode(v.p, v.n, sig, sizeof(sig), &sig_len);
  if (rc < 0 || sig_len != AUTH_SCRAM_KEY_LEN) {
    return scram_fail(s, DB_EPROTO,
                      "malformed server-final-message: the verifier is not 32 bytes of base64");
  }
  int differ = CRYPTO_memcmp(sig, s->server_signature, AUTH_SCRAM_KEY_LEN);
  auth__wipe(sig, sizeof(sig));
  if (differ != 0) {
    return scram_fail(s, DB_EAUTH, "server signature does not match: the server did not prove "
                                   "it knows the password");
  }
  scram_fire(s, SCRAM_EV_VERIFIED);
  return 0;
}

const char *auth_scram_error(const auth_scram_t *s) {
  return s != NULL ? s->errmsg : "";
}

void auth_scram_destroy(auth_scram_t *s) {
  if (s == NULL) {
    return;
  }
  scram_drop_password(s);
  free(s->username);
  buf_wipe_destroy(&s->cbind_data);
  buf_wipe_destroy(&s->client_first_bare);
  buf_wipe_destroy(&s->server_first);
  buf_wipe_destroy(&s->auth_message);
  /* Every remaining byte (nonce, signature, salted password) goes too; the zeroed struct is a
   * valid destroyed one: state INIT with no password, which scram_check refuses. */
  OPENSSL_cleanse(s, sizeof(*s));
  s->err = DB_ESTATE;
  snprintf(s->errmsg, sizeof(s->errmsg), "%s", "SCRAM exchange was destroyed");
  scram_fire(s, SCRAM_EV_FAIL);
}
