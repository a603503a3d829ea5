/* Flat JSON objects: a scanner for the json/jsonb documents that JS can build with one object
 * literal per key list instead of JSON.parse (ROWS.md, strategy "g4").
 *
 * A document is flat when it is one JSON object (JSON's whitespace allowed around tokens) of
 * at most JSONFLAT_MAX_KEYS keys, each key printable ASCII without escapes, and every value is
 * a string without escapes or control characters, a number, true, false or null. Anything
 * else (nesting, escapes, arrays, scalars, invalid JSON) is left to JSON.parse: the scanner
 * never has to agree with JSON.parse on anything but these simple cases.
 *
 * The same object literal gives what JSON.parse gives for these: keys in the same order (both
 * put integer-like keys first), a duplicate key's last value at its first position, and
 * `__proto__` as an own property (JS emits it as a computed key). Numbers are only checked
 * here; rowbatch_parse_number reads them (for a JSON number, as JSON.parse does). Sans-I/O,
 * no allocation.
 */
#ifndef UVSQL_BASE_JSONFLAT_H
#define UVSQL_BASE_JSONFLAT_H

#include <stddef.h>
#include <stdint.h>

#define JSONFLAT_MAX_KEYS 32
/* Room for the key list as text: "k1","k2",... (quotes and commas included). */
#define JSONFLAT_MAX_KEYTEXT 512

typedef enum {
  JSONFLAT_NULL,
  JSONFLAT_NUMBER, /* p/n: the number's text */
  JSONFLAT_STRING, /* p/n: the bytes between the quotes, as in the document */
  JSONFLAT_TRUE,
  JSONFLAT_FALSE,
} jsonflat_kind_t;

typedef struct {
  uint8_t kind;
  const uint8_t *p;
  size_t n;
} jsonflat_value_t;

typedef struct {
  uint16_t count;
  size_t keys_len;
  uint8_t keys[JSONFLAT_MAX_KEYTEXT]; /* "k1","k2",... : a JSON array's body */
  jsonflat_value_t vals[JSONFLAT_MAX_KEYS];
} jsonflat_t;

/* 0 when p[0..n) is a flat object (its key list and values in *out), -1 otherwise. */
int jsonflat_scan(const uint8_t *p, size_t n, jsonflat_t *out);

/* 1 when p[0..n) is exactly a JSON number, else 0. */
int jsonflat_is_number(const uint8_t *p, size_t n);

#endif
