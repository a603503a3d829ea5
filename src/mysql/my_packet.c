/* MySQL packet framing: 3-byte little-endian payload length + sequence id.
 *
 * A payload of exactly 0xFFFFFF bytes continues in the next packet (whose sequence id is the
 * next one), in both directions; a logical payload that is an exact multiple of 0xFFFFFF ends
 * with an empty packet. The peek walks headers only, so limits and sequence ids are checked
 * before the body is buffered, and never allocates.
 */
#include <string.h>

#include "../base/base_err.h"
#include "my_int.h"

ssize_t my_packet_peek(const uint8_t *p, size_t n, int seq, size_t max, size_t *payload_len,
                       uint32_t *npackets) {
  size_t off = 0;
  size_t total = 0;
  uint32_t count = 0;
  uint8_t want = (uint8_t)(seq < 0 ? 0 : seq);
  for (;;) {
    if (n - off < 4) {
      return 0;
    }
    uint32_t len = my_rd24(p + off);
    uint8_t id = p[off + 3];
    if (count == 0 && seq < 0) {
      want = id;
    }
    if (id != want) {
      return DB_EPROTO;
    }
    /* Sequence ids count modulo 256 (a result of more than 255 packets wraps): spelled out, as
     * `want++` is an implicit int -> uint8_t truncation (fuzz/crashes/my_engine-seq-wrap.bin). */
    want = (uint8_t)((want + 1u) & 0xffu);
    total += len;
    if (total > max) {
      return DB_ETOOBIG;
    }
    count++;
    if (n - off - 4 < len) {
      return 0;
    }
    off += 4 + (size_t)len;
    if (len < MY_PACKET_MAX) {
      break;
    }
  }
  *payload_len = total;
  *npackets = count;
  return (ssize_t)off;
}

int my_packet_gather(const uint8_t *p, uint32_t npackets, buf_t *out) {
  buf_clear(out);
  size_t off = 0;
  for (uint32_t i = 0; i < npackets; i++) {
    uint32_t len = my_rd24(p + off);
    int rc = buf_append(out, p + off + 4, len);
    if (rc < 0) {
      return rc;
    }
    off += 4 + (size_t)len;
  }
  return 0;
}

int my_packet_write(buf_t *out, uint8_t *seq, const uint8_t *payload, size_t n) {
  size_t off = 0;
  for (;;) {
    size_t len = n - off < MY_PACKET_MAX ? n - off : MY_PACKET_MAX;
    uint8_t hdr[4];
    my_wr24(hdr, (uint32_t)len);
    hdr[3] = *seq;
    *seq = (uint8_t)((*seq + 1u) & 0xffu); /* modulo 256, as in my_packet_peek */
    int rc = buf_append(out, hdr, 4);
    if (rc == 0 && len > 0) {
      rc = buf_append(out, payload + off, len);
    }
    if (rc < 0) {
      return rc;
    }
    off += len;
    if (len < MY_PACKET_MAX) {
      return 0;
    }
  }
}
