/* Tiny TAP-style check macros shared by the C unit tests (test/c/NAME_test.c): each check prints
 * "ok N - name" or "not ok N - name" with where it failed; main() ends with
 * `return check_summary();`. Header-only: every test program includes it once. */
#ifndef UVSQL_TEST_CHECK_H
#define UVSQL_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "../../src/base/base_err.h"

static int t_count;
static int t_failed;

static void t_report(int ok, const char *name, const char *file, int line) {
  t_count++;
  printf("%sok %d - %s\n", ok ? "" : "not ", t_count, name);
  if (!ok) {
    printf("#   failed at %s:%d\n", file, line);
    t_failed++;
  }
}

#define CHECK(cond, name) t_report((cond) ? 1 : 0, (name), __FILE__, __LINE__)

#define CHECK_EQ_INT(got, want, name)                                                       \
  do {                                                                                      \
    long long got_ = (long long)(got);                                                      \
    long long want_ = (long long)(want);                                                    \
    t_report(got_ == want_, (name), __FILE__, __LINE__);                                    \
    if (got_ != want_) {                                                                    \
      printf("#   got %lld (%s), want %lld (%s)\n", got_, base_err_name((int)got_), want_, \
             base_err_name((int)want_));                                                    \
    }                                                                                       \
  } while (0)

/* Prints the plan and a summary line; the program's exit status. */
static int check_summary(void) {
  printf("1..%d\n", t_count);
  if (t_failed) {
    printf("# %d of %d checks failed\n", t_failed, t_count);
    return 1;
  }
  printf("# all %d checks passed\n", t_count);
  return 0;
}

#endif
