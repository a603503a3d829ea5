#include "auth_util.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../base/base_err.h"

/* Value of a base64 alphabet character, or -1. Explicit ranges: no locale, no table to misread. */
static int b64_value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

int auth__b64_append(buf_t *out, const uint8_t *p, size_t n) {
  if (n == 0) {
    return 0;
  }
  if (n > (size_t)INT_MAX / 4 * 3 - 3) {
    return DB_ETOOBIG;
  }
  size_t enc = auth__b64_encoded_len(n);
  /* EVP_EncodeBlock also writes a NUL after the text: reserve it, then do not count it. */
  int rc = buf_reserve(out, enc + 1);
  if (rc < 0) {
    return rc;
  }
  int w = EVP_EncodeBlock(out->data + out->len, p, (int)n);
  if (w < 0 || (size_t)w != enc) {
    return DB_ENOMEM;
  }
  out->len += enc;
  return 0;
}

int auth__b64_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *outlen) {
  *outlen = 0;
  if (n == 0) {
    return 0;
  }
  if (n % 4 != 0 || n > (size_t)INT_MAX) {
    return DB_EPROTO;
  }
  size_t pad = 0;
  if (in[n - 1] == '=') {
    pad = (in[n - 2] == '=') ? 2 : 1;
  }
  /* Every character before the padding must be in the alphabet. This also rejects what
   * EVP_DecodeBlock would quietly accept: leading/trailing whitespace, '=' in the middle. */
  for (size_t i = 0; i < n - pad; i++) {
    if (b64_value(in[i]) < 0) {
      return DB_EPROTO;
    }
  }
  /* Canonical form: the bits that the padding leaves unused must be zero ("YR==" is not "YQ=="). */
  if (pad == 2 && (b64_value(in[n - 3]) & 0x0f) != 0) {
    return DB_EPROTO;
  }
  if (pad == 1 && (b64_value(in[n - 2]) & 0x03) != 0) {
    return DB_EPROTO;
  }
  size_t full = auth__b64_decoded_max(n);
  /* EVP_DecodeBlock writes whole 3-byte groups, padding included: `out` must hold `full`. */
  if (full > cap) {
    return DB_ETOOBIG;
  }
  int r = EVP_DecodeBlock(out, in, (int)n);
  if (r < 0 || (size_t)r != full) {
    return DB_EPROTO;
  }
  /* The padding decoded to zero bytes at the end of `out`; they are not data. */
  *outlen = full - pad;
  return 0;
}

void auth__wipe(void *p, size_t n) {
  if (p != NULL && n > 0) {
    OPENSSL_cleanse(p, n);
  }
}
