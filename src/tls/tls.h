/* TLS client as a pure byte transform (OpenSSL 3 with a pair of memory BIOs).
 *
 * Sans-I/O: nothing here touches a socket, a timer or the loop. The engine (or the socket layer)
 * moves bytes:
 *
 *   socket bytes in   -> tls_conn_feed(c, cipher, n, &plain)  -> plaintext for the protocol engine
 *   protocol bytes    -> tls_conn_write(c, plain, n)          (buffered until the handshake ends)
 *   after EVERY call  -> tls_conn_take_output(c, &out)        -> ciphertext to put on the socket
 *
 * Typical use: tls_conn_new, tls_conn_start, take_output (ClientHello) and send it; then for each
 * read: feed, take_output, send. Plaintext written before the handshake ends is held back and goes
 * out only after the handshake (and the certificate checks) succeeded, so a refused server never
 * sees a byte of it. Output can appear after any call (handshake records, TLS 1.3 KeyUpdate
 * replies, a fatal alert after a failure, close_notify), so always take it.
 *
 * Ownership:
 * - tls_config_t is filled by the caller with heap copies (tls_config_init / tls_config_destroy).
 *   tls_ctx_new() reads it, keeps its own copies of what it needs, and wipes and frees key_pem
 *   (setting it to NULL) once the key is loaded, whether or not it succeeds.
 * - tls_ctx_t (one per pool) owns the SSL_CTX. tls_conn_t (one per connection) owns its SSL, the
 *   two memory BIOs and its copy of the server name; it does not borrow the tls_ctx_t after
 *   tls_conn_new() returns, so the context may be freed while connections still live.
 * - Plaintext and ciphertext are appended to caller-owned buf_t's; inputs are borrowed for the
 *   duration of the call only and need no NUL terminator.
 *
 * Errors: 0 is success, < 0 an error (base_err.h). DB_ETLSVERIFY: the server's certificate was
 * refused (chain, expiry or host name); DB_ETLS: any other TLS failure (bad bytes, alert, protocol
 * version, handshake failure); DB_ESTATE: a call out of order; DB_ENOMEM. On a connection, errors
 * stick: after the first one every call returns it again and tls_conn_error() keeps its detail.
 * Detail strings never contain key material.
 *
 * Threading: OpenSSL's error queue is per thread; everything here runs on the loop thread.
 */
#ifndef UVSQL_TLS_TLS_H
#define UVSQL_TLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"

/* Longest tls-server-end-point hash (SHA-512). */
#define TLS_END_POINT_MAX 64

/* tls_conn_feed()'s positive result: the server sent close_notify. */
#define TLS_PEER_CLOSED 1

typedef struct tls_config_s {
  int verify_peer;         /* verify the chain against ca_pem (system store when ca_pem is NULL) */
  int verify_host;         /* check servername against the certificate; requires verify_peer */
  char *ca_pem;            /* owned, optional: one or more PEM certificates */
  char *cert_pem;          /* owned, optional: client certificate, then any intermediates */
  char *key_pem;           /* owned, optional: its private key (unencrypted PEM); wiped on load */
  char *servername;        /* owned, optional: SNI (not sent for IP literals) and the name checked
                              with verify_host; an IPv6 literal without brackets */
  char *alpn;              /* owned, optional: one ALPN protocol to offer ("postgresql") */
  const char *min_version; /* borrowed, optional: "TLSv1.2" (default) or "TLSv1.3" */
} tls_config_t;

/* Zeroes every field: no verification, no PEM, no name. */
void tls_config_init(tls_config_t *cfg);
/* Wipes key_pem, frees every owned string and re-initialises. Safe to call twice. */
void tls_config_destroy(tls_config_t *cfg);

typedef struct tls_ctx_s tls_ctx_t;
typedef struct tls_conn_s tls_conn_t;

/* Builds the shared context. PEM text is parsed from memory. 0, or DB_EARG (bad option, PEM that
 * does not parse, certificate and key that do not match), DB_ENOMEM or DB_ETLS, with a detail in
 * errmsg (may be NULL). Always wipes and frees cfg->key_pem. */
int tls_ctx_new(tls_config_t *cfg, tls_ctx_t **out, char *errmsg, size_t errlen);
/* Safe on NULL. Live connections keep working (OpenSSL counts references to the SSL_CTX). */
void tls_ctx_free(tls_ctx_t *ctx);

/* A new client connection in state INIT. 0, DB_ENOMEM or DB_ETLS. */
int tls_conn_new(tls_ctx_t *ctx, tls_conn_t **out);
/* Wipes plaintext still held back, frees everything. Safe on NULL. */
void tls_conn_free(tls_conn_t *c);

/* Produces the ClientHello (take it with tls_conn_take_output). Once, first. */
int tls_conn_start(tls_conn_t *c);

/* Feeds ciphertext received from the socket: drives the handshake, then decrypts. Plaintext is
 * appended to `plain`. Returns 0, TLS_PEER_CLOSED once the server sent close_notify (plaintext
 * before it was appended; later input is ignored), or < 0. Needs tls_conn_start() first
 * (DB_ESTATE); after a shutdown mid-handshake it drops the bytes and returns DB_ECLOSED. */
int tls_conn_feed(tls_conn_t *c, const uint8_t *cipher, size_t n, buf_t *plain);

/* Encrypts plaintext for sending; before the handshake ends it is held back (and flushed by the
 * feed that completes the handshake). 0, < 0, or DB_ECLOSED (not sticky) after either side's
 * close_notify or an aborted handshake. */
int tls_conn_write(tls_conn_t *c, const uint8_t *plain, size_t n);

/* Moves every pending ciphertext byte into `out`. Works in every state (after a failure it yields
 * the alert, if any). 0 or DB_ENOMEM. */
int tls_conn_take_output(tls_conn_t *c, buf_t *out);

/* 1 once the handshake completed and the certificate passed the configured checks (stays 1 after
 * a clean close, 0 after a failure), else 0. */
int tls_conn_handshake_done(const tls_conn_t *c);

/* Queues close_notify. Before the handshake ends nothing is sent and the connection is just
 * closed; repeated calls are no-ops. 0, or the sticky error. */
int tls_conn_shutdown(tls_conn_t *c);

/* tls-server-end-point channel binding data (RFC 5929 section 4.1) for SCRAM-SHA-256-PLUS: the
 * hash of the server's leaf certificate (DER) with the digest of its signature algorithm, SHA-256
 * when that is MD5 or SHA-1. Requires a finished handshake (DB_ESTATE); DB_ETLS when no certificate
 * or its signature has no single digest (Ed25519); DB_ETOOBIG when cap is too small (use
 * TLS_END_POINT_MAX). */
int tls_conn_server_end_point(const tls_conn_t *c, uint8_t *out, size_t cap, size_t *len);

/* The first error's detail ("" when none). Points into `c`. */
const char *tls_conn_error(const tls_conn_t *c);

/* The negotiated protocol ("TLSv1.3", "TLSv1.2") once the handshake is done, else "". */
const char *tls_conn_version(const tls_conn_t *c);

#endif
