/* Flat JSON objects (see base_jsonflat.h). */
#include "base_jsonflat.h"

#include <string.h>

static int is_ws(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const uint8_t *p, size_t n, size_t i) {
  while (i < n && is_ws(p[i])) {
    i++;
  }
  return i;
}

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

int jsonflat_is_number(const uint8_t *p, size_t n) {
  size_t i = 0;
  if (i < n && p[i] == '-') {
    i++;
  }
  /* Integer part: 0, or a digit 1-9 and more digits. */
  if (i >= n || !is_digit(p[i]) || (p[i] == '0' && i + 1 < n && is_digit(p[i + 1]))) {
    return 0;
  }
  while (i < n && is_digit(p[i])) {
    i++;
  }
  if (i < n && p[i] == '.') {
    i++;
    if (i >= n || !is_digit(p[i])) {
      return 0;
    }
    while (i < n && is_digit(p[i])) {
      i++;
    }
  }
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-')) {
      i++;
    }
    if (i >= n || !is_digit(p[i])) {
      return 0;
    }
    while (i < n && is_digit(p[i])) {
      i++;
    }
  }
  return i == n;
}

/* A string token at p[i] == '"': its end (the closing quote) in *end, or -1 for an escape, a
 * control character or no closing quote. `key`: printable ASCII only. */
static int scan_string(const uint8_t *p, size_t n, size_t i, int key, size_t *end) {
  for (i++; i < n; i++) {
    uint8_t c = p[i];
    if (c == '"') {
      *end = i;
      return 0;
    }
    if (c == '\\' || c < 0x20 || (key && c > 0x7e)) {
      return -1;
    }
  }
  return -1;
}

static int keys_append(jsonflat_t *out, const uint8_t *p, size_t n) {
  if (out->keys_len + n > sizeof(out->keys)) {
    return -1;
  }
  memcpy(out->keys + out->keys_len, p, n);
  out->keys_len += n;
  return 0;
}

/* One value at p[i]: into *v, with *next just after it; -1 for anything not flat. */
static int scan_value(const uint8_t *p, size_t n, size_t i, jsonflat_value_t *v, size_t *next) {
  uint8_t c = p[i];
  if (c == '"') {
    size_t end;
    if (scan_string(p, n, i, 0, &end) < 0) {
      return -1;
    }
    v->kind = JSONFLAT_STRING;
    v->p = p + i + 1;
    v->n = end - i - 1;
    *next = end + 1;
    return 0;
  }
  if (c == 't' && n - i >= 4 && memcmp(p + i, "true", 4) == 0) {
    v->kind = JSONFLAT_TRUE;
    *next = i + 4;
    return 0;
  }
  if (c == 'f' && n - i >= 5 && memcmp(p + i, "false", 5) == 0) {
    v->kind = JSONFLAT_FALSE;
    *next = i + 5;
    return 0;
  }
  if (c == 'n' && n - i >= 4 && memcmp(p + i, "null", 4) == 0) {
    v->kind = JSONFLAT_NULL;
    *next = i + 4;
    return 0;
  }
  if (c == '-' || is_digit(c)) {
    size_t e = i + 1;
    while (e < n && (is_digit(p[e]) || p[e] == '.' || p[e] == 'e' || p[e] == 'E' ||
                     p[e] == '+' || p[e] == '-')) {
      e++;
    }
    if (!jsonflat_is_number(p + i, e - i)) {
      return -1;
    }
    v->kind = JSONFLAT_NUMBER;
    v->p = p + i;
    v->n = e - i;
    *next = e;
    return 0;
  }
  return -1; /* an object, an array, or not JSON */
}

int jsonflat_scan(const uint8_t *p, size_t n, jsonflat_t *out) {
  out->count = 0;
  out->keys_len = 0;
  size_t i = skip_ws(p, n, 0);
  if (i >= n || p[i] != '{') {
    return -1;
  }
  i = skip_ws(p, n, i + 1);
  if (i < n && p[i] == '}') {
    i++;
  } else {
    for (;;) {
      size_t end;
      if (i >= n || p[i] != '"' || scan_string(p, n, i, 1, &end) < 0 ||
          out->count == JSONFLAT_MAX_KEYS ||
          (out->count > 0 && keys_append(out, (const uint8_t *)",", 1) < 0) ||
          keys_append(out, p + i, end + 1 - i) < 0) {
        return -1;
      }
      i = skip_ws(p, n, end + 1);
      if (i >= n || p[i] != ':') {
        return -1;
      }
      i = skip_ws(p, n, i + 1);
      if (i >= n || scan_value(p, n, i, &out->vals[out->count], &i) < 0) {
        return -1;
      }
      out->count++;
      i = skip_ws(p, n, i);
      if (i < n && p[i] == ',') {
        i = skip_ws(p, n, i + 1);
        continue;
      }
      if (i < n && p[i] == '}') {
        i++;
        break;
      }
      return -1;
    }
  }
  return skip_ws(p, n, i) == n ? 0 : -1;
}
