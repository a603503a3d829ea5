/* Unit tests for src/tls/: the TLS client byte transform against an in-memory OpenSSL server.
 *
 * A standalone program: prints TAP-style "ok N - name" / "not ok N - name" lines and exits 1 if
 * any check failed. Built and run by test/unit/c-units.test.js (under ASan/UBSan when available,
 * with LeakSanitizer on).
 *
 * Everything is made in memory at start: a CA, server certificates (good, expired, wrong host,
 * self-signed, from another CA, CN-only, partial wildcard, SHA-384 and SHA-1 signed) and a client
 * certificate, all with P-256 keys. The server is plain OpenSSL on memory BIOs; pair_pump() moves
 * bytes between it and the client until neither side has anything left to say, feeding the client
 * whole or `chunk` bytes at a time (each chunk an exactly-sized heap copy, so ASan sees any read
 * past the input).
 */
// c-units-sources: src/tls/tls.c
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../src/base/base_buf.h"
#include "../../src/base/base_err.h"
#include "../../src/base/base_mem.h"
#include "../../src/tls/tls.h"

#include "check.h"

/* Checks that `s` contains `sub`, printing both when it does not. */
#define CHECK_HAS(s, sub, name)                                             \
  do {                                                                      \
    const char *s_ = (s);                                                   \
    int ok_ = s_ != NULL && strstr(s_, (sub)) != NULL;                      \
    t_report(ok_, (name), __FILE__, __LINE__);                              \
    if (!ok_) {                                                             \
      printf("#   got  \"%s\"\n#   want \"%s\" in it\n", s_ ? s_ : "(null)", (sub)); \
    }                                                                       \
  } while (0)

static void die(const char *what) {
  fprintf(stderr, "test setup failed: %s\n", what);
  ERR_print_errors_fp(stderr);
  exit(2);
}

/* An exactly-sized heap copy of p[0..n): nothing readable after it. Caller frees. */
static uint8_t *exact(const void *p, size_t n) {
  uint8_t *c = malloc(n > 0 ? n : 1);
  if (c == NULL) {
    die("out of memory");
  }
  if (n > 0) {
    memcpy(c, p, n);
  }
  return c;
}

static int buf_has(const buf_t *b, const char *needle) {
  size_t n = strlen(needle);
  const uint8_t *p = buf_begin(b);
  for (size_t i = 0; i + n <= buf_size(b); i++) {
    if (memcmp(p + i, needle, n) == 0) {
      return 1;
    }
  }
  return 0;
}

static int buf_eq(const buf_t *b, const void *p, size_t n) {
  return buf_size(b) == n && (n == 0 || memcmp(buf_begin(b), p, n) == 0);
}

/* ---- certificates, made in memory ------------------------------------------------------------ */

static EVP_PKEY *mk_key(void) {
  EVP_PKEY *k = EVP_EC_gen("P-256");
  if (k == NULL) {
    die("EVP_EC_gen");
  }
  return k;
}

static void add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value) {
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
  if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
    die("X509 extension");
  }
  X509_EXTENSION_free(ext);
}

typedef struct {
  const char *cn;
  const char *san; /* "DNS:a,IP:1.2.3.4", or NULL for none */
  int ca;
  long from_days, to_days; /* validity relative to now */
  const EVP_MD *md;        /* signature digest; NULL = SHA-256 */
} cert_spec_t;

/* A certificate for `key`, signed by issuer/issuer_key, or self-signed when issuer is NULL. */
static X509 *mk_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, cert_spec_t spec) {
  static long serial = 1000;
  X509 *x = X509_new();
  if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(x), spec.from_days * 86400L) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(x), spec.to_days * 86400L) == NULL ||
      X509_set_pubkey(x, key) != 1) {
    die("X509 fields");
  }
  X509_NAME *name = X509_get_subject_name(x);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)spec.cn, -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1) {
    die("X509 names");
  }
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
  add_ext(x, &v3, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (spec.ca) {
    add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  add_ext(x, &v3, NID_subject_key_identifier, "hash");
  if (spec.san != NULL) {
    add_ext(x, &v3, NID_subject_alt_name, spec.san);
  }
  if (X509_sign(x, issuer_key != NULL ? issuer_key : key, spec.md ? spec.md : EVP_sha256()) <= 0) {
    die("X509_sign");
  }
  return x;
}

/* PEM text of a certificate or a key (malloc'd, NUL-terminated). */
static char *bio_to_str(BIO *bio) {
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *s = malloc((size_t)n + 1);
  if (s == NULL) {
    die("out of memory");
  }
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  BIO_free(bio);
  return s;
}

static char *cert_pem(X509 *x) {
  BIO *bio = BIO_new(BIO_s_mem());
  if (bio == NULL || PEM_write_bio_X509(bio, x) != 1) {
    die("PEM_write_bio_X509");
  }
  return bio_to_str(bio);
}

static char *key_pem(EVP_PKEY *k) {
  BIO *bio = BIO_new(BIO_s_mem());
  if (bio == NULL || PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1) {
    die("PEM_write_bio_PrivateKey");
  }
  return bio_to_str(bio);
}

static EVP_PKEY *ca_key, *other_ca_key, *srv_key, *cli_key;
static X509 *ca, *other_ca, *cli_cert;
static char *ca_pem, *other_ca_pem, *cli_cert_pem, *cli_key_pem;

typedef enum {
  SRV_GOOD,     /* CA-signed, SAN DNS:localhost, IP:127.0.0.1, IP:::1 */
  SRV_EXPIRED,  /* CA-signed, same SANs, expired yesterday */
  SRV_WRONG,    /* CA-signed, SAN DNS:wrong.example only */
  SRV_SELF,     /* self-signed, same SANs as GOOD */
  SRV_OTHER_CA, /* signed by another CA, same SANs as GOOD */
  SRV_CN_ONLY,  /* CA-signed, CN=localhost, no SAN at all */
  SRV_CN_SAN,   /* CA-signed, CN=localhost but SAN DNS:other.example: the CN must be ignored */
  SRV_PARTIAL,  /* CA-signed, SAN DNS:f*.example.com (a partial wildcard) */
  SRV_SHA384,   /* like GOOD, signed ecdsa-with-SHA384 */
  SRV_SHA1,     /* like GOOD, signed ecdsa-with-SHA1 */
  SRV__COUNT
} srv_kind_t;

static X509 *srv_certs[SRV__COUNT];

#define GOOD_SAN "DNS:localhost,IP:127.0.0.1,IP:::1"

static void make_pki(void) {
  ca_key = mk_key();
  other_ca_key = mk_key();
  srv_key = mk_key();
  cli_key = mk_key();
  ca = mk_cert(ca_key, NULL, NULL, (cert_spec_t){"uvsql test CA", NULL, 1, -1, 30, NULL});
  other_ca = mk_cert(other_ca_key, NULL, NULL, (cert_spec_t){"other CA", NULL, 1, -1, 30, NULL});
  cert_spec_t leaf = {"localhost", GOOD_SAN, 0, -1, 30, NULL};
  srv_certs[SRV_GOOD] = mk_cert(srv_key, ca, ca_key, leaf);
  srv_certs[SRV_EXPIRED] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"localhost", GOOD_SAN, 0, -30, -1, NULL});
  srv_certs[SRV_WRONG] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"wrong", "DNS:wrong.example", 0, -1, 30, NULL});
  srv_certs[SRV_SELF] = mk_cert(srv_key, NULL, NULL, leaf);
  srv_certs[SRV_OTHER_CA] = mk_cert(srv_key, other_ca, other_ca_key, leaf);
  srv_certs[SRV_CN_ONLY] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"localhost", NULL, 0, -1, 30, NULL});
  srv_certs[SRV_CN_SAN] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"localhost", "DNS:other.example", 0, -1, 30, NULL});
  srv_certs[SRV_PARTIAL] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"p", "DNS:f*.example.com", 0, -1, 30, NULL});
  srv_certs[SRV_SHA384] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"localhost", GOOD_SAN, 0, -1, 30, EVP_sha384()});
  srv_certs[SRV_SHA1] =
    mk_cert(srv_key, ca, ca_key, (cert_spec_t){"localhost", GOOD_SAN, 0, -1, 30, EVP_sha1()});
  cli_cert = mk_cert(cli_key, ca, ca_key, (cert_spec_t){"app", NULL, 0, -1, 30, NULL});
  ca_pem = cert_pem(ca);
  other_ca_pem = cert_pem(other_ca);
  cli_cert_pem = cert_pem(cli_cert);
  cli_key_pem = key_pem(cli_key);
}

static void free_pki(void) {
  for (int i = 0; i < SRV__COUNT; i++) {
    X509_free(srv_certs[i]);
  }
  X509_free(ca);
  X509_free(other_ca);
  X509_free(cli_cert);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(other_ca_key);
  EVP_PKEY_free(srv_key);
  EVP_PKEY_free(cli_key);
  free(ca_pem);
  free(other_ca_pem);
  free(cli_cert_pem);
  free(cli_key_pem);
}

/* ---- the in-memory server -------------------------------------------------------------------- */

static char alpn_seen[64]; /* the ALPN list the server last saw, as "name," entries */

static int on_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg) {
  (void)s;
  (void)arg;
  size_t pos = 0;
  alpn_seen[0] = '\0';
  for (unsigned i = 0; i < inlen && pos + 1 < sizeof(alpn_seen);) {
    unsigned n = in[i++];
    for (unsigned j = 0; j < n && i < inlen && pos + 2 < sizeof(alpn_seen); j++) {
      alpn_seen[pos++] = (char)in[i++];
    }
    alpn_seen[pos++] = ',';
    alpn_seen[pos] = '\0';
  }
  if (inlen < 1 || in[0] + 1u > inlen) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = in + 1; /* select the first offered */
  *outlen = in[0];
  return SSL_TLSEXT_ERR_OK;
}

typedef struct {
  int max_version;   /* 0: any */
  int need_cli_cert; /* require a client certificate from `ca` */
} srv_opts_t;

static SSL_CTX *srv_ctx(srv_kind_t kind, srv_opts_t o) {
  SSL_CTX *sc = SSL_CTX_new(TLS_server_method());
  if (sc != NULL && kind == SRV_SHA1) {
    SSL_CTX_set_security_level(sc, 0); /* OpenSSL 3 refuses to serve a SHA-1 signed cert */
  }
  if (sc == NULL || SSL_CTX_use_certificate(sc, srv_certs[kind]) != 1 ||
      SSL_CTX_use_PrivateKey(sc, srv_key) != 1) {
    die("server SSL_CTX");
  }
  if (o.max_version != 0) {
    SSL_CTX_set_max_proto_version(sc, o.max_version);
  }
  if (o.need_cli_cert) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(sc), ca);
    SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  SSL_CTX_set_alpn_select_cb(sc, on_alpn, NULL);
  return sc;
}

typedef struct {
  tls_conn_t *c;
  SSL *s;
  BIO *s_in, *s_out;
  buf_t cplain;  /* plaintext the client decrypted */
  buf_t splain;  /* plaintext the server decrypted */
  buf_t c2s;     /* every ciphertext byte the client emitted */
  size_t chunk;  /* feed the client this many bytes at a time */
  int crc;       /* first non-zero result of tls_conn_feed */
  int s_failed;  /* the server hit a fatal error */
  int s_closed;  /* the server received close_notify */
  int corrupt;   /* flip one byte of the next server output */
} pair_t;

static void pair_open(pair_t *p, tls_ctx_t *cctx, SSL_CTX *sc, size_t chunk) {
  memset(p, 0, sizeof(*p));
  buf_init(&p->cplain);
  buf_init(&p->splain);
  buf_init(&p->c2s);
  p->chunk = chunk > 0 ? chunk : SIZE_MAX;
  if (tls_conn_new(cctx, &p->c) != 0) {
    die("tls_conn_new");
  }
  p->s = SSL_new(sc);
  p->s_in = BIO_new(BIO_s_mem());
  p->s_out = BIO_new(BIO_s_mem());
  if (p->s == NULL || p->s_in == NULL || p->s_out == NULL) {
    die("server SSL");
  }
  BIO_set_mem_eof_return(p->s_in, -1);
  BIO_set_mem_eof_return(p->s_out, -1);
  SSL_set_bio(p->s, p->s_in, p->s_out);
  SSL_set_accept_state(p->s);
}

static void pair_close(pair_t *p) {
  tls_conn_free(p->c);
  SSL_free(p->s);
  buf_destroy(&p->cplain);
  buf_destroy(&p->splain);
  buf_destroy(&p->c2s);
}

/* The server reads whatever it can (which also drives its handshake). */
static void srv_step(pair_t *p) {
  while (!p->s_failed && !p->s_closed) {
    uint8_t tmp[4096];
    size_t got = 0;
    int r = SSL_read_ex(p->s, tmp, sizeof(tmp), &got);
    if (r == 1) {
      buf_append(&p->splain, tmp, got);
      continue;
    }
    int e = SSL_get_error(p->s, r);
    if (e == SSL_ERROR_ZERO_RETURN) {
      p->s_closed = 1;
    } else if (e != SSL_ERROR_WANT_READ) {
      p->s_failed = 1;
    }
    ERR_clear_error();
    return;
  }
}

static void srv_write(pair_t *p, const void *data, size_t n) {
  size_t w = 0;
  if (SSL_write_ex(p->s, data, n, &w) != 1 || w != n) {
    die("server SSL_write_ex");
  }
}

/* Moves bytes both ways until neither side produces any. */
static void pair_pump(pair_t *p) {
  for (int round = 0; round < 10000; round++) {
    int moved = 0;
    buf_t out;
    buf_init(&out);
    if (tls_conn_take_output(p->c, &out) != 0) {
      die("tls_conn_take_output");
    }
    if (buf_size(&out) > 0) {
      buf_append(&p->c2s, buf_begin(&out), buf_size(&out));
      BIO_write(p->s_in, buf_begin(&out), (int)buf_size(&out));
      moved = 1;
    }
    buf_destroy(&out);
    srv_step(p);
    size_t n = BIO_ctrl_pending(p->s_out);
    if (n > 0) {
      uint8_t *tmp = malloc(n);
      if (tmp == NULL || BIO_read(p->s_out, tmp, (int)n) != (int)n) {
        die("server output");
      }
      if (p->corrupt) {
        tmp[n - 1] ^= 0x55; /* inside the last record's body or tag */
        p->corrupt = 0;
      }
      for (size_t off = 0; off < n;) {
        size_t k = n - off < p->chunk ? n - off : p->chunk;
        uint8_t *piece = exact(tmp + off, k);
        int rc = tls_conn_feed(p->c, piece, k, &p->cplain);
        free(piece);
        if (rc != 0 && p->crc == 0) {
          p->crc = rc;
        }
        off += k;
      }
      free(tmp);
      moved = 1;
    }
    if (!moved) {
      return;
    }
  }
  die("pump did not settle");
}

/* ---- client contexts ------------------------------------------------------------------------- */

typedef struct {
  int verify_peer, verify_host;
  const char *ca, *cert, *key, *name, *alpn, *min_version;
} copts_t;

#define VERIFY_FULL(n) ((copts_t){1, 1, ca_pem, NULL, NULL, (n), NULL, NULL})
#define VERIFY_CA(n) ((copts_t){1, 0, ca_pem, NULL, NULL, (n), NULL, NULL})
#define REQUIRE(n) ((copts_t){0, 0, NULL, NULL, NULL, (n), NULL, NULL})

static char *dup_or_null(const char *s) {
  return s != NULL ? base_strdup(s) : NULL;
}

static int mk_client(copts_t o, tls_ctx_t **out, char *err, size_t errlen) {
  tls_config_t cfg;
  tls_config_init(&cfg);
  cfg.verify_peer = o.verify_peer;
  cfg.verify_host = o.verify_host;
  cfg.ca_pem = dup_or_null(o.ca);
  cfg.cert_pem = dup_or_null(o.cert);
  cfg.key_pem = dup_or_null(o.key);
  cfg.servername = dup_or_null(o.name);
  cfg.alpn = dup_or_null(o.alpn);
  cfg.min_version = o.min_version;
  int rc = tls_ctx_new(&cfg, out, err, errlen);
  tls_config_destroy(&cfg);
  return rc;
}

static const char STARTUP[] = "STARTUP-SECRET: user=app password=hunter2";

/* Connects with `o` to a server of `kind`. want == 0: the handshake must finish and the startup
 * bytes written before it must reach the server. want < 0: the client must fail with `want` and a
 * message containing `want_msg`, having sent none of those bytes. */
static void expect_connect(const char *name, copts_t o, srv_kind_t kind, srv_opts_t so, int want,
                           const char *want_msg) {
  char label[200];
  char err[256];
  tls_ctx_t *ctx = NULL;
  int rc = mk_client(o, &ctx, err, sizeof(err));
  snprintf(label, sizeof(label), "%s: context", name);
  CHECK_EQ_INT(rc, 0, label);
  if (rc != 0) {
    printf("#   %s\n", err);
    return;
  }
  SSL_CTX *sc = srv_ctx(kind, so);
  pair_t p;
  pair_open(&p, ctx, sc, 0);
  CHECK_EQ_INT(tls_conn_write(p.c, (const uint8_t *)STARTUP, strlen(STARTUP)), 0,
               "startup written before the handshake is held back");
  CHECK_EQ_INT(tls_conn_start(p.c), 0, "tls_conn_start");
  pair_pump(&p);
  if (want == 0) {
    snprintf(label, sizeof(label), "%s: accepted", name);
    CHECK(p.crc == 0 && tls_conn_handshake_done(p.c) && !p.s_failed, label);
    if (p.crc != 0) {
      printf("#   %s: %s\n", base_err_name(p.crc), tls_conn_error(p.c));
    }
    snprintf(label, sizeof(label), "%s: held-back bytes delivered after the handshake", name);
    CHECK(buf_eq(&p.splain, STARTUP, strlen(STARTUP)), label);
  } else {
    snprintf(label, sizeof(label), "%s: refused", name);
    CHECK_EQ_INT(p.crc, want, label);
    snprintf(label, sizeof(label), "%s: message", name);
    CHECK_HAS(tls_conn_error(p.c), want_msg, label);
    printf("#   %s -> %s\n", name, tls_conn_error(p.c));
    snprintf(label, sizeof(label), "%s: no handshake, no plaintext, no secret on the wire", name);
    CHECK(!tls_conn_handshake_done(p.c) && buf_size(&p.splain) == 0 && !buf_has(&p.c2s, "SECRET"),
          label);
    snprintf(label, sizeof(label), "%s: error sticks", name);
    CHECK_EQ_INT(tls_conn_write(p.c, (const uint8_t *)"x", 1), want, label);
  }
  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static const srv_opts_t SRV_DEFAULT = {0, 0};

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_roundtrip(size_t chunk, const char *label) {
  char name[160];
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "verify-full ctx");
  SSL_CTX *sc = srv_ctx(SRV_GOOD, SRV_DEFAULT);
  pair_t p;
  pair_open(&p, ctx, sc, chunk);
  CHECK(!tls_conn_handshake_done(p.c) && strcmp(tls_conn_version(p.c), "") == 0,
        "not done before start; no version yet");
  CHECK_EQ_INT(tls_conn_start(p.c), 0, "start");
  pair_pump(&p);
  snprintf(name, sizeof(name), "%s: handshake done", label);
  CHECK(p.crc == 0 && tls_conn_handshake_done(p.c), name);
  snprintf(name, sizeof(name), "%s: TLSv1.3 negotiated", label);
  CHECK(strcmp(tls_conn_version(p.c), "TLSv1.3") == 0, name);
  const char *sni = SSL_get_servername(p.s, TLSEXT_NAMETYPE_host_name);
  snprintf(name, sizeof(name), "%s: SNI localhost sent", label);
  CHECK(sni != NULL && strcmp(sni, "localhost") == 0, name);

  /* client -> server, small and large (several records) */
  CHECK_EQ_INT(tls_conn_write(p.c, (const uint8_t *)"ping", 4), 0, "write ping");
  pair_pump(&p);
  snprintf(name, sizeof(name), "%s: client to server", label);
  CHECK(buf_eq(&p.splain, "ping", 4), name);
  buf_clear(&p.splain);
  size_t big_n = 100000;
  uint8_t *big = malloc(big_n);
  for (size_t i = 0; i < big_n; i++) {
    big[i] = (uint8_t)(i * 7 + (i >> 8));
  }
  CHECK_EQ_INT(tls_conn_write(p.c, big, big_n), 0, "write 100 kB");
  pair_pump(&p);
  snprintf(name, sizeof(name), "%s: 100 kB client to server", label);
  CHECK(buf_eq(&p.splain, big, big_n), name);

  /* server -> client */
  srv_write(&p, "pong", 4);
  pair_pump(&p);
  snprintf(name, sizeof(name), "%s: server to client", label);
  CHECK(p.crc == 0 && buf_eq(&p.cplain, "pong", 4), name);
  buf_clear(&p.cplain);
  srv_write(&p, big, big_n);
  pair_pump(&p);
  snprintf(name, sizeof(name), "%s: 100 kB server to client", label);
  CHECK(p.crc == 0 && buf_eq(&p.cplain, big, big_n), name);
  free(big);

  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static void test_verify_matrix(void) {
  const int OK = 0;
  /* verify-full */
  expect_connect("verify-full localhost", VERIFY_FULL("localhost"), SRV_GOOD, SRV_DEFAULT, OK, "");
  expect_connect("verify-full 127.0.0.1", VERIFY_FULL("127.0.0.1"), SRV_GOOD, SRV_DEFAULT, OK, "");
  expect_connect("verify-full ::1", VERIFY_FULL("::1"), SRV_GOOD, SRV_DEFAULT, OK, "");
  expect_connect("verify-full wrong name", VERIFY_FULL("wrong.example"), SRV_GOOD, SRV_DEFAULT,
                 DB_ETLSVERIFY, "hostname mismatch (expected \"wrong.example\")");
  expect_connect("verify-full cert for another host", VERIFY_FULL("localhost"), SRV_WRONG,
                 SRV_DEFAULT, DB_ETLSVERIFY, "hostname mismatch");
  expect_connect("verify-full wrong IP", VERIFY_FULL("127.0.0.2"), SRV_GOOD, SRV_DEFAULT,
                 DB_ETLSVERIFY, "IP address mismatch");
  expect_connect("verify-full IP not matched by CN/DNS", VERIFY_FULL("10.0.0.1"), SRV_CN_ONLY,
                 SRV_DEFAULT, DB_ETLSVERIFY, "IP address mismatch");
  expect_connect("verify-full CN used without SAN", VERIFY_FULL("localhost"), SRV_CN_ONLY,
                 SRV_DEFAULT, OK, "");
  expect_connect("verify-full CN ignored when SAN has DNS", VERIFY_FULL("localhost"), SRV_CN_SAN,
                 SRV_DEFAULT, DB_ETLSVERIFY, "hostname mismatch");
  expect_connect("verify-full no partial wildcards", VERIFY_FULL("foo.example.com"), SRV_PARTIAL,
                 SRV_DEFAULT, DB_ETLSVERIFY, "hostname mismatch");
  expect_connect("verify-full expired", VERIFY_FULL("localhost"), SRV_EXPIRED, SRV_DEFAULT,
                 DB_ETLSVERIFY, "certificate has expired");
  expect_connect("verify-full self-signed", VERIFY_FULL("localhost"), SRV_SELF, SRV_DEFAULT,
                 DB_ETLSVERIFY, "self-signed certificate");

  /* verify-ca: chain and dates, not the name */
  expect_connect("verify-ca wrong name", VERIFY_CA("wrong.example"), SRV_GOOD, SRV_DEFAULT, OK,
                 "");
  expect_connect("verify-ca cert for another host", VERIFY_CA("localhost"), SRV_WRONG, SRV_DEFAULT,
                 OK, "");
  expect_connect("verify-ca no name", VERIFY_CA(NULL), SRV_GOOD, SRV_DEFAULT, OK, "");
  expect_connect("verify-ca other CA", VERIFY_CA("localhost"), SRV_OTHER_CA, SRV_DEFAULT,
                 DB_ETLSVERIFY, "unable to get local issuer certificate");
  expect_connect("verify-ca self-signed", VERIFY_CA("localhost"), SRV_SELF, SRV_DEFAULT,
                 DB_ETLSVERIFY, "self-signed certificate");
  expect_connect("verify-ca expired", VERIFY_CA("localhost"), SRV_EXPIRED, SRV_DEFAULT,
                 DB_ETLSVERIFY, "certificate has expired");
  copts_t trust_other = VERIFY_CA("localhost");
  trust_other.ca = other_ca_pem;
  expect_connect("verify-ca trusting only the other CA", trust_other, SRV_GOOD, SRV_DEFAULT,
                 DB_ETLSVERIFY, "unable to get local issuer certificate");
  copts_t both = VERIFY_CA("localhost");
  char *bundle = malloc(strlen(ca_pem) + strlen(other_ca_pem) + 1);
  strcpy(bundle, other_ca_pem);
  strcat(bundle, ca_pem);
  both.ca = bundle;
  expect_connect("verify-ca with a two-CA bundle", both, SRV_GOOD, SRV_DEFAULT, OK, "");
  expect_connect("verify-ca two-CA bundle, other CA", both, SRV_OTHER_CA, SRV_DEFAULT, OK, "");
  free(bundle);
  copts_t system = VERIFY_FULL("localhost");
  system.ca = NULL;
  expect_connect("verify-full with the system store refuses our CA", system, SRV_GOOD,
                 SRV_DEFAULT, DB_ETLSVERIFY, "unable to get local issuer certificate");

  /* require: encryption only */
  expect_connect("require self-signed", REQUIRE("localhost"), SRV_SELF, SRV_DEFAULT, OK, "");
  expect_connect("require expired", REQUIRE("localhost"), SRV_EXPIRED, SRV_DEFAULT, OK, "");
  expect_connect("require other CA, wrong name", REQUIRE("nope.example"), SRV_OTHER_CA,
                 SRV_DEFAULT, OK, "");
  expect_connect("require no name", REQUIRE(NULL), SRV_WRONG, SRV_DEFAULT, OK, "");
}

static void test_sni_ip(void) {
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(VERIFY_FULL("127.0.0.1"), &ctx, err, sizeof(err)), 0, "ip ctx");
  SSL_CTX *sc = srv_ctx(SRV_GOOD, SRV_DEFAULT);
  pair_t p;
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(tls_conn_handshake_done(p.c), "ip: handshake done");
  CHECK(SSL_get_servername(p.s, TLSEXT_NAMETYPE_host_name) == NULL, "ip: no SNI for 127.0.0.1");
  pair_close(&p);
  tls_ctx_free(ctx);
  CHECK_EQ_INT(mk_client(VERIFY_FULL("::1"), &ctx, err, sizeof(err)), 0, "ipv6 ctx");
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(tls_conn_handshake_done(p.c), "ipv6: handshake done");
  CHECK(SSL_get_servername(p.s, TLSEXT_NAMETYPE_host_name) == NULL, "ipv6: no SNI for ::1");
  pair_close(&p);
  tls_ctx_free(ctx);
  SSL_CTX_free(sc);
}

static void test_versions_alpn(void) {
  tls_ctx_t *ctx = NULL;
  char err[256];
  srv_opts_t tls12 = {TLS1_2_VERSION, 0};
  expect_connect("TLS 1.2 server accepted by default", VERIFY_FULL("localhost"), SRV_GOOD, tls12, 0,
                 "");
  copts_t min13 = VERIFY_FULL("localhost");
  min13.min_version = "TLSv1.3";
  expect_connect("min_version TLSv1.3 refuses a TLS 1.2 server", min13, SRV_GOOD, tls12, DB_ETLS,
                 "TLS handshake failed");

  /* version string on TLS 1.2 */
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "1.2 ctx");
  SSL_CTX *sc = srv_ctx(SRV_GOOD, tls12);
  pair_t p;
  pair_open(&p, ctx, sc, 1);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(strcmp(tls_conn_version(p.c), "TLSv1.2") == 0, "TLSv1.2 reported (byte at a time)");
  srv_write(&p, "twelve", 6);
  pair_pump(&p);
  CHECK(buf_eq(&p.cplain, "twelve", 6), "TLS 1.2 data byte at a time");
  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);

  /* ALPN */
  copts_t a = VERIFY_FULL("localhost");
  a.alpn = "postgresql";
  CHECK_EQ_INT(mk_client(a, &ctx, err, sizeof(err)), 0, "alpn ctx");
  sc = srv_ctx(SRV_GOOD, SRV_DEFAULT);
  alpn_seen[0] = '\0';
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(tls_conn_handshake_done(p.c) && strcmp(alpn_seen, "postgresql,") == 0,
        "alpn: server saw exactly \"postgresql\"");
  pair_close(&p);
  tls_ctx_free(ctx);
  alpn_seen[0] = '\0';
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "no-alpn ctx");
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(tls_conn_handshake_done(p.c) && alpn_seen[0] == '\0', "alpn: none offered by default");
  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static void test_client_cert(void) {
  srv_opts_t need = {0, 1};
  copts_t with = VERIFY_FULL("localhost");
  with.cert = cli_cert_pem;
  with.key = cli_key_pem;
  expect_connect("client certificate accepted", with, SRV_GOOD, need, 0, "");
  /* TLS 1.3: the client finishes first; the server's "certificate required" alert follows. */
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "no-cert ctx");
  SSL_CTX *sc = srv_ctx(SRV_GOOD, need);
  pair_t p;
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK_EQ_INT(p.crc, DB_ETLS, "missing client certificate: DB_ETLS");
  CHECK_HAS(tls_conn_error(p.c), "certificate required", "missing client certificate: message");
  CHECK(p.s_failed && buf_size(&p.splain) == 0, "missing client certificate: server refused");
  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static void test_config_errors(void) {
  tls_ctx_t *ctx = (tls_ctx_t *)1;
  char err[256];
  copts_t o = VERIFY_FULL("localhost");
  o.ca = "not a certificate";
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "ca without PEM: DB_EARG");
  CHECK(ctx == NULL, "ca without PEM: *out is NULL");
  CHECK_HAS(err, "ca: no PEM certificate found", "ca without PEM: message");
  o.ca = "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n";
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "ca with a broken PEM: DB_EARG");
  CHECK_HAS(err, "ca: invalid PEM certificate", "ca with a broken PEM: message");
  printf("#   %s\n", err);

  o = VERIFY_FULL("localhost");
  o.min_version = "TLSv1.0";
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "min_version TLSv1.0: DB_EARG");
  CHECK_HAS(err, "min_version", "min_version: message");
  o = VERIFY_FULL(NULL);
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "verify_host without a name");
  o = (copts_t){0, 1, NULL, NULL, NULL, "localhost", NULL, NULL};
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "verify_host without verify_peer");
  o = VERIFY_FULL("localhost");
  o.cert = cli_cert_pem;
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "cert without key");
  o.alpn = "";
  o.cert = NULL;
  CHECK_EQ_INT(mk_client(o, &ctx, err, sizeof(err)), DB_EARG, "empty alpn");

  /* A key that does not match the certificate; the key text is wiped either way. */
  EVP_PKEY *k2 = mk_key();
  char *k2_pem = key_pem(k2);
  tls_config_t cfg;
  tls_config_init(&cfg);
  cfg.verify_peer = 1;
  cfg.ca_pem = base_strdup(ca_pem);
  cfg.cert_pem = base_strdup(cli_cert_pem);
  cfg.key_pem = base_strdup(k2_pem);
  CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), DB_EARG, "mismatched key: DB_EARG");
  CHECK_HAS(err, "mismatch", "mismatched key: message");
  CHECK(cfg.key_pem == NULL, "key_pem wiped and freed after a failure");
  tls_config_destroy(&cfg);

  tls_config_init(&cfg);
  cfg.cert_pem = base_strdup(cli_cert_pem);
  cfg.key_pem = base_strdup("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), DB_EARG, "broken key: DB_EARG");
  CHECK(strstr(err, "AAAA") == NULL, "broken key: message does not echo the key");
  tls_config_destroy(&cfg);

  /* An encrypted key is refused without prompting on a terminal. */
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, cli_key, EVP_aes_128_cbc(), (const unsigned char *)"pw", 2, NULL,
                           NULL);
  tls_config_init(&cfg);
  cfg.cert_pem = base_strdup(cli_cert_pem);
  cfg.key_pem = bio_to_str(bio);
  CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), DB_EARG, "encrypted key: DB_EARG");
  CHECK_HAS(err, "encrypted", "encrypted key: message");
  tls_config_destroy(&cfg);

  tls_config_init(&cfg);
  cfg.cert_pem = base_strdup(cli_cert_pem);
  cfg.key_pem = base_strdup(cli_key_pem);
  CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), 0, "matching key: ok");
  CHECK(cfg.key_pem == NULL, "key_pem wiped and freed after loading");
  tls_config_destroy(&cfg);
  tls_config_destroy(&cfg); /* twice is fine */
  tls_ctx_free(ctx);
  free(k2_pem);
  EVP_PKEY_free(k2);
}

static void test_garbage(size_t chunk, const char *label) {
  char name[160];
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(REQUIRE("localhost"), &ctx, err, sizeof(err)), 0, "garbage ctx");
  tls_conn_t *c = NULL;
  CHECK_EQ_INT(tls_conn_new(ctx, &c), 0, "garbage conn");
  buf_t out, plain;
  buf_init(&out);
  buf_init(&plain);
  tls_conn_write(c, (const uint8_t *)STARTUP, strlen(STARTUP));
  CHECK_EQ_INT(tls_conn_start(c), 0, "garbage: start");
  CHECK_EQ_INT(tls_conn_take_output(c, &out), 0, "garbage: take ClientHello");
  CHECK(buf_size(&out) > 5 && buf_begin(&out)[0] == 0x16, "garbage: a handshake record");
  buf_clear(&out);
  static const char resp[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  int rc = 0;
  for (size_t off = 0; off < sizeof(resp) - 1 && rc == 0; off += chunk) {
    size_t k = sizeof(resp) - 1 - off < chunk ? sizeof(resp) - 1 - off : chunk;
    uint8_t *piece = exact(resp + off, k);
    rc = tls_conn_feed(c, piece, k, &plain);
    free(piece);
  }
  snprintf(name, sizeof(name), "%s: DB_ETLS", label);
  CHECK_EQ_INT(rc, DB_ETLS, name);
  snprintf(name, sizeof(name), "%s: message", label);
  CHECK_HAS(tls_conn_error(c), "TLS handshake failed: ", name);
  printf("#   %s\n", tls_conn_error(c));
  CHECK(buf_size(&plain) == 0, "garbage: no plaintext");
  CHECK_EQ_INT(tls_conn_feed(c, (const uint8_t *)"x", 1, &plain), DB_ETLS, "garbage: sticks");
  CHECK_EQ_INT(tls_conn_take_output(c, &out), 0, "garbage: output (the alert) still taken");
  CHECK(!buf_has(&out, "SECRET"), "garbage: held-back bytes never sent");
  CHECK_EQ_INT(tls_conn_shutdown(c), DB_ETLS, "garbage: shutdown returns the error");
  CHECK(!tls_conn_handshake_done(c), "garbage: not done");
  buf_destroy(&out);
  buf_destroy(&plain);
  tls_conn_free(c);
  tls_ctx_free(ctx);
}

static void test_corrupt_record(void) {
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "corrupt ctx");
  SSL_CTX *sc = srv_ctx(SRV_GOOD, SRV_DEFAULT);
  pair_t p;
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(tls_conn_handshake_done(p.c), "corrupt: handshake done");
  srv_write(&p, "tampered", 8);
  p.corrupt = 1;
  pair_pump(&p);
  CHECK_EQ_INT(p.crc, DB_ETLS, "tampered record: DB_ETLS");
  CHECK(buf_size(&p.cplain) == 0, "tampered record: no plaintext");
  printf("#   %s\n", tls_conn_error(p.c));
  CHECK(!tls_conn_handshake_done(p.c), "tampered record: failed, not done");
  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static void sha_der(X509 *x, const EVP_MD *md, uint8_t *out, unsigned *n) {
  unsigned char *der = NULL;
  int len = i2d_X509(x, &der);
  if (len <= 0 || EVP_Digest(der, (size_t)len, out, n, md, NULL) != 1) {
    die("digest of DER");
  }
  OPENSSL_free(der);
}

static void check_end_point(srv_kind_t kind, const EVP_MD *want_md, const char *label) {
  char name[160];
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(REQUIRE("localhost"), &ctx, err, sizeof(err)), 0, "end-point ctx");
  SSL_CTX *sc = srv_ctx(kind, SRV_DEFAULT);
  pair_t p;
  pair_open(&p, ctx, sc, 0);
  uint8_t got[TLS_END_POINT_MAX];
  size_t got_n = 99;
  CHECK_EQ_INT(tls_conn_server_end_point(p.c, got, sizeof(got), &got_n), DB_ESTATE,
               "end-point before the handshake: DB_ESTATE");
  CHECK(got_n == 0, "end-point: len 0 on error");
  tls_conn_start(p.c);
  pair_pump(&p);
  snprintf(name, sizeof(name), "%s: handshake done", label);
  CHECK(tls_conn_handshake_done(p.c), name);
  uint8_t want[EVP_MAX_MD_SIZE];
  unsigned want_n = 0;
  sha_der(srv_certs[kind], want_md, want, &want_n);
  int rc = tls_conn_server_end_point(p.c, got, sizeof(got), &got_n);
  snprintf(name, sizeof(name), "%s: equals the hash of the DER", label);
  CHECK(rc == 0 && got_n == want_n && memcmp(got, want, want_n) == 0, name);
  CHECK_EQ_INT(tls_conn_server_end_point(p.c, got, want_n - 1, &got_n), DB_ETOOBIG,
               "end-point: small buffer is DB_ETOOBIG");
  pair_close(&p);
  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static void test_shutdown(void) {
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "shutdown ctx");
  SSL_CTX *sc = srv_ctx(SRV_GOOD, SRV_DEFAULT);
  pair_t p;

  /* client closes first */
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK_EQ_INT(tls_conn_shutdown(p.c), 0, "client shutdown");
  CHECK_EQ_INT(tls_conn_shutdown(p.c), 0, "client shutdown again: no-op");
  CHECK_EQ_INT(tls_conn_write(p.c, (const uint8_t *)"x", 1), DB_ECLOSED, "write after shutdown");
  srv_write(&p, "late", 4); /* the server may still send before it sees our close_notify */
  pair_pump(&p);
  CHECK(p.s_closed, "server received close_notify");
  CHECK(buf_eq(&p.cplain, "late", 4), "client still decrypts after its own shutdown");
  CHECK_EQ_INT(SSL_shutdown(p.s), 1, "server answers close_notify");
  pair_pump(&p);
  CHECK_EQ_INT(p.crc, TLS_PEER_CLOSED, "client sees the server's close_notify");
  CHECK(tls_conn_handshake_done(p.c), "still reports a finished handshake");
  pair_close(&p);

  /* server closes first */
  pair_open(&p, ctx, sc, 0);
  tls_conn_start(p.c);
  pair_pump(&p);
  srv_write(&p, "bye", 3);
  SSL_shutdown(p.s);
  pair_pump(&p);
  CHECK_EQ_INT(p.crc, TLS_PEER_CLOSED, "peer close_notify: TLS_PEER_CLOSED");
  CHECK(buf_eq(&p.cplain, "bye", 3), "data before close_notify delivered");
  CHECK_EQ_INT(tls_conn_feed(p.c, (const uint8_t *)"zz", 2, &p.cplain), TLS_PEER_CLOSED,
               "bytes after close_notify ignored");
  CHECK_EQ_INT(tls_conn_write(p.c, (const uint8_t *)"x", 1), DB_ECLOSED, "write after peer close");
  CHECK_EQ_INT(tls_conn_shutdown(p.c), 0, "client answers with its close_notify");
  pair_pump(&p);
  CHECK(p.s_closed, "server received the answer");
  pair_close(&p);

  /* shutdown before the handshake ends: nothing sent, held-back bytes dropped */
  pair_open(&p, ctx, sc, 0);
  tls_conn_write(p.c, (const uint8_t *)STARTUP, strlen(STARTUP));
  tls_conn_start(p.c);
  buf_t out;
  buf_init(&out);
  tls_conn_take_output(p.c, &out);
  size_t hello = buf_size(&out);
  CHECK_EQ_INT(tls_conn_shutdown(p.c), 0, "shutdown mid-handshake");
  tls_conn_take_output(p.c, &out);
  CHECK(buf_size(&out) == hello, "shutdown mid-handshake sends nothing");
  CHECK_EQ_INT(tls_conn_write(p.c, (const uint8_t *)"x", 1), DB_ECLOSED, "write after abort");
  CHECK_EQ_INT(tls_conn_feed(p.c, (const uint8_t *)"x", 1, &p.cplain), DB_ECLOSED,
               "feed after abort");
  CHECK(!tls_conn_handshake_done(p.c), "abort: not done");
  buf_destroy(&out);
  pair_close(&p);

  SSL_CTX_free(sc);
  tls_ctx_free(ctx);
}

static void test_order_and_lifetime(void) {
  tls_ctx_free(NULL);
  tls_conn_free(NULL);
  CHECK(1, "free functions accept NULL");
  tls_ctx_t *ctx = NULL;
  char err[256];
  CHECK_EQ_INT(mk_client(VERIFY_FULL("localhost"), &ctx, err, sizeof(err)), 0, "order ctx");
  tls_conn_t *c = NULL;
  buf_t plain;
  buf_init(&plain);
  CHECK_EQ_INT(tls_conn_new(ctx, &c), 0, "conn");
  CHECK_EQ_INT(tls_conn_feed(c, (const uint8_t *)"x", 1, &plain), DB_ESTATE, "feed before start");
  CHECK_HAS(tls_conn_error(c), "tls_conn_feed called in TLS state INIT", "feed before start: msg");
  tls_conn_free(c);
  CHECK_EQ_INT(tls_conn_new(ctx, &c), 0, "conn 2");
  CHECK_EQ_INT(tls_conn_start(c), 0, "start");
  CHECK_EQ_INT(tls_conn_start(c), DB_ESTATE, "start twice");
  tls_conn_free(c);
  buf_destroy(&plain);

  /* The context may go away while a connection lives. */
  SSL_CTX *sc = srv_ctx(SRV_GOOD, SRV_DEFAULT);
  pair_t p;
  pair_open(&p, ctx, sc, 0);
  tls_ctx_free(ctx);
  tls_conn_start(p.c);
  pair_pump(&p);
  CHECK(tls_conn_handshake_done(p.c), "handshake after tls_ctx_free");
  tls_conn_write(p.c, (const uint8_t *)"still", 5);
  pair_pump(&p);
  CHECK(buf_eq(&p.splain, "still", 5), "data after tls_ctx_free");
  pair_close(&p);
  SSL_CTX_free(sc);
}

int main(void) {
  make_pki();
  test_roundtrip(0, "whole flights");
  test_roundtrip(1, "one byte at a time");
  test_roundtrip(7, "7-byte chunks");
  test_verify_matrix();
  test_sni_ip();
  test_versions_alpn();
  test_client_cert();
  test_config_errors();
  test_garbage(64, "garbage from the server");
  test_garbage(1, "garbage byte at a time");
  test_corrupt_record();
  check_end_point(SRV_GOOD, EVP_sha256(), "end-point ecdsa-with-SHA256");
  check_end_point(SRV_SHA384, EVP_sha384(), "end-point ecdsa-with-SHA384 uses SHA-384");
  check_end_point(SRV_SHA1, EVP_sha256(), "end-point ecdsa-with-SHA1 uses SHA-256");
  test_shutdown();
  test_order_and_lifetime();
  CHECK(strcmp(base_err_name(DB_ETLS), "DB_ETLS") == 0 &&
          strcmp(base_err_name(DB_ETLSVERIFY), "DB_ETLSVERIFY") == 0,
        "error names");
  free_pki();
  return check_summary();
}
