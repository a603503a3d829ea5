/* PostgreSQL's MD5 password answer (AuthenticationMD5Password, request code 5).
 *
 * Pure bytes -> bytes: no state, no I/O. The caller (the PostgreSQL engine, on the loop thread)
 * owns every buffer; `out` holds a password-derived value and the caller should wipe it once the
 * PasswordMessage has been queued. The intermediate md5(password || user), which is
 * password-equivalent for MD5 auth, never leaves this function and is wiped before return.
 */
#ifndef UVSQL_AUTH_MD5_H
#define UVSQL_AUTH_MD5_H

#include <stdint.h>

#define AUTH_MD5_PASSWORD_LEN 35 /* "md5" + 32 hex chars, not counting the NUL */

/* out = "md5" + hex(md5(hex(md5(password || user)) || salt)) + NUL.
 * Returns 0; DB_ENOMEM or DB_EAUTH when OpenSSL fails (MD5 is unavailable under a FIPS-only
 * configuration); DB_EARG on a NULL argument. On error `out` is the empty string. */
int auth_md5_password(const char *user, const char *password, const uint8_t salt[4],
                      char out[AUTH_MD5_PASSWORD_LEN + 1]);

#endif
