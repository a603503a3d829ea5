/* Checkers shared by the fuzz targets (declared and documented in fuzz_util.h). Built without
 * coverage instrumentation (see scripts/fuzz.js), still with ASan and UBSan. */
#include "fuzz_util.h"

long fuzz_utf8_utf16_len(const uint8_t *p, size_t n) {
  long units = 0;
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      units++;
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return -1;
    }
    if (n - i < len) {
      return -1;
    }
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80) {
        return -1;
      }
      cp = cp << 6 | (p[i + k] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
      return -1;
    }
    units += len == 4 ? 2 : 1;
    i += len;
  }
  return units;
}

void fuzz_check_batch(const uint8_t *b, size_t size, uint16_t ncols_expected) {
  FUZZ_CHECK(size >= 24, "batch of %zu bytes", size);
  uint32_t nrows = fuzz_rd_u32le(b);
  uint32_t ncols = fuzz_rd_u32le(b + 4);
  uint32_t text_bytes = fuzz_rd_u32le(b + 8);
  uint32_t flags = fuzz_rd_u32le(b + 12);
  uint32_t json_bytes = fuzz_rd_u32le(b + 16);
  FUZZ_CHECK(ncols == ncols_expected, "ncols %u, expected %u", ncols, ncols_expected);
  size_t cells = (size_t)nrows * ncols;
  size_t want = 24 + fuzz_pad8(ncols) + cells * 8 + fuzz_pad8(cells) + text_bytes + json_bytes;
  FUZZ_CHECK(want == size, "batch size %zu, layout says %zu", size, want);
  const uint8_t *kinds = b + 24;
  for (uint32_t c = 0; c < ncols; c++) {
    FUZZ_CHECK(kinds[c] < 5, "kind %u", kinds[c]);
  }
  const uint8_t *vals = kinds + fuzz_pad8(ncols);
  const uint8_t *tags = vals + cells * 8;
  const uint8_t *text = tags + fuzz_pad8(cells);
  long utf16 = fuzz_utf8_utf16_len(text, text_bytes);
  FUZZ_CHECK(utf16 >= 0, "text area is not valid UTF-8");
  int ascii = 1;
  for (uint32_t i = 0; i < text_bytes; i++) {
    ascii &= text[i] < 0x80;
  }
  FUZZ_CHECK(!(flags & 1) || ascii, "ASCII flag set on non-ASCII text");
  const uint8_t *json = text + text_bytes;
  long json_utf16 = fuzz_utf8_utf16_len(json, json_bytes);
  FUZZ_CHECK(json_utf16 >= 0, "json area is not valid UTF-8");
  FUZZ_CHECK(json_bytes == 0 || (json[0] == '[' && json[json_bytes - 1] == ']'),
             "json area is not one array");
  int json_ascii = 1;
  for (uint32_t i = 0; i < json_bytes; i++) {
    json_ascii &= json[i] < 0x80;
  }
  FUZZ_CHECK(!(flags & 2) || json_ascii, "ASCII flag set on non-ASCII json");
  double last_end = 0;
  double last_json_end = 0;
  for (size_t i = 0; i < cells; i++) {
    double v;
    memcpy(&v, vals + i * 8, 8);
    FUZZ_CHECK(tags[i] <= 3, "tag %u", tags[i]);
    uint8_t kind = kinds[i % ncols];
    if (tags[i] == 3) {
      FUZZ_CHECK(kind == 4, "a JSON document in a column of kind %u", kind);
      FUZZ_CHECK(v > last_json_end && v < (double)json_utf16, "json end %.17g after %.17g (of %ld)",
                 v, last_json_end, json_utf16);
      last_json_end = v;
    } else if (tags[i] == 2) {
      FUZZ_CHECK(v >= last_end && v <= (double)utf16, "text end %.17g after %.17g (of %ld)", v,
                 last_end, utf16);
      last_end = v;
    } else if (tags[i] == 1) {
      FUZZ_CHECK(kind != 0, "a decoded value in a text column");
      if (kind == 2) {
        FUZZ_CHECK(v == 0 || v == 1, "bool %.17g", v);
      } else if (kind == 3) {
        FUZZ_CHECK(isfinite(v), "time %.17g", v);
      }
    } else {
      FUZZ_CHECK(v == 0, "NULL cell with value %.17g", v);
    }
  }
  FUZZ_CHECK(last_end == (double)utf16, "last text end %.17g, text has %ld UTF-16 units",
             last_end, utf16);
  FUZZ_CHECK(json_bytes == 0 || last_json_end + 1 == (double)json_utf16,
             "last json end %.17g, json has %ld UTF-16 units", last_json_end, json_utf16);
}

