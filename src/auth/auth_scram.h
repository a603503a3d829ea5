/* SCRAM-SHA-256 client (RFC 5802 / RFC 7677), as PostgreSQL uses it.
 *
 * Pure bytes -> bytes, in the shape of libpq's fe-auth-scram.c: the engine feeds each server
 * message in and sends what comes out; nothing here touches a socket. Everything runs on the loop
 * thread. Note that auth_scram_client_final() runs PBKDF2 synchronously: about 2 ms at
 * PostgreSQL's default 4096 iterations, and proportionally longer up to AUTH_SCRAM_ITER_MAX.
 *
 * Ownership: auth_scram_t is embedded by its owner (auth_scram_init / auth_scram_destroy). It owns
 * a copy of the password and every derived secret, and wipes them (OPENSSL_cleanse) as soon as
 * they are no longer needed and again in auth_scram_destroy(). Server messages are borrowed for
 * the duration of the call only and are NOT NUL-terminated. Output is appended to a caller-owned
 * buf_t; on error nothing is appended.
 *
 * Flow, each step exactly once and in this order (state in parentheses):
 *   auth_scram_init (INIT) -> auth_scram_client_first (NONCE_SENT)
 *   -> auth_scram_client_final (PROOF_SENT) -> auth_scram_verify_final (FINISHED).
 * A call in any other order returns DB_ESTATE. Any error moves to FAILED, and errors stick: every
 * later call returns DB_ESTATE and auth_scram_error() keeps the first failure's detail.
 * The engine must not accept AuthenticationOk unless the state is SCRAM_ST_FINISHED.
 *
 * SASLprep (RFC 4013) is not applied yet: the password is used as its UTF-8 bytes. That equals
 * SASLprep's output for ASCII passwords (and is what libpq falls back to for invalid UTF-8).
 */
#ifndef UVSQL_AUTH_SCRAM_H
#define UVSQL_AUTH_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"

#define AUTH_SCRAM_KEY_LEN 32       /* SHA-256 output */
#define AUTH_SCRAM_NONCE_RAW_LEN 18 /* random bytes in a client nonce */
#define AUTH_SCRAM_NONCE_LEN 24     /* their base64 length */
#define AUTH_SCRAM_NONCE_MAX 64     /* longest client nonce accepted (test nonces) */
#define AUTH_SCRAM_SALT_MAX 256     /* longest decoded salt accepted (PostgreSQL uses 16) */
#define AUTH_SCRAM_MSG_MAX 4096     /* longest server-first / server-final accepted */
#define AUTH_SCRAM_USER_MAX 256     /* longest user name (tests only; PostgreSQL sends "") */
#ifndef AUTH_SCRAM_ITER_MAX
/* Highest iteration count accepted. PostgreSQL's default is 4096; its scram_iterations setting
 * goes up to INT_MAX, but at ~0.5 us per iteration 10M already blocks the loop for ~5 s. */
#define AUTH_SCRAM_ITER_MAX 10000000
#endif

typedef enum {
  SCRAM_ST_INIT,       /* initialised; nothing sent */
  SCRAM_ST_NONCE_SENT, /* client-first-message produced; waiting for server-first */
  SCRAM_ST_PROOF_SENT, /* client-final-message produced; waiting for server-final */
  SCRAM_ST_FINISHED,   /* the server proved it knows the password */
  SCRAM_ST_FAILED,     /* an error happened; see auth_scram_error() */
  SCRAM_ST__COUNT
} scram_state_t;

/* Channel binding (the gs2 header's cbind-flag). The "c=" attribute is computed as
 * base64(gs2 header || cbind_data). */
typedef enum {
  SCRAM_CBIND_NONE,        /* "n,,": the client does not support channel binding (no TLS) */
  SCRAM_CBIND_UNOFFERED,   /* "y,,": the client could bind, but the server offered no -PLUS
                            * mechanism; a server that does support it then detects a downgrade */
  SCRAM_CBIND_TLS_SERVER_END_POINT, /* "p=tls-server-end-point,,": SCRAM-SHA-256-PLUS */
  SCRAM_CBIND__COUNT
} scram_cbind_t;

typedef struct auth_scram_s {
  scram_state_t state;     /* assigned only by scram_fire() in auth_scram.c */
  int err;                 /* first error code once FAILED, else 0 */
  char errmsg[160];        /* detail of `err`; never contains the password */
  uint8_t *password;       /* owned, NUL-terminated, wiped; freed once the proof is computed */
  size_t password_len;
  char *username;          /* owned; NULL means "" (what PostgreSQL expects). Tests only. */
  scram_cbind_t cbind;
  buf_t cbind_data;        /* owned: channel-binding data appended to the gs2 header in "c=" */
  char nonce[AUTH_SCRAM_NONCE_MAX + 1]; /* client nonce, NUL-terminated */
  size_t nonce_len;
  buf_t client_first_bare; /* owned: "n=<user>,r=<nonce>" */
  buf_t server_first;      /* owned: copy of the server-first-message */
  buf_t auth_message;      /* owned: client-first-bare "," server-first "," client-final-no-proof */
  uint8_t salted_password[AUTH_SCRAM_KEY_LEN];  /* wiped as soon as the keys are derived */
  uint8_t server_signature[AUTH_SCRAM_KEY_LEN]; /* expected v= value; wiped on destroy */
} auth_scram_t;

/* Initialises `s` (its previous contents are ignored) and copies the password.
 * 0, DB_EARG (NULL or over-long password) or DB_ENOMEM; on error `s` is FAILED and destroyable. */
int auth_scram_init(auth_scram_t *s, const char *password);

/* Tests only (RFC 7677's vector uses "n=user"): sets the user name sent in client-first. Must be
 * called in INIT. ',' and '=' are escaped as "=2C" and "=3D" (RFC 5802 saslname). */
int auth_scram_set_username(auth_scram_t *s, const char *user);

/* Appends the client-first-message "n,,n=,r=<nonce>" to out, with 18 random bytes (RAND_bytes)
 * as a 24-character base64 nonce. 0, DB_ESTATE, DB_ENOMEM or DB_EAUTH (no randomness). */
int auth_scram_client_first(auth_scram_t *s, buf_t *out);

/* Chooses channel binding; call after init and before client_first. For
 * SCRAM_CBIND_TLS_SERVER_END_POINT, `data` is the hash of the server's certificate (RFC 5929). */
int auth_scram_set_channel_binding(auth_scram_t *s, scram_cbind_t mode, const uint8_t *data,
                                   size_t n);

/* Tests only: as auth_scram_client_first with a fixed nonce (1..AUTH_SCRAM_NONCE_MAX printable
 * ASCII characters other than ','; DB_EARG otherwise). */
int auth_scram_client_first_with_nonce(auth_scram_t *s, const char *nonce, buf_t *out);

/* Parses the server-first-message "r=<nonce>,s=<salt>,i=<count>", checks it and appends the
 * client-final-message "c=biws,r=<nonce>,p=<proof>" to out.
 * DB_EPROTO: malformed (missing or misordered attribute, 'm=' extension, trailing data, bad
 * base64, non-printable nonce, iteration count outside 1..AUTH_SCRAM_ITER_MAX, too long).
 * DB_EAUTH: the server nonce does not extend ours, or a crypto primitive failed.
 * Also DB_ESTATE, DB_ENOMEM. */
int auth_scram_client_final(auth_scram_t *s, const uint8_t *server_first, size_t n, buf_t *out);

/* Checks the server-final-message "v=<signature>" in constant time. 0 when the server proved it
 * knows the password; DB_EAUTH on a mismatch or a server "e=<error>"; DB_EPROTO when malformed;
 * DB_ESTATE when out of order. */
int auth_scram_verify_final(auth_scram_t *s, const uint8_t *server_final, size_t n);

/* The last error's detail ("" when none). Points into `s`; never contains the password. */
const char *auth_scram_error(const auth_scram_t *s);

/* Wipes every secret, frees everything and leaves `s` FAILED. Safe on a zeroed struct and safe to
 * call twice. */
void auth_scram_destroy(auth_scram_t *s);

#endif
