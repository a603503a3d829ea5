/* MariaDB client_ed25519: Ed25519 signing over OpenSSL BIGNUM arithmetic.
 *
 * MariaDB derives the private scalar from the password itself (az = SHA512(password), clamped),
 * not from a 32-byte seed, so OpenSSL's Ed25519 (which only takes a seed) cannot sign for it.
 * The curve arithmetic is therefore done here, plainly: affine twisted-Edwards points
 * (-x^2 + y^2 = 1 + d x^2 y^2 over p = 2^255 - 19) with the complete addition law, and
 * double-and-add scalar multiplication. One signature per connection, so clarity wins over
 * speed; the constants d and B are computed from their definitions rather than typed in.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "../base/base_err.h"
#include "auth_mysql.h"
#include "auth_util.h"

typedef struct {
  BIGNUM *x, *y;
} pt_t;

typedef struct {
  BN_CTX *bn;
  BIGNUM *p, *d, *l;
  pt_t base;
} curve_t;

static void curve_free(curve_t *c) {
  BN_free(c->p);
  BN_free(c->d);
  BN_free(c->l);
  BN_free(c->base.x);
  BN_free(c->base.y);
  BN_CTX_free(c->bn);
}

/* p = 2^255 - 19, d = -121665/121666, L = 2^252 + 27742317777372353535851937790883648493,
 * B = the point with y = 4/5 and even x. */
static int curve_init(curve_t *c) {
  memset(c, 0, sizeof(*c));
  c->bn = BN_CTX_new();
  c->p = BN_new();
  c->d = BN_new();
  c->l = BN_new();
  c->base.x = BN_new();
  c->base.y = BN_new();
  BIGNUM *t = BN_new(), *u = BN_new();
  int ok = c->bn != NULL && c->p != NULL && c->d != NULL && c->l != NULL && c->base.x != NULL &&
           c->base.y != NULL && t != NULL && u != NULL;
  ok = ok && BN_set_bit(c->p, 255) && BN_sub_word(c->p, 19);
  ok = ok && BN_set_word(t, 121666) && BN_mod_inverse(u, t, c->p, c->bn) != NULL &&
       BN_set_word(t, 121665) && BN_mod_mul(c->d, t, u, c->p, c->bn) &&
       BN_sub(c->d, c->p, c->d);
  BIGNUM *lt = NULL;
  ok = ok && BN_dec2bn(&lt, "27742317777372353535851937790883648493") && BN_set_bit(c->l, 252) &&
       BN_add(c->l, c->l, lt);
  BN_free(lt);
  /* y = 4/5; x^2 = (y^2 - 1) / (d y^2 + 1) */
  ok = ok && BN_set_word(t, 5) && BN_mod_inverse(u, t, c->p, c->bn) != NULL &&
       BN_set_word(t, 4) && BN_mod_mul(c->base.y, t, u, c->p, c->bn);
  ok = ok && BN_mod_sqr(t, c->base.y, c->p, c->bn) && BN_mod_mul(u, c->d, t, c->p, c->bn) &&
       BN_add_word(u, 1) && BN_sub_word(t, 1) && BN_mod_inverse(u, u, c->p, c->bn) != NULL &&
       BN_mod_mul(t, t, u, c->p, c->bn) && BN_mod_sqrt(c->base.x, t, c->p, c->bn) != NULL;
  if (ok && BN_is_odd(c->base.x)) {
    ok = BN_sub(c->base.x, c->p, c->base.x);
  }
  BN_free(t);
  BN_free(u);
  if (!ok) {
    curve_free(c);
    return DB_ENOMEM;
  }
  return 0;
}

static int pt_new(pt_t *q) {
  q->x = BN_new();
  q->y = BN_new();
  return q->x != NULL && q->y != NULL;
}

static void pt_free(pt_t *q) {
  BN_clear_free(q->x);
  BN_clear_free(q->y);
}

/* r = a + b (complete for Ed25519, so doubling too); r may alias a or b. */
static int pt_add(const curve_t *c, pt_t *r, const pt_t *a, const pt_t *b) {
  BN_CTX_start(c->bn);
  BIGNUM *xx = BN_CTX_get(c->bn), *yy = BN_CTX_get(c->bn), *k = BN_CTX_get(c->bn);
  BIGNUM *xn = BN_CTX_get(c->bn), *t = BN_CTX_get(c->bn), *den = BN_CTX_get(c->bn);
  int ok = den != NULL && BN_mod_mul(xx, a->x, b->x, c->p, c->bn) &&
           BN_mod_mul(yy, a->y, b->y, c->p, c->bn) && BN_mod_mul(k, xx, yy, c->p, c->bn) &&
           BN_mod_mul(k, k, c->d, c->p, c->bn) &&                    /* k = d x1 x2 y1 y2 */
           BN_mod_mul(xn, a->x, b->y, c->p, c->bn) &&
           BN_mod_mul(t, a->y, b->x, c->p, c->bn) && BN_mod_add(xn, xn, t, c->p, c->bn) &&
           BN_mod_add(yy, yy, xx, c->p, c->bn) &&                    /* y1 y2 + x1 x2 */
           BN_one(t) && BN_mod_add(den, t, k, c->p, c->bn) &&
           BN_mod_inverse(den, den, c->p, c->bn) != NULL &&
           BN_mod_mul(r->x, xn, den, c->p, c->bn) &&                 /* x3 = xn / (1 + k) */
           BN_mod_sub(den, t, k, c->p, c->bn) &&
           BN_mod_inverse(den, den, c->p, c->bn) != NULL &&
           BN_mod_mul(r->y, yy, den, c->p, c->bn);                   /* y3 = yn / (1 - k) */
  BN_CTX_end(c->bn);
  return ok;
}

/* r = s * B by double-and-add from the top bit. */
static int pt_mul_base(const curve_t *c, pt_t *r, const BIGNUM *s) {
  BN_zero(r->x);
  int ok = BN_one(r->y);
  for (int i = BN_num_bits(s) - 1; ok && i >= 0; i--) {
    ok = pt_add(c, r, r, r) && (!BN_is_bit_set(s, i) || pt_add(c, r, r, &c->base));
  }
  return ok;
}

/* 32 bytes: y little-endian, the top bit holding the parity of x. */
static int pt_encode(const pt_t *q, uint8_t out[32]) {
  if (BN_bn2lebinpad(q->y, out, 32) != 32) {
    return 0;
  }
  out[31] = (uint8_t)(out[31] | (BN_is_odd(q->x) ? 0x80 : 0));
  return 1;
}

static int sha512(const void *a, size_t an, const void *b, size_t bn, const void *m, size_t mn,
                  uint8_t out[64]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, a, an) == 1 && (bn == 0 || EVP_DigestUpdate(ctx, b, bn) == 1) &&
           (mn == 0 || EVP_DigestUpdate(ctx, m, mn) == 1) &&
           EVP_DigestFinal_ex(ctx, out, NULL) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

/* az = SHA512(password) with the scalar half clamped; a = that half as an integer. */
static int derive(const char *password, uint8_t az[64], BIGNUM *a) {
  if (!sha512(password, strlen(password), NULL, 0, NULL, 0, az)) {
    return 0;
  }
  az[0] &= 248;
  az[31] &= 63;
  az[31] |= 64;
  return BN_lebin2bn(az, 32, a) != NULL;
}

static int sign_or_public(const char *password, const uint8_t *msg, size_t msg_len,
                          uint8_t sig[64], uint8_t pk[32]) {
  curve_t c;
  if (curve_init(&c) < 0) {
    return DB_ENOMEM;
  }
  uint8_t az[64], h[64], enc_r[32], enc_a[32];
  pt_t pa = {NULL, NULL}, pr = {NULL, NULL};
  BIGNUM *a = BN_secure_new(), *nonce = BN_secure_new(), *k = BN_new(), *s = BN_secure_new();
  int ok = a != NULL && nonce != NULL && k != NULL && s != NULL && pt_new(&pa) && pt_new(&pr) &&
           derive(password, az, a) && pt_mul_base(&c, &pa, a) && pt_encode(&pa, enc_a);
  if (ok && pk != NULL) {
    memcpy(pk, enc_a, 32);
  }
  if (ok && sig != NULL) {
    /* nonce = SHA512(az[32..64] || msg) mod L;  R = nonce * B */
    ok = sha512(az + 32, 32, msg, msg_len, NULL, 0, h) && BN_lebin2bn(h, 64, nonce) != NULL &&
         BN_nnmod(nonce, nonce, c.l, c.bn) && pt_mul_base(&c, &pr, nonce) &&
         pt_encode(&pr, enc_r);
    /* k = SHA512(R || A || msg) mod L;  S = (k * a + nonce) mod L */
    ok = ok && sha512(enc_r, 32, enc_a, 32, msg, msg_len, h) && BN_lebin2bn(h, 64, k) != NULL &&
         BN_nnmod(k, k, c.l, c.bn) && BN_mod_mul(s, k, a, c.l, c.bn) &&
         BN_mod_add(s, s, nonce, c.l, c.bn) && BN_bn2lebinpad(s, sig + 32, 32) == 32;
    if (ok) {
      memcpy(sig, enc_r, 32);
    }
  }
  auth__wipe(az, sizeof(az));
  auth__wipe(h, sizeof(h));
  BN_clear_free(a);
  BN_clear_free(nonce);
  BN_clear_free(k);
  BN_clear_free(s);
  pt_free(&pa);
  pt_free(&pr);
  curve_free(&c);
  return ok ? 0 : DB_ENOMEM;
}

int auth_my_ed25519_sign(const char *password, const uint8_t *msg, size_t msg_len,
                         uint8_t sig[AUTH_MY_ED25519_SIG_LEN]) {
  return sign_or_public(password, msg, msg_len, sig, NULL);
}

int auth_my_ed25519_public(const char *password, uint8_t pk[32]) {
  return sign_or_public(password, NULL, 0, NULL, pk);
}
