/* Error codes shared by every layer.
 *
 * Convention (libuv's): an int return of 0 is success, < 0 is an error. I/O errors are negative
 * errno values (the same numbers libuv uses on unix); the project's own codes live in their own
 * range below -30000 so the two never collide. Names and messages come from our own tables,
 * never from uv_err_name()/uv_strerror(): those abort the process under Bun.
 */
#ifndef UVSQL_BASE_ERR_H
#define UVSQL_BASE_ERR_H

enum {
  DB_EPROTO = -30001,   /* the server sent bytes that break the protocol */
  DB_ESYNC = -30002,    /* framing lost (bad length): nothing after it can be trusted */
  DB_EAUTH = -30003,    /* authentication failed or the server's proof did not verify */
  DB_EAUTHMETHOD = -30004, /* the server asked for an auth method we do not support */
  DB_ESERVER = -30005,  /* the server reported an error (ErrorResponse / ERR packet) */
  DB_ESTATE = -30006,   /* an internal invariant broke; fatal to the connection only */
  DB_ECLOSED = -30007,  /* the connection closed */
  DB_ECANCELED = -30008, /* the operation was cancelled before it finished */
  DB_ENOMEM = -30009,   /* allocation failed */
  DB_ETOOBIG = -30010,  /* a message or value exceeds a configured limit */
  DB_ETIMEDOUT = -30011, /* a deadline passed (connect timeout) */
  DB_EARG = -30012,     /* bad argument from the caller */
  DB_ENOPASSWORD = -30013, /* the server asked for a password and none was given */
  DB_ETLS = -30014,     /* TLS failed: handshake, alert, protocol version, bad record */
  DB_ETLSVERIFY = -30015, /* the server's certificate was refused (chain, expiry, host name) */
  DB_ETLSUNAVAILABLE = -30016, /* TLS is required but the server does not offer it */
  DB_EIDLE = -30017,     /* closed after idleTimeout */
  DB_ELIFETIME = -30018, /* retired after maxLifetime */
};

/* A stable upper-case name such as "ECONNREFUSED" or "DB_EPROTO"; never NULL. */
const char *base_err_name(int code);

/* A short human-readable description; never NULL. */
const char *base_err_message(int code);

#endif
