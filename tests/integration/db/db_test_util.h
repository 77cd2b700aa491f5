/* Helpers for db/'s integration tests: a temp dir per test with real SQLite
 * files, a fixed test key, and plain-SQL access to a database file (the way
 * someone tampering with a copy would do it). */
#ifndef VP_DB_TEST_UTIL_H
#define VP_DB_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

extern const unsigned char dbt_key[32];

/* Creates a fresh directory under $TMPDIR (or /tmp); returns its path
 * (static buffer per call site: copy it) or NULL. */
char *dbt_tmpdir(void);

/* Removes a directory tree. */
void dbt_rmtree(const char *dir);

/* dir + "/" + name into a malloc'd string. */
char *dbt_path(const char *dir, const char *name);

/* Opens dir/name with the test key and the given mode; fails the test on error. */
db *dbt_open(const char *path, enum db_commit_mode mode);

/* Copies file src to dst (0 or -1). */
int dbt_copy(const char *src, const char *dst);

/* Runs SQL on a file with a fresh connection (no db open on it). 0 or -1. */
int dbt_exec(const char *path, const char *sql);

/* The integer result of a one-row, one-column query on the calling thread's
 * reader of d; -1 on error. */
int64_t dbt_count(db *d, const char *sql);

/* The same with a text parameter ?1. */
int64_t dbt_count_s(db *d, const char *sql, const char *arg);

#endif
