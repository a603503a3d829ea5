/* Small memory helpers shared by every layer. */
#ifndef UVSQL_BASE_MEM_H
#define UVSQL_BASE_MEM_H

#include <stddef.h>

/* Copies a NUL-terminated string; NULL for NULL (or on ENOMEM, which callers check). */
char *base_strdup(const char *s);

/* Overwrites a NUL-terminated secret (a password) with zeros so the compiler cannot drop the
 * stores, then frees it. Accepts NULL. */
void base_wipe_free(char *s);

#endif
