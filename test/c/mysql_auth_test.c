/* MySQL auth plugin tests: each answer is checked the way the server checks it (stored hashes,
 * RSA decryption with the private key, Ed25519 verification by OpenSSL), not against our own
 * formula. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "../../src/auth/auth_mysql.h"
#include "../../src/base/base_err.h"
#include "check.h"

static void digest(const EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
                   uint8_t *out) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, NULL);
  EVP_DigestUpdate(ctx, a, an);
  if (bn > 0) {
    EVP_DigestUpdate(ctx, b, bn);
  }
  EVP_DigestFinal_ex(ctx, out, NULL);
  EVP_MD_CTX_free(ctx);
}

static const uint8_t scramble[20] = {0x3a, 0x1f, 0x77, 0x02, 0x41, 0x5b, 0x6c, 0x10, 0x2e, 0x44,
                                     0x09, 0x7f, 0x33, 0x21, 0x55, 0x68, 0x12, 0x4d, 0x2a, 0x01};

/* The server keeps stored = H(H(pw)) and accepts resp when
 * H(resp XOR H(order(scramble, stored))) == stored. */
static int server_accepts(const EVP_MD *md, size_t len, int scramble_first, const char *pw,
                          const uint8_t *resp) {
  uint8_t h1[32], stored[32], mask[32], cand[32], check[32];
  digest(md, pw, strlen(pw), NULL, 0, h1);
  digest(md, h1, len, NULL, 0, stored);
  if (scramble_first) {
    digest(md, scramble, 20, stored, len, mask);
  } else {
    digest(md, stored, len, scramble, 20, mask);
  }
  for (size_t i = 0; i < len; i++) {
    cand[i] = resp[i] ^ mask[i];
  }
  digest(md, cand, len, NULL, 0, check);
  return memcmp(check, stored, len) == 0;
}

static void test_scrambles(void) {
  uint8_t resp[32], other[32];
  CHECK_EQ_INT(auth_my_native("uvsql_secret", scramble, 20, resp), 0, "native: computes");
  CHECK(server_accepts(EVP_sha1(), 20, 1, "uvsql_secret", resp), "native: the server accepts");
  auth_my_native("wrong", scramble, 20, other);
  CHECK(memcmp(other, resp, 20) != 0, "native: another password gives another answer");
  CHECK_EQ_INT(auth_my_sha2("pw", scramble, 20, resp), 0, "sha2: computes");
  CHECK(server_accepts(EVP_sha256(), 32, 0, "pw", resp), "sha2: the server accepts");
  CHECK(!server_accepts(EVP_sha256(), 32, 0, "pw2", resp), "sha2: not for another password");
}

static void test_rsa(void) {
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  CHECK(key != NULL, "rsa: test key generated");
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char *pem = NULL;
  long pem_len = BIO_get_mem_data(bio, &pem);
  buf_t out;
  buf_init(&out);
  int rc = auth_my_rsa_encrypt(pem, (size_t)pem_len, "hunter2", scramble, 20, &out);
  CHECK_EQ_INT(rc, 0, "rsa: encrypts");
  CHECK_EQ_INT(buf_size(&out), 256, "rsa: one 2048-bit block");
  /* Decrypt as the server does: OAEP (SHA-1), then XOR with the scramble. */
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
  uint8_t plain[512];
  size_t plen = sizeof(plain);
  EVP_PKEY_decrypt_init(ctx);
  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
  int drc = EVP_PKEY_decrypt(ctx, plain, &plen, buf_begin(&out), buf_size(&out));
  CHECK(drc == 1, "rsa: the private key decrypts it with OAEP");
  CHECK_EQ_INT(plen, 8, "rsa: password + NUL");
  for (size_t i = 0; i < plen; i++) {
    plain[i] ^= scramble[i % 20];
  }
  CHECK(plen == 8 && memcmp(plain, "hunter2", 8) == 0, "rsa: XOR scramble gives the password");
  EVP_PKEY_CTX_free(ctx);
  buf_clear(&out);
  CHECK_EQ_INT(auth_my_rsa_encrypt("not a key", 9, "x", scramble, 20, &out), DB_EAUTH,
               "rsa: a bad PEM is refused");
  buf_destroy(&out);
  BIO_free(bio);
  EVP_PKEY_free(key);
}

static int ossl_verify(const uint8_t pk[32], const uint8_t *msg, size_t n, const uint8_t sig[64]) {
  EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = k != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
           EVP_DigestVerify(ctx, sig, 64, msg, n) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  return ok;
}

static void test_ed25519(void) {
  uint8_t pk[32], sig[64];
  uint8_t msg[32];
  for (int i = 0; i < 32; i++) {
    msg[i] = (uint8_t)(i * 7 + 1);
  }
  CHECK_EQ_INT(auth_my_ed25519_public("ed_secret", pk), 0, "ed25519: public key derived");
  CHECK_EQ_INT(auth_my_ed25519_sign("ed_secret", msg, 32, sig), 0, "ed25519: signs");
  CHECK(ossl_verify(pk, msg, 32, sig), "ed25519: OpenSSL verifies the signature under A");
  msg[0] ^= 1;
  CHECK(!ossl_verify(pk, msg, 32, sig), "ed25519: a changed message does not verify");
  msg[0] ^= 1;
  uint8_t pk2[32];
  auth_my_ed25519_public("", pk2);
  CHECK(memcmp(pk, pk2, 32) != 0, "ed25519: another password, another key");
  CHECK_EQ_INT(auth_my_ed25519_sign("", msg, 32, sig), 0, "ed25519: empty password signs");
  CHECK(ossl_verify(pk2, msg, 32, sig), "ed25519: and verifies");

  /* With a 32-byte password the MariaDB scheme is standard Ed25519 with that seed (RFC 8032
   * test 1's seed): OpenSSL's own signature must be byte-identical (Ed25519 is deterministic). */
  static const uint8_t seed[32] = {
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
  char pw[33];
  memcpy(pw, seed, 32);
  pw[32] = '\0';
  EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
  uint8_t want_pk[32], want_sig[64];
  size_t l = 32;
  EVP_PKEY_get_raw_public_key(k, want_pk, &l);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t sl = 64;
  EVP_DigestSignInit(ctx, NULL, NULL, NULL, k);
  EVP_DigestSign(ctx, want_sig, &sl, msg, 32);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  auth_my_ed25519_public(pw, pk);
  auth_my_ed25519_sign(pw, msg, 32, sig);
  CHECK(memcmp(pk, want_pk, 32) == 0, "ed25519: RFC 8032 seed gives OpenSSL's public key");
  CHECK(memcmp(sig, want_sig, 64) == 0, "ed25519: and OpenSSL's exact signature");
  static const uint8_t rfc_pk1[4] = {0xd7, 0x5a, 0x98, 0x01};
  CHECK(memcmp(pk, rfc_pk1, 4) == 0, "ed25519: RFC 8032 test 1 public key d75a9801...");
}

int main(void) {
  test_scrambles();
  test_rsa();
  test_ed25519();
  return check_summary();
}
