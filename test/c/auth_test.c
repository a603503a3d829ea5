/* Unit tests for src/auth/: MD5 password hashing, strict base64, and the SCRAM-SHA-256 client.
 *
 * A standalone program: prints TAP-style "ok N - name" / "not ok N - name" lines and exits 1 if
 * any check failed. Built and run by test/unit/c-units.test.js (under ASan/UBSan when available).
 *
 * Server messages are copied into exactly-sized heap blocks before being fed in (see `exact`), so
 * a read past the end of an input is caught by ASan/valgrind: the API takes (pointer, length) and
 * must never rely on a NUL terminator.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/auth/auth_md5.h"
#include "../../src/auth/auth_scram.h"
#include "../../src/auth/auth_util.h"
#include "../../src/base/base_buf.h"
#include "../../src/base/base_err.h"

#include "check.h"

/* Compares a buffer's live bytes with a C string. */
#define CHECK_BUF_STR(b, want, name)                                                       \
  do {                                                                                     \
    const char *w_ = (want);                                                               \
    int ok_ = buf_size(b) == strlen(w_) && memcmp(buf_begin(b), w_, strlen(w_)) == 0;      \
    t_report(ok_, (name), __FILE__, __LINE__);                                             \
    if (!ok_) {                                                                            \
      printf("#   got  \"%.*s\"\n#   want \"%s\"\n", (int)buf_size(b), (const char *)buf_begin(b), \
             w_);                                                                          \
    }                                                                                      \
  } while (0)

/* An exactly-sized heap copy of p[0..n): no NUL, nothing readable after it. Caller frees. */
static uint8_t *exact(const void *p, size_t n) {
  uint8_t *c = malloc(n > 0 ? n : 1);
  if (c == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  if (n > 0) {
    memcpy(c, p, n);
  }
  return c;
}

/* ---- MD5 -------------------------------------------------------------------------------- */

static void test_md5(void) {
  /* Expected values were computed independently of this code:
   *   python3 -c "import hashlib; u=b'postgres'; p=b'pencil'; s=bytes([1,2,3,4]);
   *     print('md5'+hashlib.md5(hashlib.md5(p+u).hexdigest().encode()+s).hexdigest())"
   * and cross-checked with the OpenSSL CLI:
   *   printf 'pencilpostgres' | openssl md5          -> 4c21b325d75177d5e9b9789a50ab0c9c
   *   printf '4c21b325d75177d5e9b9789a50ab0c9c\x01\x02\x03\x04' | openssl md5
   *                                                  -> dba33b405438ce4ca5423846a9bffead */
  static const uint8_t salt1[4] = {1, 2, 3, 4};
  char out[AUTH_MD5_PASSWORD_LEN + 1];
  memset(out, 'X', sizeof(out));
  CHECK_EQ_INT(auth_md5_password("postgres", "pencil", salt1, out), 0, "md5: returns 0");
  CHECK(strcmp(out, "md5dba33b405438ce4ca5423846a9bffead") == 0, "md5: known vector");
  CHECK(strlen(out) == AUTH_MD5_PASSWORD_LEN, "md5: 35 characters plus NUL");

  /* Non-ASCII password and salt bytes >= 0x80 (python, same formula): user "bob", password
   * "p\xc3\xa4 ss" (UTF-8 "pä ss"), salt ff 00 7f 80. */
  static const uint8_t salt2[4] = {0xff, 0x00, 0x7f, 0x80};
  CHECK_EQ_INT(auth_md5_password("bob", "p\xc3\xa4 ss", salt2, out), 0, "md5: utf-8 returns 0");
  CHECK(strcmp(out, "md58acfd9312569ef406252496748414700") == 0, "md5: utf-8 password, high salt");

  /* Empty user and password, zero salt. */
  static const uint8_t salt3[4] = {0, 0, 0, 0};
  CHECK_EQ_INT(auth_md5_password("", "", salt3, out), 0, "md5: empty returns 0");
  CHECK(strcmp(out, "md591b86670dcd47857d222fa05653500aa") == 0, "md5: empty user and password");

  CHECK_EQ_INT(auth_md5_password(NULL, "x", salt1, out), DB_EARG, "md5: NULL user is DB_EARG");
  CHECK(out[0] == '\0', "md5: out is empty after an error");
}

/* ---- base64 ------------------------------------------------------------------------------- */

static void test_b64(void) {
  buf_t b;
  buf_init(&b);
  CHECK_EQ_INT(auth__b64_append(&b, (const uint8_t *)"foobar", 6), 0, "b64: encode ok");
  CHECK_BUF_STR(&b, "Zm9vYmFy", "b64: encode foobar");
  buf_clear(&b);
  CHECK_EQ_INT(auth__b64_append(&b, (const uint8_t *)"fo", 2), 0, "b64: encode fo ok");
  CHECK_BUF_STR(&b, "Zm8=", "b64: encode with padding");

  /* Round trip every length 0..40 and every byte value. */
  int all_ok = 1;
  for (size_t len = 0; len <= 40 && all_ok; len++) {
    uint8_t src[40];
    uint8_t dec[48];
    size_t dlen = 0;
    for (size_t i = 0; i < len; i++) {
      src[i] = (uint8_t)(i * 37 + len * 101 + 0xf0);
    }
    buf_clear(&b);
    all_ok = auth__b64_append(&b, src, len) == 0 && buf_size(&b) == auth__b64_encoded_len(len);
    uint8_t *enc = exact(buf_begin(&b), buf_size(&b));
    all_ok = all_ok && auth__b64_decode(enc, buf_size(&b), dec, sizeof(dec), &dlen) == 0 &&
             dlen == len && memcmp(dec, src, len) == 0;
    free(enc);
  }
  CHECK(all_ok, "b64: round trip of lengths 0..40");
  buf_destroy(&b);

  static const char *const bad[] = {
    "Zm9",       /* length not a multiple of 4 */
    "Zm9v\n",    /* trailing newline (EVP_DecodeBlock accepts it) */
    " Zm9v",     /* leading space (EVP_DecodeBlock accepts it) */
    "Zm9 ",      /* space inside */
    "Zm=v",      /* '=' in the middle */
    "Z===",      /* three '=' */
    "====",      /* only padding */
    "YQ=a",      /* data after '=' */
    "YR==",      /* non-zero bits under the padding (non-canonical "a") */
    "YWJ=",      /* non-zero bits under one '=' */
    "Zm9v-_==",  /* base64url alphabet */
    "Zm9v\0\0\0\0", /* NUL bytes */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t n = (i == sizeof(bad) / sizeof(bad[0]) - 1) ? 8 : strlen(bad[i]);
    uint8_t *in = exact(bad[i], n);
    uint8_t out[16];
    size_t olen = 99;
    char name[64];
    snprintf(name, sizeof(name), "b64: rejects invalid input #%zu", i);
    CHECK_EQ_INT(auth__b64_decode(in, n, out, sizeof(out), &olen), DB_EPROTO, name);
    free(in);
  }
  uint8_t small[5];
  size_t olen = 0;
  CHECK_EQ_INT(auth__b64_decode((const uint8_t *)"Zm9vYmE=", 8, small, sizeof(small), &olen),
               DB_ETOOBIG, "b64: refuses to write past cap");
  uint8_t six[6];
  CHECK_EQ_INT(auth__b64_decode((const uint8_t *)"Zm9vYmE=", 8, six, sizeof(six), &olen), 0,
               "b64: decodes when cap holds the padded groups");
  CHECK(olen == 5 && memcmp(six, "fooba", 5) == 0, "b64: real length excludes padding");
}

/* ---- SCRAM -------------------------------------------------------------------------------- */

/* RFC 7677 §3 test vector. */
#define RFC_PASSWORD "pencil"
#define RFC_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_FIRST \
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL                                 \
  "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* Every rejection test uses this password, and checks it never shows up in an error. */
#define SENTINEL "S3ntinel-Pw-7"

static int feed_final(auth_scram_t *s, const char *msg, size_t n, buf_t *out) {
  uint8_t *in = exact(msg, n);
  int rc = auth_scram_client_final(s, in, n, out);
  free(in);
  return rc;
}

static int feed_verify(auth_scram_t *s, const char *msg, size_t n) {
  uint8_t *in = exact(msg, n);
  int rc = auth_scram_verify_final(s, in, n);
  free(in);
  return rc;
}

static int all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) {
      return 0;
    }
  }
  return 1;
}

static void test_scram_rfc7677(void) {
  auth_scram_t s;
  buf_t out;
  buf_init(&out);
  CHECK_EQ_INT(auth_scram_init(&s, RFC_PASSWORD), 0, "scram rfc7677: init");
  CHECK_EQ_INT(auth_scram_set_username(&s, "user"), 0, "scram rfc7677: set user name");
  CHECK_EQ_INT(auth_scram_client_first_with_nonce(&s, RFC_NONCE, &out), 0,
               "scram rfc7677: client-first");
  CHECK_BUF_STR(&out, "n,,n=user,r=" RFC_NONCE, "scram rfc7677: client-first bytes");
  CHECK(s.state == SCRAM_ST_NONCE_SENT, "scram rfc7677: NONCE_SENT");
  buf_clear(&out);
  CHECK_EQ_INT(feed_final(&s, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out), 0,
               "scram rfc7677: client-final");
  CHECK_BUF_STR(&out, RFC_CLIENT_FINAL, "scram rfc7677: client-final bytes (proof)");
  CHECK(s.state == SCRAM_ST_PROOF_SENT, "scram rfc7677: PROOF_SENT");
  CHECK(s.password == NULL && all_zero(s.salted_password, sizeof(s.salted_password)),
        "scram rfc7677: password and salted password wiped after the proof");
  CHECK_EQ_INT(feed_verify(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), 0,
               "scram rfc7677: server signature verifies");
  CHECK(s.state == SCRAM_ST_FINISHED, "scram rfc7677: FINISHED");
  CHECK(strcmp(auth_scram_error(&s), "") == 0, "scram rfc7677: no error detail");
  auth_scram_destroy(&s);
  buf_destroy(&out);
}

static void test_scram_pg_style(void) {
  /* PostgreSQL sends an empty user name ("n="). Vector computed with an independent Python
   * implementation (hashlib.pbkdf2_hmac + hmac), the same one that reproduces RFC 7677 exactly. */
  static const char sf[] =
    "r=9IZ2O01zb9IgiIZ1WJ/zgpJBjx/oIRLs02gGSHcw1KEty3eY,s=fs3IXBy7U7+IvVjZ,i=4096";
  auth_scram_t s;
  buf_t out;
  buf_init(&out);
  CHECK_EQ_INT(auth_scram_init(&s, "pencil"), 0, "scram pg: init");
  CHECK_EQ_INT(auth_scram_client_first_with_nonce(&s, "9IZ2O01zb9IgiIZ1WJ/zgpJB", &out), 0,
               "scram pg: client-first");
  CHECK_BUF_STR(&out, "n,,n=,r=9IZ2O01zb9IgiIZ1WJ/zgpJB", "scram pg: empty user name");
  buf_clear(&out);
  CHECK_EQ_INT(feed_final(&s, sf, strlen(sf), &out), 0, "scram pg: client-final");
  CHECK_BUF_STR(&out,
                "c=biws,r=9IZ2O01zb9IgiIZ1WJ/zgpJBjx/oIRLs02gGSHcw1KEty3eY,"
                "p=iPoGwimtQz7LY5oLRJHcRyfBimp4ifTDs99EXphn0+0=",
                "scram pg: client-final bytes");
  static const char fin[] = "v=ZjPr29cosRLW1UyKt1+MdubQWY/Xt7aU+LbXRiRm+sc=";
  CHECK_EQ_INT(feed_verify(&s, fin, strlen(fin)), 0, "scram pg: server signature verifies");
  auth_scram_destroy(&s);
  buf_destroy(&out);
}

static int is_b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

static void test_scram_random_nonce(void) {
  auth_scram_t a;
  auth_scram_t b;
  buf_t oa;
  buf_t ob;
  buf_init(&oa);
  buf_init(&ob);
  auth_scram_init(&a, "pw");
  auth_scram_init(&b, "pw");
  CHECK_EQ_INT(auth_scram_client_first(&a, &oa), 0, "scram nonce: client-first a");
  CHECK_EQ_INT(auth_scram_client_first(&b, &ob), 0, "scram nonce: client-first b");
  CHECK(buf_size(&oa) == 8 + AUTH_SCRAM_NONCE_LEN && memcmp(buf_begin(&oa), "n,,n=,r=", 8) == 0,
        "scram nonce: \"n,,n=,r=\" + 24 characters");
  int ok = 1;
  for (size_t i = 8; i < buf_size(&oa); i++) {
    ok = ok && is_b64_char((char)buf_begin(&oa)[i]);
  }
  CHECK(ok, "scram nonce: base64 characters, no padding");
  CHECK(a.nonce_len == AUTH_SCRAM_NONCE_LEN && memcmp(a.nonce, buf_begin(&oa) + 8, 24) == 0,
        "scram nonce: stored nonce is the one sent");
  CHECK(memcmp(buf_begin(&oa), buf_begin(&ob), buf_size(&oa)) != 0,
        "scram nonce: two exchanges get different nonces");
  auth_scram_destroy(&a);
  auth_scram_destroy(&b);
  buf_destroy(&oa);
  buf_destroy(&ob);
}

static void test_scram_username_escape(void) {
  auth_scram_t s;
  buf_t out;
  buf_init(&out);
  auth_scram_init(&s, "pw");
  auth_scram_set_username(&s, "a,b=c");
  auth_scram_client_first_with_nonce(&s, "abc", &out);
  CHECK_BUF_STR(&out, "n,,n=a=2Cb=3Dc,r=abc", "scram: saslname escapes ',' and '='");
  auth_scram_destroy(&s);
  buf_destroy(&out);
}

/* A fresh exchange in NONCE_SENT with the RFC nonce and the sentinel password. */
static void start(auth_scram_t *s, buf_t *out) {
  auth_scram_init(s, SENTINEL);
  auth_scram_client_first_with_nonce(s, RFC_NONCE, out);
  buf_clear(out);
}

static void check_failed(const auth_scram_t *s, const char *name) {
  char n2[160];
  snprintf(n2, sizeof(n2), "%s: FAILED, detail set, no password in it", name);
  const char *e = auth_scram_error(s);
  CHECK(s->state == SCRAM_ST_FAILED && e[0] != '\0' && strstr(e, SENTINEL) == NULL, n2);
}

typedef struct {
  const char *name;
  const char *msg;
  size_t len; /* 0: strlen(msg) */
  int want;
} reject_case_t;

static void test_scram_server_first_rejects(void) {
  /* A well-formed message whose server nonce makes it longer than AUTH_SCRAM_MSG_MAX. */
  static char too_long[AUTH_SCRAM_MSG_MAX + 64];
  {
    size_t pre = strlen("r=" RFC_NONCE);
    memcpy(too_long, "r=" RFC_NONCE, pre);
    memset(too_long + pre, 'x', AUTH_SCRAM_MSG_MAX);
    strcpy(too_long + pre + AUTH_SCRAM_MSG_MAX, ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  }
  static char long_salt[1024];
  {
    size_t k = (size_t)snprintf(long_salt, sizeof(long_salt), "r=" RFC_NONCE "abc,s=");
    for (size_t i = 0; i < 400; i++) { /* 400 chars = 300 bytes > AUTH_SCRAM_SALT_MAX */
      long_salt[k++] = 'A';
    }
    strcpy(long_salt + k, ",i=4096");
  }
  static const char nul_nonce[] = "r=" RFC_NONCE "ab\0cd,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

  const reject_case_t cases[] = {
    {"nonce not prefixed by ours",
     "r=XOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EAUTH},
    {"nonce differs in last client char",
     "r=rOprNGfwEbeRWgbNEkqP%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EAUTH},
    {"nonce equal to ours", "r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0, DB_EAUTH},
    {"nonce shorter than ours", "r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0, DB_EAUTH},
    {"empty nonce", "r=,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0, DB_EAUTH},
    {"iteration count 0", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", 0, DB_EPROTO},
    {"iteration count negative", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1", 0,
     DB_EPROTO},
    {"iteration count with sign", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096", 0,
     DB_EPROTO},
    {"iteration count leading zero", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096", 0,
     DB_EPROTO},
    {"iteration count above limit", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001", 0,
     DB_EPROTO},
    {"iteration count overflow",
     "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999999", 0, DB_EPROTO},
    {"iteration count empty", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=", 0, DB_EPROTO},
    {"iteration count not a number", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x", 0,
     DB_EPROTO},
    {"salt bad base64 length", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", 0,
     DB_EPROTO},
    {"salt bad base64 char", "r=" RFC_NONCE "abc,s=W22Z!J0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EPROTO},
    {"salt with whitespace", "r=" RFC_NONCE "abc,s= W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", 0,
     DB_EPROTO},
    {"salt empty", "r=" RFC_NONCE "abc,s=,i=4096", 0, DB_EPROTO},
    {"salt too long", long_salt, 0, DB_EPROTO},
    {"mandatory extension m=", "m=ext,r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EPROTO},
    {"attribute order s,r,i", "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" RFC_NONCE "abc,i=4096", 0,
     DB_EPROTO},
    {"attribute order r,i,s", "r=" RFC_NONCE "abc,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==", 0,
     DB_EPROTO},
    {"missing i", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==", 0, DB_EPROTO},
    {"missing s", "r=" RFC_NONCE "abc,i=4096", 0, DB_EPROTO},
    {"trailing extension", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1", 0,
     DB_EPROTO},
    {"trailing comma", "r=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,", 0, DB_EPROTO},
    {"upper-case attribute", "R=" RFC_NONCE "abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EPROTO},
    {"nonce with control char", "r=" RFC_NONCE "a\x01" "b,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EPROTO},
    {"nonce with space", "r=" RFC_NONCE "a b,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0, DB_EPROTO},
    {"nonce with DEL", "r=" RFC_NONCE "a\x7f" "b,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EPROTO},
    {"nonce with high byte", "r=" RFC_NONCE "a\xc3\xa4,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 0,
     DB_EPROTO},
    {"nonce with NUL", nul_nonce, sizeof(nul_nonce) - 1, DB_EPROTO},
    {"empty message", "", 0, DB_EPROTO},
    {"too long", too_long, 0, DB_EPROTO},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const reject_case_t *c = &cases[i];
    auth_scram_t s;
    buf_t out;
    buf_init(&out);
    start(&s, &out);
    buf_append(&out, "keep", 4);
    size_t len = c->len ? c->len : strlen(c->msg);
    char name[160];
    snprintf(name, sizeof(name), "server-first rejects %s", c->name);
    int rc = feed_final(&s, c->msg, len, &out);
    CHECK_EQ_INT(rc, c->want, name);
    printf("#   detail: %s\n", auth_scram_error(&s));
    check_failed(&s, name);
    snprintf(name, sizeof(name), "server-first rejects %s: output untouched", c->name);
    CHECK_BUF_STR(&out, "keep", name);
    auth_scram_destroy(&s);
    buf_destroy(&out);
  }
}

/* Every strict prefix of a valid server-first-message, each in an exactly-sized block. Prefixes
 * that end inside the iteration count ("i=4", "i=40", "i=409") are themselves valid messages with
 * a smaller count: SCRAM cannot tell (PostgreSQL's framing gives the exact length), so those must
 * succeed; every other prefix must fail cleanly. */
static void test_scram_truncated_server_first(void) {
  const char *full = RFC_SERVER_FIRST;
  size_t n = strlen(full);
  size_t digits_at = strlen(full) - strlen("4096");
  int all_ok = 1;
  for (size_t len = 0; len < n; len++) {
    auth_scram_t s;
    buf_t out;
    buf_init(&out);
    start(&s, &out);
    int rc = feed_final(&s, full, len, &out);
    int ok = len > digits_at ? (rc == 0 && s.state == SCRAM_ST_PROOF_SENT)
                             : (rc < 0 && s.state == SCRAM_ST_FAILED && buf_size(&out) == 0 &&
                                strstr(auth_scram_error(&s), SENTINEL) == NULL);
    if (!ok) {
      printf("#   truncated server-first at %zu: rc=%d (%s)\n", len, rc, auth_scram_error(&s));
    }
    all_ok = all_ok && ok;
    auth_scram_destroy(&s);
    buf_destroy(&out);
  }
  CHECK(all_ok, "server-first truncated at every length: error, or a valid shorter count");
}

/* An exchange in PROOF_SENT (RFC vector, sentinel password: signatures will not match RFC's). */
static void start_final(auth_scram_t *s, const char *password) {
  buf_t out;
  buf_init(&out);
  auth_scram_init(s, password);
  auth_scram_set_username(s, "user");
  auth_scram_client_first_with_nonce(s, RFC_NONCE, &out);
  feed_final(s, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out);
  buf_destroy(&out);
}

static void test_scram_server_final_rejects(void) {
  const reject_case_t cases[] = {
    {"non-canonical base64", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", 0, DB_EPROTO},
    {"wrong signature (valid base64)", "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 0,
     DB_EAUTH},
    {"server error e=", "e=invalid-proof", 0, DB_EAUTH},
    {"bad base64", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", 0, DB_EPROTO},
    {"short signature", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95A==", 0, DB_EPROTO},
    {"empty verifier", "v=", 0, DB_EPROTO},
    {"trailing extension", RFC_SERVER_FINAL ",x=1", 0, DB_EPROTO},
    {"unknown attribute", "x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 0, DB_EPROTO},
    {"empty message", "", 0, DB_EPROTO},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const reject_case_t *c = &cases[i];
    auth_scram_t s;
    /* The RFC password so that only the case under test can make verification fail. */
    start_final(&s, RFC_PASSWORD);
    char name[160];
    snprintf(name, sizeof(name), "server-final rejects %s", c->name);
    CHECK_EQ_INT(feed_verify(&s, c->msg, c->len ? c->len : strlen(c->msg)), c->want, name);
    printf("#   detail: %s\n", auth_scram_error(&s));
    check_failed(&s, name);
    auth_scram_destroy(&s);
  }

  auth_scram_t s;
  start_final(&s, SENTINEL);
  CHECK(s.state == SCRAM_ST_PROOF_SENT, "server-final: sentinel exchange reaches PROOF_SENT");
  CHECK_EQ_INT(feed_verify(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), DB_EAUTH,
               "server-final: RFC signature fails for another password");
  check_failed(&s, "server-final: wrong password");
  auth_scram_destroy(&s);

  start_final(&s, SENTINEL);
  static const char err[] = "e=other-error\x01\xff";
  CHECK_EQ_INT(feed_verify(&s, err, sizeof(err) - 1), DB_EAUTH, "server-final e= with junk");
  CHECK(strstr(auth_scram_error(&s), "other-error??") != NULL,
        "server-final e=: detail carries the sanitized server error");
  auth_scram_destroy(&s);

  /* Every strict prefix of the valid server-final fails, with no over-read. */
  int all_ok = 1;
  for (size_t len = 0; len < strlen(RFC_SERVER_FINAL); len++) {
    start_final(&s, RFC_PASSWORD);
    int rc = feed_verify(&s, RFC_SERVER_FINAL, len);
    int ok = rc < 0 && s.state == SCRAM_ST_FAILED;
    if (!ok) {
      printf("#   truncated server-final at %zu: rc=%d\n", len, rc);
    }
    all_ok = all_ok && ok;
    auth_scram_destroy(&s);
  }
  CHECK(all_ok, "server-final truncated at every length: error");
}

static void test_scram_order(void) {
  auth_scram_t s;
  buf_t out;
  buf_init(&out);
  uint8_t *sf = exact(RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST));
  size_t sfn = strlen(RFC_SERVER_FIRST);

  auth_scram_init(&s, SENTINEL);
  CHECK_EQ_INT(auth_scram_client_final(&s, sf, sfn, &out), DB_ESTATE,
               "order: client-final before client-first");
  CHECK(s.state == SCRAM_ST_FAILED && buf_size(&out) == 0, "order: -> FAILED, nothing written");
  CHECK(strstr(auth_scram_error(&s), "INIT") != NULL, "order: detail names the state");
  CHECK_EQ_INT(auth_scram_client_first(&s, &out), DB_ESTATE, "order: no restart after FAILED");
  CHECK(strstr(auth_scram_error(&s), "auth_scram_client_final") != NULL,
        "order: first error's detail sticks");
  auth_scram_destroy(&s);

  auth_scram_init(&s, SENTINEL);
  CHECK_EQ_INT(auth_scram_verify_final(&s, (const uint8_t *)"v=", 2), DB_ESTATE,
               "order: verify before anything");
  auth_scram_destroy(&s);

  auth_scram_init(&s, SENTINEL);
  auth_scram_client_first_with_nonce(&s, RFC_NONCE, &out);
  buf_clear(&out);
  CHECK_EQ_INT(auth_scram_client_first(&s, &out), DB_ESTATE, "order: client-first twice");
  CHECK(buf_size(&out) == 0, "order: second client-first writes nothing");
  auth_scram_destroy(&s);

  auth_scram_init(&s, SENTINEL);
  auth_scram_client_first_with_nonce(&s, RFC_NONCE, &out);
  CHECK_EQ_INT(auth_scram_verify_final(&s, (const uint8_t *)"v=", 2), DB_ESTATE,
               "order: verify before client-final");
  CHECK_EQ_INT(auth_scram_set_username(&s, "late"), DB_ESTATE, "order: set user name late");
  auth_scram_destroy(&s);

  auth_scram_init(&s, SENTINEL);
  auth_scram_client_first_with_nonce(&s, RFC_NONCE, &out);
  auth_scram_client_final(&s, sf, sfn, &out);
  CHECK(s.state == SCRAM_ST_PROOF_SENT, "order: PROOF_SENT");
  CHECK_EQ_INT(auth_scram_client_final(&s, sf, sfn, &out), DB_ESTATE, "order: client-final twice");
  auth_scram_destroy(&s);

  start_final(&s, RFC_PASSWORD);
  CHECK_EQ_INT(feed_verify(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), 0, "order: verify");
  CHECK_EQ_INT(feed_verify(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)), DB_ESTATE,
               "order: verify twice");
  CHECK(s.state == SCRAM_ST_FAILED, "order: FINISHED -> FAILED on a repeated step");
  auth_scram_destroy(&s);

  /* After a parse error, retrying with a valid message is refused. */
  start(&s, &out);
  feed_final(&s, "r=bogus,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", 40, &out);
  CHECK_EQ_INT(auth_scram_client_final(&s, sf, sfn, &out), DB_ESTATE,
               "order: no retry after a rejected server-first");
  auth_scram_destroy(&s);

  /* An empty message body may arrive as (NULL, 0). */
  start(&s, &out);
  CHECK_EQ_INT(auth_scram_client_final(&s, NULL, 0, &out), DB_EPROTO,
               "input: (NULL, 0) server-first is DB_EPROTO");
  auth_scram_destroy(&s);
  start_final(&s, RFC_PASSWORD);
  CHECK_EQ_INT(auth_scram_verify_final(&s, NULL, 0), DB_EPROTO,
               "input: (NULL, 0) server-final is DB_EPROTO");
  auth_scram_destroy(&s);

  /* Test nonces are validated. */
  auth_scram_init(&s, SENTINEL);
  CHECK_EQ_INT(auth_scram_client_first_with_nonce(&s, "a,b", &out), DB_EARG, "nonce: ',' refused");
  auth_scram_destroy(&s);
  auth_scram_init(&s, SENTINEL);
  CHECK_EQ_INT(auth_scram_client_first_with_nonce(&s, "", &out), DB_EARG, "nonce: empty refused");
  auth_scram_destroy(&s);

  /* Zeroed, destroyed and double-destroyed structs. */
  memset(&s, 0, sizeof(s));
  CHECK_EQ_INT(auth_scram_client_first(&s, &out), DB_ESTATE, "lifecycle: zeroed struct refused");
  auth_scram_destroy(&s);
  auth_scram_destroy(&s);
  start_final(&s, SENTINEL);
  auth_scram_destroy(&s);
  CHECK(s.state == SCRAM_ST_FAILED && s.password == NULL && s.auth_message.data == NULL &&
          all_zero(s.server_signature, sizeof(s.server_signature)) && s.nonce[0] == '\0',
        "lifecycle: destroy wipes secrets and leaves FAILED");
  auth_scram_destroy(&s);
  CHECK_EQ_INT(auth_scram_client_first(&s, &out), DB_ESTATE, "lifecycle: use after destroy");
  CHECK_EQ_INT(auth_scram_init(&s, NULL), DB_EARG, "lifecycle: NULL password");
  auth_scram_destroy(&s);

  free(sf);
  buf_destroy(&out);
}

int main(void) {
  test_md5();
  test_b64();
  test_scram_rfc7677();
  test_scram_pg_style();
  test_scram_random_nonce();
  test_scram_username_escape();
  test_scram_server_first_rejects();
  test_scram_truncated_server_first();
  test_scram_server_final_rejects();
  test_scram_order();
  return check_summary();
}
