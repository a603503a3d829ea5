#include "base_mem.h"

#include <stdlib.h>
#include <string.h>

char *base_strdup(const char *s) {
  if (s == NULL) {
    return NULL;
  }
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) {
    memcpy(d, s, n);
  }
  return d;
}

void base_wipe_free(char *s) {
  if (s == NULL) {
    return;
  }
  volatile char *v = s;
  while (*v != '\0') {
    *v++ = 0;
  }
  free(s);
}
