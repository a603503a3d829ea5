/* mysql_native_password, caching_sha2_password and the RSA step of the SHA-256 plugins. */
#include "auth_mysql.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../base/base_err.h"
#include "auth_util.h"

/* One-shot digest of up to two parts. 0 or DB_ENOMEM. */
static int digest2(const EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
                   uint8_t *out) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
           EVP_DigestUpdate(ctx, a, an) == 1 && (bn == 0 || EVP_DigestUpdate(ctx, b, bn) == 1) &&
           EVP_DigestFinal_ex(ctx, out, NULL) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? 0 : DB_ENOMEM;
}

/* Both scramble plugins: H(pw) XOR H(order(scramble, H(H(pw)))), with the scramble first for
 * mysql_native_password (SHA-1) and last for caching_sha2_password (SHA-256). */
static int hash_xor(const EVP_MD *md, size_t len, int scramble_first, const char *password,
                    const uint8_t *scramble, size_t scramble_len, uint8_t *out) {
  uint8_t h1[32], h2[32], h3[32];
  int rc = digest2(md, password, strlen(password), NULL, 0, h1);
  if (rc == 0) {
    rc = digest2(md, h1, len, NULL, 0, h2);
  }
  if (rc == 0) {
    rc = scramble_first ? digest2(md, scramble, scramble_len, h2, len, h3)
                        : digest2(md, h2, len, scramble, scramble_len, h3);
  }
  for (size_t i = 0; rc == 0 && i < len; i++) {
    out[i] = h1[i] ^ h3[i];
  }
  auth__wipe(h1, sizeof(h1));
  auth__wipe(h2, sizeof(h2));
  auth__wipe(h3, sizeof(h3));
  return rc;
}

int auth_my_native(const char *password, const uint8_t *scramble, size_t scramble_len,
                   uint8_t out[AUTH_MY_NATIVE_LEN]) {
  return hash_xor(EVP_sha1(), AUTH_MY_NATIVE_LEN, 1, password, scramble, scramble_len, out);
}

int auth_my_sha2(const char *password, const uint8_t *scramble, size_t scramble_len,
                 uint8_t out[AUTH_MY_SHA2_LEN]) {
  return hash_xor(EVP_sha256(), AUTH_MY_SHA2_LEN, 0, password, scramble, scramble_len, out);
}

int auth_my_rsa_encrypt(const char *pem, size_t pem_len, const char *password,
                        const uint8_t *scramble, size_t scramble_len, buf_t *out) {
  if (pem_len > 64 * 1024 || scramble_len == 0) {
    return DB_EAUTH;
  }
  BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
  if (bio == NULL) {
    return DB_ENOMEM;
  }
  EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return DB_EAUTH;
  }
  int rc = DB_EAUTH;
  size_t n = strlen(password) + 1;
  uint8_t *plain = OPENSSL_malloc(n);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
  size_t outlen = 0;
  if (plain == NULL || ctx == NULL) {
    rc = DB_ENOMEM;
    goto done;
  }
  /* The password with its NUL, XORed with the scramble so the ciphertext is bound to this
   * handshake and cannot be replayed. */
  for (size_t i = 0; i < n; i++) {
    plain[i] = (uint8_t)((i + 1 < n ? (uint8_t)password[i] : 0) ^ scramble[i % scramble_len]);
  }
  if (EVP_PKEY_encrypt_init(ctx) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_encrypt(ctx, NULL, &outlen, plain, n) != 1) {
    goto done; /* e.g. a password longer than the key allows under OAEP */
  }
  rc = buf_reserve(out, outlen);
  if (rc < 0) {
    goto done;
  }
  if (EVP_PKEY_encrypt(ctx, out->data + out->len, &outlen, plain, n) != 1) {
    rc = DB_EAUTH;
    goto done;
  }
  out->len += outlen;
  rc = 0;
done:
  if (plain != NULL) {
    OPENSSL_clear_free(plain, n);
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(key);
  return rc;
}
