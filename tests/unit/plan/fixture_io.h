/* Test helpers: read a fixture file named relative to $VP_FIXTURES. */
#ifndef VP_PLAN_TEST_FIXTURE_IO_H
#define VP_PLAN_TEST_FIXTURE_IO_H

#include <stddef.h>

/* Reads `path` whole; returns malloc'd bytes (NUL-terminated, caller frees) or NULL. */
char *fx_read_file(const char *path, size_t *len);
/* $VP_FIXTURES/<rel> read whole, or NULL (the test then fails with a message). */
char *fx_read_fixture(const char *rel, size_t *len);
/* Absolute path of $VP_FIXTURES/<rel> into buf. */
const char *fx_path(char *buf, size_t n, const char *rel);

#endif
