#include "base_err.h"

#include <errno.h>
#include <string.h>

/* getaddrinfo failures as libuv numbers them (UV_EAI_*), so we can name them without libuv. */
#define EAI_BASE_ (-3000)

typedef struct {
  int code;
  const char *name;
  const char *message;
} err_entry_t;

static const err_entry_t err_table[] = {
  {DB_EPROTO, "DB_EPROTO", "protocol violation by the server"},
  {DB_ESYNC, "DB_ESYNC", "lost message framing with the server"},
  {DB_EAUTH, "DB_EAUTH", "authentication failed"},
  {DB_EAUTHMETHOD, "DB_EAUTHMETHOD", "unsupported authentication method"},
  {DB_ESERVER, "DB_ESERVER", "server error"},
  {DB_ESTATE, "DB_ESTATE", "invalid connection state"},
  {DB_ECLOSED, "DB_ECLOSED", "connection closed"},
  {DB_ECANCELED, "DB_ECANCELED", "operation cancelled"},
  {DB_ENOMEM, "DB_ENOMEM", "out of memory"},
  {DB_ETOOBIG, "DB_ETOOBIG", "message exceeds the size limit"},
  {DB_ETIMEDOUT, "DB_ETIMEDOUT", "timed out"},
  {DB_EARG, "DB_EARG", "invalid argument"},
  {DB_ENOPASSWORD, "DB_ENOPASSWORD", "the server requested a password but none was given"},
  {DB_ETLS, "DB_ETLS", "TLS failure"},
  {DB_ETLSVERIFY, "DB_ETLSVERIFY", "server certificate verification failed"},
  {DB_ETLSUNAVAILABLE, "DB_ETLSUNAVAILABLE", "the server does not support TLS"},
  {DB_EIDLE, "DB_EIDLE", "connection closed after being idle for idleTimeout"},
  {DB_ELIFETIME, "DB_ELIFETIME", "connection retired after maxLifetime"},
  {-ECONNREFUSED, "ECONNREFUSED", "connection refused"},
  {-ECONNRESET, "ECONNRESET", "connection reset by peer"},
  {-ECONNABORTED, "ECONNABORTED", "connection aborted"},
  {-ETIMEDOUT, "ETIMEDOUT", "connection timed out"},
  {-EPIPE, "EPIPE", "broken pipe"},
  {-ENOENT, "ENOENT", "no such file or directory"},
  {-EACCES, "EACCES", "permission denied"},
  {-EHOSTUNREACH, "EHOSTUNREACH", "host is unreachable"},
  {-ENETUNREACH, "ENETUNREACH", "network is unreachable"},
  {-EADDRNOTAVAIL, "EADDRNOTAVAIL", "address not available"},
  {-ENOTCONN, "ENOTCONN", "socket is not connected"},
  {-ECANCELED, "ECANCELED", "operation cancelled"},
  {-ENOMEM, "ENOMEM", "out of memory"},
  {-EINVAL, "EINVAL", "invalid argument"},
  {-EMFILE, "EMFILE", "too many open files"},
  {-4095, "EOF", "end of file"},
  {EAI_BASE_ - 8, "ENOTFOUND", "host name not found"},   /* UV_EAI_NONAME */
  {EAI_BASE_ - 1, "EAI_AGAIN", "temporary DNS failure"}, /* UV_EAI_AGAIN */
  {EAI_BASE_ - 4, "EAI_FAIL", "permanent DNS failure"},  /* UV_EAI_FAIL */
  {EAI_BASE_ - 7, "EAI_NODATA", "no address for host"},  /* UV_EAI_NODATA */
  {EAI_BASE_ - 3, "EAI_CANCELED", "DNS lookup cancelled"}, /* UV_EAI_CANCELED */
};

static const err_entry_t *err_find(int code) {
  for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
    if (err_table[i].code == code) {
      return &err_table[i];
    }
  }
  return NULL;
}

const char *base_err_name(int code) {
  const err_entry_t *e = err_find(code);
  return e ? e->name : "EUNKNOWN";
}

const char *base_err_message(int code) {
  const err_entry_t *e = err_find(code);
  if (e) {
    return e->message;
  }
  return "unknown error";
}
