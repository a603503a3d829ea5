/* MySQL / MariaDB authentication plugins, as pure bytes -> bytes functions (OpenSSL inside).
 *
 * The engine (src/mysql/my_conn.c) decides which plugin runs and whether a password may travel
 * in cleartext or under RSA; these functions only compute answers. Nothing here keeps state or
 * touches I/O; every intermediate secret is wiped before returning. Loop thread only in
 * practice, but thread-safe.
 */
#ifndef UVSQL_AUTH_MYSQL_H
#define UVSQL_AUTH_MYSQL_H

#include <stddef.h>
#include <stdint.h>

#include "../base/base_buf.h"

#define AUTH_MY_NATIVE_LEN 20
#define AUTH_MY_SHA2_LEN 32
#define AUTH_MY_ED25519_SIG_LEN 64

/* mysql_native_password: SHA1(pw) XOR SHA1(scramble || SHA1(SHA1(pw))). 0 or DB_ENOMEM. */
int auth_my_native(const char *password, const uint8_t *scramble, size_t scramble_len,
                   uint8_t out[AUTH_MY_NATIVE_LEN]);

/* caching_sha2_password fast-path scramble:
 * SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) || scramble). 0 or DB_ENOMEM. */
int auth_my_sha2(const char *password, const uint8_t *scramble, size_t scramble_len,
                 uint8_t out[AUTH_MY_SHA2_LEN]);

/* caching_sha2_password / sha256_password full authentication without TLS: RSA-OAEP (SHA-1,
 * as the server expects) of (password || NUL) XOR scramble (repeated) under the server's public
 * key `pem` (PEM SubjectPublicKeyInfo). Appends the ciphertext to `out`.
 * 0, DB_EAUTH (the key cannot be read / is not RSA / the password is too long for it),
 * or DB_ENOMEM. */
int auth_my_rsa_encrypt(const char *pem, size_t pem_len, const char *password,
                        const uint8_t *scramble, size_t scramble_len, buf_t *out);

/* MariaDB client_ed25519: the Ed25519 signature of `msg` with the key derived from the
 * password the MariaDB way (az = SHA512(password), clamped; nonce = SHA512(az[32..64] || msg)).
 * 0 or DB_ENOMEM. */
int auth_my_ed25519_sign(const char *password, const uint8_t *msg, size_t msg_len,
                         uint8_t sig[AUTH_MY_ED25519_SIG_LEN]);

/* The public key A = a*B the server stores for `password` (what tests verify against). */
int auth_my_ed25519_public(const char *password, uint8_t pk[32]);

#endif
