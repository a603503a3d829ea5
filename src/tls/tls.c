#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../base/base_err.h"
#include "../base/base_mem.h"

/* Plaintext is decrypted straight into the caller's buffer, at most this much per SSL_read. */
#define TLS_READ_CHUNK 16384

/* ---- state machine: one enum, one table, one writer ---------------------------------------- */

typedef enum {
  TLS_ST_INIT,         /* created; nothing sent */
  TLS_ST_HANDSHAKE,    /* ClientHello produced; plaintext writes are held back */
  TLS_ST_OPEN,         /* handshake done, certificate accepted */
  TLS_ST_LOCAL_CLOSED, /* we queued close_notify; still decrypting */
  TLS_ST_PEER_CLOSED,  /* the server sent close_notify; we may still send ours */
  TLS_ST_CLOSED,       /* both close_notify: done */
  TLS_ST_ABORTED,      /* shut down before the handshake finished; nothing was sent */
  TLS_ST_FAILED,       /* an error happened; see tls_conn_error() */
  TLS_ST__COUNT
} tls_state_t;

typedef enum {
  TLS_EV_START,      /* ClientHello produced */
  TLS_EV_HS_DONE,    /* handshake finished */
  TLS_EV_SHUTDOWN,   /* tls_conn_shutdown() */
  TLS_EV_PEER_CLOSE, /* close_notify received */
  TLS_EV_FAIL,       /* any error */
  TLS_EV__COUNT
} tls_ev_t;

#define BAD TLS_ST__COUNT
#define HS_ TLS_ST_HANDSHAKE
#define OPEN_ TLS_ST_OPEN
#define LCL_ TLS_ST_LOCAL_CLOSED
#define PEER_ TLS_ST_PEER_CLOSED
#define CLSD_ TLS_ST_CLOSED
#define ABRT_ TLS_ST_ABORTED
#define FAIL_ TLS_ST_FAILED
/* clang-format off */
static const uint8_t tls_next[TLS_ST__COUNT][TLS_EV__COUNT] = {
  /*                        START  HS_DONE  SHUTDOWN  PEER_CLOSE  FAIL */
  [TLS_ST_INIT]         = { HS_,   BAD,     ABRT_,    BAD,        FAIL_ },
  [TLS_ST_HANDSHAKE]    = { BAD,   OPEN_,   ABRT_,    BAD,        FAIL_ },
  [TLS_ST_OPEN]         = { BAD,   BAD,     LCL_,     PEER_,      FAIL_ },
  [TLS_ST_LOCAL_CLOSED] = { BAD,   BAD,     LCL_,     CLSD_,      FAIL_ },
  [TLS_ST_PEER_CLOSED]  = { BAD,   BAD,     CLSD_,    BAD,        FAIL_ },
  [TLS_ST_CLOSED]       = { BAD,   BAD,     CLSD_,    BAD,        FAIL_ },
  [TLS_ST_ABORTED]      = { BAD,   BAD,     ABRT_,    BAD,        FAIL_ },
  [TLS_ST_FAILED]       = { BAD,   BAD,     BAD,      BAD,        FAIL_ },
};
/* clang-format on */
#undef HS_
#undef OPEN_
#undef LCL_
#undef PEER_
#undef CLSD_
#undef ABRT_
#undef FAIL_

static const char *const tls_state_names[TLS_ST__COUNT] = {
  [TLS_ST_INIT] = "INIT",
  [TLS_ST_HANDSHAKE] = "HANDSHAKE",
  [TLS_ST_OPEN] = "OPEN",
  [TLS_ST_LOCAL_CLOSED] = "LOCAL_CLOSED",
  [TLS_ST_PEER_CLOSED] = "PEER_CLOSED",
  [TLS_ST_CLOSED] = "CLOSED",
  [TLS_ST_ABORTED] = "ABORTED",
  [TLS_ST_FAILED] = "FAILED",
};

struct tls_ctx_s {
  SSL_CTX *ssl_ctx;     /* owned: one reference (every SSL holds its own) */
  char *servername;     /* owned copy, or NULL */
  int servername_is_ip; /* servername is an IPv4/IPv6 literal: no SNI, iPAddress SAN check */
  int verify_host;
};

struct tls_conn_s {
  tls_state_t state; /* assigned only by tls_fire() */
  int err;           /* first error code once FAILED, else 0 */
  char errmsg[256];  /* detail of `err` */
  SSL *ssl;          /* owned; owns rbio and wbio */
  BIO *rbio;         /* borrowed from ssl: ciphertext from the server */
  BIO *wbio;         /* borrowed from ssl: ciphertext for the server */
  buf_t pending;     /* owned: plaintext written before the handshake ended; wiped */
  char *servername;  /* owned copy for error messages, or NULL */
};

/* The only code that assigns c->state. Callers check the transition first (tls_check), so a BAD
 * entry here means memory corruption: fail closed. */
static void tls_fire(tls_conn_t *c, tls_ev_t ev) {
  uint8_t next = (unsigned)c->state < TLS_ST__COUNT ? tls_next[c->state][ev] : BAD;
  c->state = next == BAD ? TLS_ST_FAILED : (tls_state_t)next;
}

/* Records the first error, moves to FAILED and returns `code`. */
static int tls_fail(tls_conn_t *c, int code, const char *msg) {
  if (c->err == 0) {
    c->err = code;
    snprintf(c->errmsg, sizeof(c->errmsg), "%s", msg);
  }
  tls_fire(c, TLS_EV_FAIL);
  ERR_clear_error();
  return c->err;
}

/* 0 when `ev` is allowed now; otherwise DB_ESTATE (and FAILED). */
static int tls_check(tls_conn_t *c, tls_ev_t ev, const char *fn) {
  if ((unsigned)c->state >= TLS_ST__COUNT || tls_next[c->state][ev] == BAD) {
    char msg[sizeof(c->errmsg)];
    const char *st =
      (unsigned)c->state < TLS_ST__COUNT ? tls_state_names[c->state] : "(corrupt)";
    snprintf(msg, sizeof(msg), "%s called in TLS state %s", fn, st);
    return tls_fail(c, DB_ESTATE, msg);
  }
  return 0;
}

/* ---- error detail -------------------------------------------------------------------------- */

/* Formats "<what>: <reason> (<data>)" from the oldest entry of OpenSSL's error queue and clears
 * the queue. OpenSSL's reasons name the problem, never key material. */
static void tls_format_err(char *dst, size_t cap, const char *what) {
  const char *data = NULL;
  int flags = 0;
  unsigned long e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
  const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
  char code[32];
  if (e != 0 && reason == NULL) {
    snprintf(code, sizeof(code), "error %lx", e);
    reason = code;
  }
  if (reason == NULL) {
    snprintf(dst, cap, "%s", what);
  } else if (data != NULL && (flags & ERR_TXT_STRING) && data[0] != '\0') {
    snprintf(dst, cap, "%s: %s (%s)", what, reason, data);
  } else {
    snprintf(dst, cap, "%s: %s", what, reason);
  }
  ERR_clear_error();
}

static void tls_set_errmsg(char *errmsg, size_t errlen, const char *msg) {
  if (errmsg != NULL && errlen > 0) {
    snprintf(errmsg, errlen, "%s", msg);
  }
}

/* Fails the connection after an SSL_* call returned `ret`. A refused certificate becomes
 * DB_ETLSVERIFY with OpenSSL's verification reason; everything else DB_ETLS. */
static int tls_fail_ssl(tls_conn_t *c, int ret, const char *what) {
  char msg[sizeof(c->errmsg)];
  int e = SSL_get_error(c->ssl, ret);
  long vr = SSL_get_verify_result(c->ssl);
  if ((SSL_get_verify_mode(c->ssl) & SSL_VERIFY_PEER) && vr != X509_V_OK) {
    const char *why = X509_verify_cert_error_string(vr);
    if ((vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) &&
        c->servername != NULL) {
      snprintf(msg, sizeof(msg), "server certificate verification failed: %s (expected \"%.100s\")",
               why, c->servername);
    } else {
      snprintf(msg, sizeof(msg), "server certificate verification failed: %s", why);
    }
    return tls_fail(c, DB_ETLSVERIFY, msg);
  }
  if (e == SSL_ERROR_SSL) {
    tls_format_err(msg, sizeof(msg), what);
  } else {
    /* SSL_ERROR_SYSCALL or a WANT_* that memory BIOs never produce. */
    snprintf(msg, sizeof(msg), "%s (SSL error %d)", what, e);
  }
  return tls_fail(c, DB_ETLS, msg);
}

/* ---- config and context -------------------------------------------------------------------- */

void tls_config_init(tls_config_t *cfg) {
  memset(cfg, 0, sizeof(*cfg));
}

void tls_config_destroy(tls_config_t *cfg) {
  free(cfg->ca_pem);
  free(cfg->cert_pem);
  base_wipe_free(cfg->key_pem);
  free(cfg->servername);
  free(cfg->alpn);
  tls_config_init(cfg);
}

/* Never prompt on a terminal for a passphrase: an encrypted key is an error. `u` points to a
 * flag that records that a passphrase was asked for. */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  *(int *)u = 1;
  return -1;
}

/* After a PEM_read_bio_* loop returned NULL: 1 when it simply ran out of PEM blocks. */
static int tls_pem_at_end(void) {
  unsigned long e = ERR_peek_last_error();
  return e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
}

/* Reads every certificate of `pem` into the context's trust store. */
static int tls_load_ca(SSL_CTX *sc, const char *pem, char *errmsg, size_t errlen) {
  char msg[256];
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (bio == NULL) {
    return DB_ENOMEM;
  }
  X509_STORE *store = SSL_CTX_get_cert_store(sc);
  int count = 0;
  int rc = 0;
  X509 *x;
  while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (X509_STORE_add_cert(store, x) != 1) {
      tls_format_err(msg, sizeof(msg), "ca: cannot add a certificate to the trust store");
      tls_set_errmsg(errmsg, errlen, msg);
      rc = DB_ETLS;
    }
    X509_free(x);
    count++;
  }
  if (rc == 0 && !tls_pem_at_end()) {
    tls_format_err(msg, sizeof(msg), "ca: invalid PEM certificate");
    tls_set_errmsg(errmsg, errlen, msg);
    rc = DB_EARG;
  } else if (rc == 0 && count == 0) {
    tls_set_errmsg(errmsg, errlen, "ca: no PEM certificate found");
    rc = DB_EARG;
  }
  ERR_clear_error();
  BIO_free(bio);
  return rc;
}

/* Loads the client certificate (the first PEM block; any further ones are its chain). */
static int tls_load_cert(SSL_CTX *sc, const char *pem, char *errmsg, size_t errlen) {
  char msg[256];
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (bio == NULL) {
    return DB_ENOMEM;
  }
  int rc = 0;
  X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
  if (x == NULL) {
    tls_format_err(msg, sizeof(msg), "cert: no valid PEM certificate");
    tls_set_errmsg(errmsg, errlen, msg);
    rc = DB_EARG;
  } else if (SSL_CTX_use_certificate(sc, x) != 1) {
    tls_format_err(msg, sizeof(msg), "cert: certificate refused");
    tls_set_errmsg(errmsg, errlen, msg);
    rc = DB_EARG;
  }
  X509_free(x);
  while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add1_chain_cert(sc, x) != 1) {
      tls_format_err(msg, sizeof(msg), "cert: chain certificate refused");
      tls_set_errmsg(errmsg, errlen, msg);
      rc = DB_EARG;
    }
    X509_free(x);
  }
  if (rc == 0 && !tls_pem_at_end()) {
    tls_format_err(msg, sizeof(msg), "cert: invalid PEM certificate");
    tls_set_errmsg(errmsg, errlen, msg);
    rc = DB_EARG;
  }
  ERR_clear_error();
  BIO_free(bio);
  return rc;
}

/* Loads the private key. The BIO reads the caller's text in place (no copy is made). */
static int tls_load_key(SSL_CTX *sc, const char *pem, char *errmsg, size_t errlen) {
  char msg[256];
  BIO *bio = BIO_new_mem_buf(pem, -1);
  if (bio == NULL) {
    return DB_ENOMEM;
  }
  int rc = 0;
  int encrypted = 0;
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, &encrypted);
  if (key == NULL && encrypted) {
    tls_set_errmsg(errmsg, errlen, "key: the private key is encrypted (no passphrase support)");
    rc = DB_EARG;
  } else if (key == NULL) {
    tls_format_err(msg, sizeof(msg), "key: cannot read the private key (PEM)");
    tls_set_errmsg(errmsg, errlen, msg);
    rc = DB_EARG;
  } else if (SSL_CTX_use_PrivateKey(sc, key) != 1) {
    /* also where a key that does not match the certificate is caught ("key values mismatch") */
    tls_format_err(msg, sizeof(msg), "key: private key refused");
    tls_set_errmsg(errmsg, errlen, msg);
    rc = DB_EARG;
  } else if (SSL_CTX_check_private_key(sc) != 1) {
    tls_set_errmsg(errmsg, errlen, "cert/key: the private key does not match the certificate");
    rc = DB_EARG;
  }
  EVP_PKEY_free(key);
  ERR_clear_error();
  BIO_free(bio);
  return rc;
}

static int tls_parse_min_version(const char *v, int *out) {
  if (v == NULL || v[0] == '\0' || strcmp(v, "TLSv1.2") == 0) {
    *out = TLS1_2_VERSION;
  } else if (strcmp(v, "TLSv1.3") == 0) {
    *out = TLS1_3_VERSION;
  } else {
    return DB_EARG;
  }
  return 0;
}

/* 1 when `name` is an IPv4 or IPv6 literal. */
static int tls_is_ip_literal(const char *name) {
  ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
  ERR_clear_error();
  if (ip == NULL) {
    return 0;
  }
  ASN1_OCTET_STRING_free(ip);
  return 1;
}

/* Checks the options and fills everything but the PEM material. */
static int tls_ctx_setup(tls_ctx_t *t, const tls_config_t *cfg, char *errmsg, size_t errlen) {
  char msg[256];
  int minv = 0;
  if (tls_parse_min_version(cfg->min_version, &minv) < 0) {
    snprintf(msg, sizeof(msg), "min_version: unsupported value \"%.40s\" (use TLSv1.2 or TLSv1.3)",
             cfg->min_version);
    tls_set_errmsg(errmsg, errlen, msg);
    return DB_EARG;
  }
  if (cfg->verify_host && !cfg->verify_peer) {
    tls_set_errmsg(errmsg, errlen, "verify_host requires verify_peer");
    return DB_EARG;
  }
  if (cfg->servername != NULL && (cfg->servername[0] == '\0' || strlen(cfg->servername) > 253)) {
    tls_set_errmsg(errmsg, errlen, "servername: must be 1 to 253 characters");
    return DB_EARG;
  }
  if (cfg->verify_host && cfg->servername == NULL) {
    tls_set_errmsg(errmsg, errlen, "verify_host requires a servername");
    return DB_EARG;
  }
  if ((cfg->cert_pem == NULL) != (cfg->key_pem == NULL)) {
    tls_set_errmsg(errmsg, errlen, "cert and key must be given together");
    return DB_EARG;
  }
  size_t alpn_len = cfg->alpn != NULL ? strlen(cfg->alpn) : 0;
  if (cfg->alpn != NULL && (alpn_len == 0 || alpn_len > 255)) {
    tls_set_errmsg(errmsg, errlen, "alpn: must be 1 to 255 characters");
    return DB_EARG;
  }

  t->ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (t->ssl_ctx == NULL) {
    tls_format_err(msg, sizeof(msg), "cannot create the TLS context");
    tls_set_errmsg(errmsg, errlen, msg);
    return DB_ETLS;
  }
  SSL_CTX *sc = t->ssl_ctx;
  if (SSL_CTX_set_min_proto_version(sc, minv) != 1) {
    tls_set_errmsg(errmsg, errlen, "min_version: refused by OpenSSL");
    return DB_EARG;
  }
  SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_verify(sc, cfg->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  if (cfg->verify_peer && cfg->ca_pem == NULL && SSL_CTX_set_default_verify_paths(sc) != 1) {
    tls_format_err(msg, sizeof(msg), "cannot load the system certificate store");
    tls_set_errmsg(errmsg, errlen, msg);
    return DB_ETLS;
  }
  if (cfg->alpn != NULL) {
    uint8_t wire[256];
    wire[0] = (uint8_t)alpn_len;
    memcpy(wire + 1, cfg->alpn, alpn_len);
    if (SSL_CTX_set_alpn_protos(sc, wire, (unsigned)alpn_len + 1) != 0) { /* 0 is success */
      tls_set_errmsg(errmsg, errlen, "alpn: refused by OpenSSL");
      return DB_ETLS;
    }
  }
  if (cfg->servername != NULL) {
    t->servername = base_strdup(cfg->servername);
    if (t->servername == NULL) {
      return DB_ENOMEM;
    }
    t->servername_is_ip = tls_is_ip_literal(cfg->servername);
  }
  t->verify_host = cfg->verify_host;
  return 0;
}

int tls_ctx_new(tls_config_t *cfg, tls_ctx_t **out, char *errmsg, size_t errlen) {
  *out = NULL;
  tls_set_errmsg(errmsg, errlen, "");
  ERR_clear_error();
  tls_ctx_t *t = calloc(1, sizeof(*t));
  int rc = t != NULL ? tls_ctx_setup(t, cfg, errmsg, errlen) : DB_ENOMEM;
  if (rc == 0 && cfg->ca_pem != NULL) {
    rc = tls_load_ca(t->ssl_ctx, cfg->ca_pem, errmsg, errlen);
  }
  if (rc == 0 && cfg->cert_pem != NULL) {
    rc = tls_load_cert(t->ssl_ctx, cfg->cert_pem, errmsg, errlen);
  }
  if (rc == 0 && cfg->key_pem != NULL) {
    rc = tls_load_key(t->ssl_ctx, cfg->key_pem, errmsg, errlen);
  }
  /* The key now lives only inside OpenSSL: drop the PEM text, loaded or not. */
  base_wipe_free(cfg->key_pem);
  cfg->key_pem = NULL;
  if (rc == DB_ENOMEM) {
    tls_set_errmsg(errmsg, errlen, "out of memory");
  }
  if (rc < 0) {
    tls_ctx_free(t);
    ERR_clear_error();
    return rc;
  }
  *out = t;
  return 0;
}

void tls_ctx_free(tls_ctx_t *ctx) {
  if (ctx == NULL) {
    return;
  }
  SSL_CTX_free(ctx->ssl_ctx);
  free(ctx->servername);
  free(ctx);
}

/* ---- connection ---------------------------------------------------------------------------- */

/* Sets SNI and the host/IP check on a new SSL. 0 or -1. */
static int tls_conn_setup_name(SSL *ssl, const tls_ctx_t *ctx) {
  if (ctx->servername == NULL) {
    return 0;
  }
  if (!ctx->servername_is_ip && SSL_set_tlsext_host_name(ssl, ctx->servername) != 1) {
    return -1;
  }
  if (!ctx->verify_host) {
    return 0;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (ctx->servername_is_ip) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ctx->servername) == 1 ? 0 : -1;
  }
  return SSL_set1_host(ssl, ctx->servername) == 1 ? 0 : -1;
}

int tls_conn_new(tls_ctx_t *ctx, tls_conn_t **out) {
  *out = NULL;
  ERR_clear_error();
  tls_conn_t *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    return DB_ENOMEM;
  }
  c->state = TLS_ST_INIT;
  buf_init(&c->pending);
  int rc = 0;
  if (ctx->servername != NULL && (c->servername = base_strdup(ctx->servername)) == NULL) {
    rc = DB_ENOMEM;
  }
  if (rc == 0 && (c->ssl = SSL_new(ctx->ssl_ctx)) == NULL) {
    rc = DB_ENOMEM;
  }
  if (rc == 0) {
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->rbio == NULL || c->wbio == NULL) {
      BIO_free(c->rbio);
      BIO_free(c->wbio);
      c->rbio = c->wbio = NULL;
      rc = DB_ENOMEM;
    }
  }
  if (rc == 0) {
    /* An empty rbio reports "retry" (SSL_ERROR_WANT_READ), never EOF. */
    BIO_set_mem_eof_return(c->rbio, -1);
    BIO_set_mem_eof_return(c->wbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio); /* the SSL owns both from here */
    SSL_set_connect_state(c->ssl);
    if (tls_conn_setup_name(c->ssl, ctx) < 0) {
      rc = DB_ETLS;
    }
  }
  ERR_clear_error();
  if (rc < 0) {
    tls_conn_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void tls_conn_free(tls_conn_t *c) {
  if (c == NULL) {
    return;
  }
  SSL_free(c->ssl); /* frees rbio and wbio */
  buf_wipe_destroy(&c->pending);
  free(c->servername);
  free(c);
}

/* Encrypts everything into wbio (memory BIOs never ask to retry a write). */
static int tls_conn_encrypt(tls_conn_t *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    size_t w = 0;
    ERR_clear_error();
    int r = SSL_write_ex(c->ssl, p, n, &w);
    if (r != 1) {
      return tls_fail_ssl(c, r, "TLS write failed");
    }
    p += w;
    n -= w;
  }
  return 0;
}

/* One handshake step. 0 (done, or waiting for more bytes) or < 0. */
static int tls_conn_handshake_step(tls_conn_t *c) {
  ERR_clear_error();
  int r = SSL_do_handshake(c->ssl);
  if (r != 1) {
    if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) {
      return 0;
    }
    return tls_fail_ssl(c, r, "TLS handshake failed");
  }
  tls_fire(c, TLS_EV_HS_DONE);
  /* Release what the engine wrote while the handshake ran. */
  int rc = tls_conn_encrypt(c, buf_begin(&c->pending), buf_size(&c->pending));
  buf_wipe_destroy(&c->pending);
  return rc;
}

/* Decrypts every whole record in rbio into `plain`. 0, TLS_PEER_CLOSED or < 0. */
static int tls_conn_decrypt(tls_conn_t *c, buf_t *plain) {
  for (;;) {
    if (buf_reserve(plain, TLS_READ_CHUNK) < 0) {
      return tls_fail(c, DB_ENOMEM, "out of memory");
    }
    size_t got = 0;
    ERR_clear_error();
    /* Straight into the caller's buffer: no plaintext copy is left on our stack. */
    int r = SSL_read_ex(c->ssl, plain->data + plain->len, TLS_READ_CHUNK, &got);
    if (r == 1) {
      plain->len += got;
      continue;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
      tls_fire(c, TLS_EV_PEER_CLOSE);
      return TLS_PEER_CLOSED;
    }
    return tls_fail_ssl(c, r, "TLS read failed");
  }
}

int tls_conn_start(tls_conn_t *c) {
  if (c->state == TLS_ST_FAILED) {
    return c->err;
  }
  int rc = tls_check(c, TLS_EV_START, "tls_conn_start");
  if (rc < 0) {
    return rc;
  }
  tls_fire(c, TLS_EV_START);
  return tls_conn_handshake_step(c);
}

int tls_conn_feed(tls_conn_t *c, const uint8_t *cipher, size_t n, buf_t *plain) {
  switch (c->state) {
  case TLS_ST_FAILED:
    return c->err;
  case TLS_ST_PEER_CLOSED:
  case TLS_ST_CLOSED:
    return TLS_PEER_CLOSED; /* nothing after close_notify is read */
  case TLS_ST_ABORTED:
    return DB_ECLOSED; /* shut down mid-handshake: late socket bytes are dropped */
  case TLS_ST_HANDSHAKE:
  case TLS_ST_OPEN:
  case TLS_ST_LOCAL_CLOSED:
    break;
  default: {
    char msg[sizeof(c->errmsg)];
    const char *st = (unsigned)c->state < TLS_ST__COUNT ? tls_state_names[c->state] : "(corrupt)";
    snprintf(msg, sizeof(msg), "tls_conn_feed called in TLS state %s", st);
    return tls_fail(c, DB_ESTATE, msg);
  }
  }
  while (n > 0) {
    size_t w = 0;
    if (BIO_write_ex(c->rbio, cipher, n, &w) != 1 || w == 0) {
      return tls_fail(c, DB_ENOMEM, "out of memory");
    }
    cipher += w;
    n -= w;
  }
  if (c->state == TLS_ST_HANDSHAKE) {
    int rc = tls_conn_handshake_step(c);
    if (rc < 0 || c->state == TLS_ST_HANDSHAKE) {
      return rc;
    }
  }
  return tls_conn_decrypt(c, plain);
}

int tls_conn_write(tls_conn_t *c, const uint8_t *plain, size_t n) {
  switch (c->state) {
  case TLS_ST_FAILED:
    return c->err;
  case TLS_ST_INIT:
  case TLS_ST_HANDSHAKE:
    if (buf_append(&c->pending, plain, n) < 0) {
      return tls_fail(c, DB_ENOMEM, "out of memory");
    }
    return 0;
  case TLS_ST_OPEN:
    return tls_conn_encrypt(c, plain, n);
  default:
    return DB_ECLOSED;
  }
}

int tls_conn_take_output(tls_conn_t *c, buf_t *out) {
  size_t n = BIO_ctrl_pending(c->wbio);
  if (n == 0) {
    return 0;
  }
  if (buf_reserve(out, n) < 0) {
    return DB_ENOMEM;
  }
  size_t got = 0;
  if (BIO_read_ex(c->wbio, out->data + out->len, n, &got) != 1) {
    ERR_clear_error();
    return 0;
  }
  out->len += got;
  return 0;
}

int tls_conn_handshake_done(const tls_conn_t *c) {
  switch (c->state) {
  case TLS_ST_OPEN:
  case TLS_ST_LOCAL_CLOSED:
  case TLS_ST_PEER_CLOSED:
  case TLS_ST_CLOSED:
    return 1;
  default:
    return 0;
  }
}

int tls_conn_shutdown(tls_conn_t *c) {
  if (c->state == TLS_ST_FAILED) {
    return c->err;
  }
  int rc = tls_check(c, TLS_EV_SHUTDOWN, "tls_conn_shutdown");
  if (rc < 0) {
    return rc;
  }
  int send = c->state == TLS_ST_OPEN || c->state == TLS_ST_PEER_CLOSED;
  tls_fire(c, TLS_EV_SHUTDOWN);
  if (c->state == TLS_ST_ABORTED) {
    buf_wipe_destroy(&c->pending); /* never sent */
  }
  if (send) {
    ERR_clear_error();
    int r = SSL_shutdown(c->ssl); /* 0: sent, waiting for the peer's; 1: both done */
    if (r < 0) {
      return tls_fail_ssl(c, r, "TLS shutdown failed");
    }
  }
  return 0;
}

int tls_conn_server_end_point(const tls_conn_t *c, uint8_t *out, size_t cap, size_t *len) {
  *len = 0;
  if (!tls_conn_handshake_done(c)) {
    return DB_ESTATE;
  }
  X509 *cert = SSL_get0_peer_certificate(c->ssl);
  if (cert == NULL) {
    return DB_ETLS;
  }
  int md_nid = NID_undef;
  if (X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) != 1 || md_nid == NID_undef) {
    ERR_clear_error();
    return DB_ETLS; /* e.g. Ed25519: RFC 5929 defines no hash */
  }
  if (md_nid == NID_md5 || md_nid == NID_sha1) {
    md_nid = NID_sha256;
  }
  EVP_MD *md = EVP_MD_fetch(NULL, OBJ_nid2sn(md_nid), NULL);
  if (md == NULL) {
    ERR_clear_error();
    return DB_ETLS;
  }
  int rc = 0;
  unsigned char tmp[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, md, tmp, &n) != 1) {
    rc = DB_ETLS;
  } else if (n > cap) {
    rc = DB_ETOOBIG;
  } else {
    memcpy(out, tmp, n);
    *len = n;
  }
  EVP_MD_free(md);
  ERR_clear_error();
  return rc;
}

const char *tls_conn_error(const tls_conn_t *c) {
  return c->errmsg;
}

const char *tls_conn_version(const tls_conn_t *c) {
  return tls_conn_handshake_done(c) ? SSL_get_version(c->ssl) : "";
}
