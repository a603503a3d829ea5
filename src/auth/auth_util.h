/* Small helpers shared by the files of src/auth/: strict base64 and secret wiping.
 *
 * Pure functions over caller-owned memory: nothing here allocates, keeps state or touches I/O, so
 * they are safe on any thread (in practice everything runs on the loop thread). Inputs are
 * (pointer, length) pairs and are never assumed to be NUL-terminated.
 *
 * Names use the `auth__` prefix: shared between the files of the auth module, not a public API
 * for other modules (style: `uv__`).
 */
#ifndef UVSQL_AUTH_UTIL_H
#define UVSQL_AUTH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"

/* Characters base64 needs for n bytes (with '=' padding, without a NUL). */
static inline size_t auth__b64_encoded_len(size_t n) {
  return ((n + 2) / 3) * 4;
}

/* Upper bound of the decoded size of n base64 characters. */
static inline size_t auth__b64_decoded_max(size_t n) {
  return (n / 4) * 3;
}

/* Appends the standard (RFC 4648 §4, padded) base64 encoding of p[0..n) to out.
 * Returns 0, DB_ENOMEM, or DB_ETOOBIG when n is too large for OpenSSL's int length. */
int auth__b64_append(buf_t *out, const uint8_t *p, size_t n);

/* Decodes canonical, padded base64. Rejects (DB_EPROTO) anything else: a length that is not a
 * multiple of 4, characters outside the alphabet (whitespace included), '=' anywhere but the
 * last one or two positions, and non-zero bits under the padding. Writes at most `cap` bytes;
 * DB_ETOOBIG when the decoded data would not fit. On success *outlen is the real length (the
 * '=' padding already taken off). An empty input decodes to 0 bytes. */
int auth__b64_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/* Zeroes memory in a way the compiler may not drop (OPENSSL_cleanse). Accepts NULL. */
void auth__wipe(void *p, size_t n);

#endif
