#include "auth_md5.h"

#include <string.h>

#include <openssl/evp.h>

#include "../base/base_err.h"
#include "auth_util.h"

#define MD5_LEN 16
#define MD5_HEX_LEN 32

static void md5_hex(const uint8_t digest[MD5_LEN], char out[MD5_HEX_LEN]) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < MD5_LEN; i++) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 0x0f];
  }
}

/* digest = md5(a || b). 0 or DB_ENOMEM / DB_EAUTH. */
static int md5_two(EVP_MD_CTX *ctx, const void *a, size_t an, const void *b, size_t bn,
                   uint8_t digest[MD5_LEN]) {
  unsigned int len = 0;
  if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(ctx, a, an) != 1 ||
      EVP_DigestUpdate(ctx, b, bn) != 1 || EVP_DigestFinal_ex(ctx, digest, &len) != 1 ||
      len != MD5_LEN) {
    return DB_EAUTH;
  }
  return 0;
}

int auth_md5_password(const char *user, const char *password, const uint8_t salt[4],
                      char out[AUTH_MD5_PASSWORD_LEN + 1]) {
  if (out == NULL) {
    return DB_EARG;
  }
  out[0] = '\0';
  if (user == NULL || password == NULL || salt == NULL) {
    return DB_EARG;
  }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) {
    return DB_ENOMEM;
  }
  uint8_t digest[MD5_LEN];
  char inner[MD5_HEX_LEN]; /* hex(md5(password || user)): what the server stores; secret */
  int rc = md5_two(ctx, password, strlen(password), user, strlen(user), digest);
  if (rc == 0) {
    md5_hex(digest, inner);
    rc = md5_two(ctx, inner, sizeof(inner), salt, 4, digest);
  }
  if (rc == 0) {
    memcpy(out, "md5", 3);
    md5_hex(digest, out + 3);
    out[AUTH_MD5_PASSWORD_LEN] = '\0';
  }
  auth__wipe(inner, sizeof(inner));
  auth__wipe(digest, sizeof(digest));
  EVP_MD_CTX_free(ctx); /* also cleanses the digest state */
  return rc;
}
