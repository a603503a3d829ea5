/* Fuzz target scram: the SCRAM-SHA-256 client (src/auth/auth_scram.c) with a fixed nonce, fed a
 * fuzzed server-first-message and server-final-message; also the strict base64 decoder it uses.
 *
 * Input layout: byte 0 options (bits 0-1: channel binding none / unoffered "y" /
 * tls-server-end-point "p" with a fixed 32-byte hash / none; bit 2: user name "user" instead of
 * PostgreSQL's empty one; bit 3: password "pencil" else "p,=\xc3\xa9"), then the server-first
 * message, a NUL byte, and the server-final message (without a NUL the whole rest is the
 * server-first and the exchange stops there).
 * Client nonce: "rOprNGfwEbeRWgbNEkqO" (RFC 7677's example), so the RFC vector is a seed.
 *
 * Checks: each step returns 0 or an error code the header lists; once a step fails every later
 * step returns DB_ESTATE and the state is FAILED; success moves through the documented states;
 * the client-final-message echoes the server nonce and never contains the password; the error
 * text never contains the password.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../src/auth/auth_scram.h"
#include "../src/auth/auth_util.h"
#include "../src/base/base_buf.h"
#include "../src/base/base_err.h"
#include "fuzz_util.h"

/* Deterministic randomness (linked with -Wl,--wrap=RAND_bytes) for auth_scram_client_first. */
int __wrap_RAND_bytes(unsigned char *buf, int num);
int __wrap_RAND_bytes(unsigned char *buf, int num) {
  memset(buf, 0, num > 0 ? (size_t)num : 0);
  return 1;
}

static const char NONCE[] = "rOprNGfwEbeRWgbNEkqO";

static int contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0 || k > n) {
    return 0;
  }
  for (size_t i = 0; i + k <= n; i++) {
    if (memcmp(hay + i, needle, k) == 0) {
      return 1;
    }
  }
  return 0;
}

/* `echo`: the server's own bytes contain the password (an "e=" text may quote them). */
static void check_error_text(const auth_scram_t *s, const char *password, int echo) {
  const char *e = auth_scram_error(s);
  FUZZ_CHECK(e != NULL && strlen(e) < sizeof(s->errmsg), "error text");
  FUZZ_CHECK(echo || !contains((const uint8_t *)e, strlen(e), password),
             "password in the error text");
}

static void failed_sticks(auth_scram_t *s) {
  FUZZ_CHECK(s->state == SCRAM_ST_FAILED, "state %d after an error", s->state);
  FUZZ_CHECK(s->err < 0, "err %d after an error", s->err);
  buf_t out;
  buf_init(&out);
  FUZZ_CHECK(auth_scram_client_final(s, (const uint8_t *)"r=x,s=QQ==,i=1", 14, &out) ==
                 DB_ESTATE,
             "client_final after a failure");
  FUZZ_CHECK(auth_scram_verify_final(s, (const uint8_t *)"v=", 2) == DB_ESTATE,
             "verify_final after a failure");
  FUZZ_CHECK(buf_size(&out) == 0, "output after a failure");
  buf_destroy(&out);
}

/* The base64 decoder on its own: a decoded value re-encodes to the same text. */
static void b64_roundtrip(const uint8_t *p, size_t n) {
  uint8_t out[512];
  size_t outlen = 0;
  if (n > 600) {
    return;
  }
  int rc = auth__b64_decode(p, n, out, sizeof(out), &outlen);
  FUZZ_CHECK(rc == 0 || rc == DB_EPROTO || rc == DB_ETOOBIG, "b64_decode: %d", rc);
  if (rc != 0) {
    return;
  }
  FUZZ_CHECK(outlen <= auth__b64_decoded_max(n) && outlen <= sizeof(out), "decoded %zu of %zu",
             outlen, n);
  buf_t re;
  buf_init(&re);
  if (auth__b64_append(&re, out, outlen) == 0) {
    FUZZ_CHECK(buf_size(&re) == n && memcmp(buf_begin(&re), p, n) == 0,
               "base64 is not canonical: decode+encode changed it");
  }
  buf_destroy(&re);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  uint8_t opts = data[0];
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  const uint8_t *nul = memchr(p, 0, n);
  size_t first_n = nul != NULL ? (size_t)(nul - p) : n;
  const uint8_t *final = nul != NULL ? nul + 1 : NULL;
  size_t final_n = nul != NULL ? n - first_n - 1 : 0;

  /* The attribute values, decoded on their own. */
  b64_roundtrip(p, first_n);

  const char *password = (opts & 8) ? "pencil" : "p,=\xc3\xa9";
  static const uint8_t cbind[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  auth_scram_t s;
  buf_t out;
  buf_init(&out);
  int rc = auth_scram_init(&s, password);
  FUZZ_CHECK(rc == 0, "auth_scram_init: %d", rc);
  FUZZ_CHECK(s.state == SCRAM_ST_INIT, "state %d after init", s.state);
  if (opts & 4) {
    rc = auth_scram_set_username(&s, "user");
    FUZZ_CHECK(rc == 0, "auth_scram_set_username: %d", rc);
  }
  switch (opts & 3) {
    case 1:
      rc = auth_scram_set_channel_binding(&s, SCRAM_CBIND_UNOFFERED, NULL, 0);
      break;
    case 2:
      rc = auth_scram_set_channel_binding(&s, SCRAM_CBIND_TLS_SERVER_END_POINT, cbind,
                                          sizeof(cbind));
      break;
    default:
      rc = 0;
      break;
  }
  FUZZ_CHECK(rc == 0, "auth_scram_set_channel_binding: %d", rc);
  /* bit 4: the random nonce path (deterministic here) instead of the fixed test nonce. */
  rc = (opts & 0x10) ? auth_scram_client_first(&s, &out)
                     : auth_scram_client_first_with_nonce(&s, NONCE, &out);
  FUZZ_CHECK(rc == 0, "client_first: %d", rc);
  FUZZ_CHECK(s.state == SCRAM_ST_NONCE_SENT, "state %d after client_first", s.state);
  buf_clear(&out);

  rc = auth_scram_client_final(&s, p, first_n, &out);
  FUZZ_CHECK(rc == 0 || rc == DB_EPROTO || rc == DB_EAUTH, "client_final: %d", rc);
  int echo = contains(p, n, password);
  check_error_text(&s, password, echo);
  if (rc < 0) {
    FUZZ_CHECK(buf_size(&out) == 0, "client_final wrote %zu bytes and failed", buf_size(&out));
    failed_sticks(&s);
  } else {
    FUZZ_CHECK(s.state == SCRAM_ST_PROOF_SENT, "state %d after client_final", s.state);
    FUZZ_CHECK(s.password == NULL, "password kept after the proof");
    const uint8_t *o = buf_begin(&out);
    size_t on = buf_size(&out);
    FUZZ_CHECK(on > 2 && o[0] == 'c' && o[1] == '=', "client-final does not start with c=");
    FUZZ_CHECK(echo || !contains(o, on, password), "password in client-final");
    /* ",r=<the server's whole nonce>,p=" */
    size_t rn = 0;
    while (rn < first_n && p[rn] != ',') {
      rn++;
    }
    FUZZ_CHECK(rn >= 2 && contains(o, on, ",r=") , "no nonce in client-final");
    if (final != NULL) {
      rc = auth_scram_verify_final(&s, final, final_n);
      FUZZ_CHECK(rc == 0 || rc == DB_EPROTO || rc == DB_EAUTH, "verify_final: %d", rc);
      check_error_text(&s, password, echo);
      if (rc < 0) {
        failed_sticks(&s);
      } else {
        FUZZ_CHECK(s.state == SCRAM_ST_FINISHED, "state %d after verify_final", s.state);
        FUZZ_CHECK(auth_scram_verify_final(&s, final, final_n) == DB_ESTATE,
                   "verify_final twice");
      }
    }
  }
  buf_destroy(&out);
  auth_scram_destroy(&s);
  auth_scram_destroy(&s); /* documented as safe twice */
  return 0;
}
